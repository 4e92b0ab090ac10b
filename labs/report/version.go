package report

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Version is netlab's version as the build recorded it: the module version
// ("v1.2.0", or "(devel)" for a build from a checkout), then the VCS
// revision when the build has one ("(devel) 29a8cc2f1b3c", "+dirty" when
// the tree had changes). It is what 'netlab --version' prints and what
// every JSON document carries as netlab_version.
func Version() string { return version() }

var version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return versionOf(bi)
})

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if strings.Contains(v, rev) {
		// Go 1.24+ builds a pseudo-version from the revision already
		// (v0.0.0-20261202021646-92f685797b22+dirty).
		return v
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return v + " " + rev
}
