package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress draws a progress bar on stderr for a run that has taken longer than
// a second, and only when stderr is a terminal (never into a file or a pipe).
type progress struct {
	w       io.Writer
	label   string
	start   time.Time
	last    time.Time
	drawn   bool
	enabled bool
}

// isTerminal reports whether w is a terminal a person reads or answers on
// (not a file, a pipe or /dev/null).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(stderr io.Writer, label string) *progress {
	return &progress{w: stderr, label: label, start: time.Now(), enabled: isTerminal(stderr)}
}

// update redraws the bar, at most ten times a second, once a second has passed.
func (p *progress) update(done, total int) {
	if !p.enabled || total <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < time.Second || (now.Sub(p.last) < 100*time.Millisecond && done < total) {
		return
	}
	p.last = now
	const width = 30
	n := width * done / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s ", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total,
		now.Sub(p.start).Round(100*time.Millisecond))
	p.drawn = true
}

// finish clears the bar's line.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 79))
	}
}
