package server

import (
	"fmt"
	"runtime/debug"
)

// BuildInfo says which build of statecast is running, as the Go toolchain
// recorded it in the binary.
type BuildInfo struct {
	// Version is the main module's version: a release tag such as v1.2.0
	// for `go install ...@v1.2.0`, a pseudo-version for a build from a
	// module proxy or a clean VCS tree, or "(devel)" when unknown.
	Version string
	// Commit is the VCS revision the binary was built from, and Time its
	// commit time (RFC 3339); both empty when the build had no VCS
	// information (go run, go test, -buildvcs=false).
	Commit, Time string
	// Modified is true when the working tree had uncommitted changes.
	Modified bool
	// Go is the toolchain's version, such as go1.26.1.
	Go string
}

// Version returns the running binary's build information.
func Version() BuildInfo {
	b := BuildInfo{Version: "(devel)"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Go = info.GoVersion
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is one line for people: the version, then the commit and its
// time when known ("+dirty" when the tree was modified), then the Go
// version.
func (b BuildInfo) String() string {
	s := "statecast " + b.Version
	if b.Commit != "" {
		s += " commit " + b.Commit
		if b.Modified {
			s += "+dirty"
		}
		if b.Time != "" {
			s += " (" + b.Time + ")"
		}
	}
	if b.Go != "" {
		s += fmt.Sprintf(" built with %s", b.Go)
	}
	return s
}
