package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/file"
)

// damagedLog returns a data directory whose log holds 5 actions, the
// fourth of them damaged.
func damagedLog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	l, err := file.Open(dir, file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		a := &actions.Action{ID: string(rune('a' + i)), Type: actions.TypeWriteMessage, Room: "r", User: "u",
			Payload: actions.WriteMessage{Message: "hello"}}
		if err := l.Append(context.Background(), []*actions.Action{a}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	seg := filepath.Join(dir, "log", "00000000000000000001.seg")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-len(b[24:])/5*2+10] ^= 0xff // in the fourth of five records of equal size
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRepairFlags: statecast repair asks before it cuts, unless -yes, and
// reports the seqs lost; a wrong flag or no -data is refused.
func TestRepairFlags(t *testing.T) {
	dir := damagedLog(t)
	var out bytes.Buffer
	stdout, stdin = &out, strings.NewReader("n\n")
	defer func() { stdout, stdin = os.Stdout, os.Stdin }()
	if err := Run(context.Background(), []string{"repair", "-data", dir}, nil); err == nil || !strings.Contains(out.String(), "[y/N]") {
		t.Fatalf("repair answered n: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := Run(context.Background(), []string{"repair", "-data", dir, "-yes"}, nil); err != nil {
		t.Fatalf("repair -yes: %v\n%s", err, out.String())
	}
	for _, want := range []string{"where seq 4 should be", "the actions from seq 4 on are lost", "repaired: the log ends at seq 3; lost seqs 4 to 5", "repair-"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("repair -yes printed no %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := Run(context.Background(), []string{"repair", "-data", dir}, nil); err != nil || !strings.Contains(out.String(), "intact") {
		t.Fatalf("repair of a repaired log: %v\n%s", err, out.String())
	}
	if err := Run(context.Background(), []string{"repair"}, nil); err == nil || !strings.Contains(err.Error(), "-data") {
		t.Fatalf("repair without -data: %v", err)
	}
	if err := Run(context.Background(), []string{"repair", "-h"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("repair -h: %v, want flag.ErrHelp", err)
	}
}
