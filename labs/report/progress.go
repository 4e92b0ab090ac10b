package report

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// A Progress shows how far a lab has got on one line of a terminal, redrawn
// in place: the step, the count and the time left ("echo over poll:
// 120/300, 18 s left"). It is drawn by mpb and removed when the lab ends,
// so the results print on a clean screen.
//
// A nil *Progress shows nothing: labs call its methods unconditionally and
// commands create one only when stderr is a terminal (NewProgress). Safe
// for concurrent use.
type Progress struct {
	mu      sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	stopped bool
	// status is what Status last said; the line's decorator reads it from
	// mpb's goroutines, so it is not under mu (that could deadlock).
	status atomic.Pointer[string]

	refresh chan any      // redraw requests to mpb
	done    chan struct{} // closed by Stop: tick ends
	ticked  chan struct{} // closed when tick has ended
}

// progressRefresh is how often the line is redrawn.
const progressRefresh = 200 * time.Millisecond

// NewProgress returns a Progress drawing on w, or nil (show nothing) when w
// is not a terminal.
func NewProgress(w io.Writer) *Progress {
	if !IsTerminal(w) {
		return nil
	}
	if f, ok := w.(fder); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err != nil || cols <= 0 {
			// A terminal that reports no size (a pty nobody sized): draw
			// 80 columns wide rather than nothing.
			return newProgress(struct{ io.Writer }{w}, true)
		}
	}
	return newProgress(w, false)
}

// NewProgressForced returns a Progress drawing on w whether or not it is a
// terminal (the cursor movements included), 80 columns wide when w is not
// one: for tests, and for a caller that knows better than the file mode.
func NewProgressForced(w io.Writer) *Progress { return newProgress(w, true) }

func newProgress(w io.Writer, force bool) *Progress {
	// The line is redrawn on a timer and at once when a step starts, so
	// even a short step is seen.
	refresh := make(chan any, 1)
	opts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithManualRefresh(refresh)}
	if force {
		opts = append(opts, mpb.ForceTTY(), mpb.WithWidth(DefaultWidth))
	}
	p := &Progress{p: mpb.New(opts...), refresh: refresh, done: make(chan struct{}), ticked: make(chan struct{})}
	go p.tick()
	return p
}

// tick asks for a redraw every progressRefresh until Stop.
func (p *Progress) tick() {
	defer close(p.ticked)
	t := time.NewTicker(progressRefresh)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.redraw()
		case <-p.done:
			return
		}
	}
}

// redraw asks for a redraw unless one is already asked for.
func (p *Progress) redraw() {
	select {
	case p.refresh <- time.Now():
	default:
	}
}

// Step starts a new step of total units (messages, events; 0 when the
// total is not known), replacing the line of the step before.
func (p *Progress) Step(label string, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if p.bar != nil {
		p.bar.Abort(true)
	}
	p.status.Store(nil)
	start := time.Now()
	p.bar = p.p.New(int64(total), mpb.NopStyle(), mpb.PrependDecorators(
		decor.Any(func(s decor.Statistics) string {
			if st := p.currentStatus(); st != "" {
				return st
			}
			return progressLine(label, s.Current, int64(total), time.Since(start))
		})))
	p.redraw()
}

// Status shows text alone on the line (a live status rather than a
// count), replacing what the line said.
func (p *Progress) Status(text string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	noBar := p.bar == nil
	p.mu.Unlock()
	if noBar {
		p.Step("", 0)
	}
	p.status.Store(&text)
	p.redraw()
}

func (p *Progress) currentStatus() string {
	if s := p.status.Load(); s != nil {
		return *s
	}
	return ""
}

// progressLine is the text of the line: "echo over poll: 120/300, 18 s
// left". Time left is the time so far scaled to what remains, shown once
// there is something to scale.
func progressLine(label string, done, total int64, elapsed time.Duration) string {
	if total <= 0 {
		if done == 0 {
			return label + "…"
		}
		return fmt.Sprintf("%s: %d…", label, done)
	}
	s := fmt.Sprintf("%s: %d/%d", label, done, total)
	if done > 0 && done < total && elapsed >= time.Second {
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		s += ", " + timeLeft(left)
	}
	return s
}

// timeLeft says how long is left in whole seconds or minutes.
func timeLeft(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under 1 s left"
	case d < 100*time.Second:
		return fmt.Sprintf("%d s left", int(d.Round(time.Second)/time.Second))
	default:
		return fmt.Sprintf("%d min left", int(d.Round(time.Minute)/time.Minute))
	}
}

// Add counts n more units done in the current step.
func (p *Progress) Add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && !p.stopped {
		p.bar.IncrBy(n)
	}
}

// Set sets the units done in the current step.
func (p *Progress) Set(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && !p.stopped {
		p.bar.SetCurrent(int64(n))
	}
}

// Stop removes the line and stops drawing; later calls do nothing. Call it
// before printing results.
func (p *Progress) Stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	if p.bar != nil {
		p.bar.Abort(true)
	}
	p.mu.Unlock()
	close(p.done)
	<-p.ticked
	p.p.Wait()
}
