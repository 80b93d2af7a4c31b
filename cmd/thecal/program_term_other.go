//go:build !linux

package main

import "os"

// programTerminal reports whether f is a character device, the best guess at
// a terminal without the platform's ioctl.
func programTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && f.Name() != os.DevNull
}
