//go:build !unix

package accept

// fileLimit returns 0: no RLIMIT_NOFILE here.
func fileLimit() int { return 0 }
