//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package audit

// lockDir is a no-op where flock is unavailable: the caller must make sure
// only one Log uses a directory.
func lockDir(path string) (unlock func(), err error) { return func() {}, nil }
