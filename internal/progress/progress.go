// Package progress draws a one-line progress bar on a terminal and stays silent otherwise, so
// long commands are informative interactively and quiet when piped or run by CI.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar reports progress towards a known total, or counts when the total is unknown (0).
type Bar struct {
	w      io.Writer // nil when not a terminal
	label  string
	total  int
	done   int
	start  time.Time
	last   time.Time
	suffix func() string
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// New starts a bar on stderr when stderr is a terminal.
func New(label string, total int) *Bar {
	b := &Bar{label: label, total: total, start: time.Now()}
	if IsTerminal(os.Stderr) {
		b.w = os.Stderr
	}
	return b
}

// Suffix sets a function whose text follows the bar (e.g. a running accuracy).
func (b *Bar) Suffix(f func() string) { b.suffix = f }

// Add advances the bar by n and redraws it at most ten times a second.
func (b *Bar) Add(n int) {
	b.done += n
	if b.w == nil {
		return
	}
	// A known total is drawn once it is reached; an unknown one (0) only at the redraw rate,
	// as Add may be called in a timed loop (cnngen bench).
	if now := time.Now(); now.Sub(b.last) > 100*time.Millisecond || b.total > 0 && b.done >= b.total {
		b.last = now
		b.draw()
	}
}

func (b *Bar) draw() {
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.done) / el
	}
	if b.total <= 0 { // no bar: a count and a rate
		fmt.Fprintf(b.w, "\r%s %d %.0f/s\033[K", b.label, b.done, rate)
		return
	}
	const width = 30
	fill := int(float64(b.done) / float64(b.total) * width)
	if fill > width {
		fill = width
	}
	s := fmt.Sprintf("\r%s [%s%s] %d/%d %.0f/s", b.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), b.done, b.total, rate)
	if b.suffix != nil {
		s += " " + b.suffix()
	}
	fmt.Fprint(b.w, s+"\033[K")
}

// Done ends the bar's line.
func (b *Bar) Done() {
	if b.w != nil {
		b.draw()
		fmt.Fprintln(b.w)
	}
}
