package server_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEProgram checks that the program in README.md's section "Write
// your own middleware" is example_test.go as a program: the same code,
// whitespace aside, with package main and func main() in place of
// package server_test and func ExampleServer(). So the README cannot rot.
func TestREADMEProgram(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Write your own middleware\n")
	if !ok {
		t.Fatal(`README.md has no section "Write your own middleware"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	m := regexp.MustCompile("(?s)\n```go\n(.*?)\n```\n").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("the section has no go code block")
	}
	program := m[1]
	if !strings.HasPrefix(program, "package main\n") || !strings.Contains(program, "\nfunc main() {\n") {
		t.Fatalf("the README's code is not a complete program (package main, func main):\n%s", program)
	}
	program = strings.Replace(program, "package main\n", "package server_test\n", 1)
	program = strings.Replace(program, "\nfunc main() {\n", "\nfunc ExampleServer() {\n", 1)
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(normalize(string(example)), normalize(program)) {
		t.Errorf("README.md's program differs from server/example_test.go; copy the file into the README "+
			"(with package main and func main()).\nREADME:\n%s", program)
	}
}

// normalize turns every run of white space into one space.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }
