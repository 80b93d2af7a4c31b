package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// programTerminal reports whether f is a terminal a person can answer on
// (not /dev/null, a pipe or a file).
func programTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
