package report

import (
	"io"
	"os"
	"runtime"
	"time"
)

// An Envelope is the one JSON document every lab prints with --json: what
// ran, where, when and how it was set up, then what it measured. Every
// duration in it is in microseconds, in a field whose name ends in _us.
type Envelope struct {
	Lab           string    `json:"lab"`
	NetlabVersion string    `json:"netlab_version"`
	StartedAt     time.Time `json:"started_at"` // RFC 3339, with the local offset
	Host          Host      `json:"host"`
	Config        any       `json:"config"`
	Results       any       `json:"results"`
	// Interrupted reports whether Ctrl-C stopped the run early; the
	// results are what was measured until then.
	Interrupted bool `json:"interrupted"`
	// Errors are the failures the run met and went on after (a transport
	// that failed while the others ran); empty when none.
	Errors []string `json:"errors"`
}

// Host is the machine a lab ran on.
type Host struct {
	Name      string `json:"name"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
}

// NewEnvelope starts the document of a lab that started at started.
func NewEnvelope(lab string, started time.Time) *Envelope {
	name, _ := os.Hostname()
	return &Envelope{Lab: lab, NetlabVersion: Version(), StartedAt: started.Round(time.Millisecond),
		Host: Host{Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}}
}

// Write prints e as one indented JSON document.
func (e *Envelope) Write(w io.Writer) error {
	if e.Errors == nil {
		e.Errors = []string{}
	}
	if e.Config == nil {
		e.Config = struct{}{}
	}
	return JSON(w, e)
}

// Millis converts d to milliseconds, rounded to the microsecond.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
