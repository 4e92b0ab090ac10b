package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/labs/report/page"
)

// pictureFlags are --plot, --plot-png and --report, shared by every lab.
type pictureFlags struct {
	dir    string // --plot DIR: write the run's charts there
	png    bool   // --plot-png: PNG next to each SVG
	report string // --report FILE.html: one self-contained page
	lab    string
	cmd    string // the command line
	start  time.Time
	text   *bytes.Buffer // what the lab printed, for the page
	// tables, when set, is the page's text instead: a lab that printed
	// its --json document prints its tables there (pageText).
	tables *bytes.Buffer
}

// addPictureFlags adds the picture flags to cmd and, when --report is set,
// keeps a copy of what the command prints for the page. Call it after RunE
// is set.
func addPictureFlags(cmd *cobra.Command, a *app) *pictureFlags {
	p := &pictureFlags{lab: cmd.Name()}
	f := cmd.Flags()
	f.StringVar(&p.dir, "plot", "", "write this run's charts (SVG) into `DIR`")
	f.BoolVar(&p.png, "plot-png", false, "with --plot: write a PNG next to each SVG")
	f.StringVar(&p.report, "report", "", "write one self-contained HTML page of this run (tables, sentences, charts) to `FILE.html`")
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if p.on() {
			p.start, p.cmd = time.Now(), commandLine(cmd, args)
		}
		if p.png && p.dir == "" {
			return usagef("--plot-png needs --plot DIR")
		}
		if p.report == "" {
			return run(cmd, args)
		}
		out := a.out
		p.text = new(bytes.Buffer)
		a.out = io.MultiWriter(out, p.text)
		defer func() { a.out = out }()
		return run(cmd, args)
	}
	return p
}

// pageText is, with --report, where a lab that printed its --json
// document prints its tables for the page: the page shows the tables,
// not the document. It is nil without --report.
func (p *pictureFlags) pageText() io.Writer {
	if p == nil || p.report == "" {
		return nil
	}
	p.tables = new(bytes.Buffer)
	return p.tables
}

// on reports whether any picture was asked for.
func (p *pictureFlags) on() bool { return p != nil && (p.dir != "" || p.report != "") }

// write draws the run's charts into --plot DIR and the --report page, once
// the run's tables are printed. It returns runErr when that is set (the
// lab's failure is the news), else the picture error: one line naming the
// directory or file and why.
func (p *pictureFlags) write(charts func() ([]chart.Chart, error), runErr error) error {
	if !p.on() {
		return runErr
	}
	err := p.draw(charts)
	if runErr != nil {
		if err != nil {
			return fmt.Errorf("%w (and %v)", runErr, err)
		}
		return runErr
	}
	return err
}

func (p *pictureFlags) draw(charts func() ([]chart.Chart, error)) error {
	cs, err := charts()
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	if p.dir != "" {
		formats := []string{"svg"}
		if p.png {
			formats = append(formats, "png")
		}
		if _, err := chart.Write(p.dir, cs, formats...); err != nil {
			return err
		}
	}
	if p.report != "" {
		text := p.text.String()
		if p.tables != nil {
			text = p.tables.String()
		}
		pg := page.Page{Lab: p.lab, Command: p.cmd, Version: report.Version(), Date: p.start,
			Host: hostName(p.start), Text: text, Charts: cs}
		if err := writePage(p.report, pg); err != nil {
			return err
		}
	}
	return nil
}

// writePage writes pg to file; the error names the file and why.
func writePage(file string, pg page.Page) error {
	var b bytes.Buffer
	if err := pg.Write(&b); err != nil {
		return err
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("--report %s: cannot write it: %w", file, err)
	}
	return nil
}

// commandLine is how cmd was called, as one line: its path and the flags
// set, as a shell would take them.
func commandLine(cmd *cobra.Command, args []string) string {
	words := []string{cmd.CommandPath()}
	quote := func(s string) string {
		if s == "" || strings.ContainsAny(s, " \t'\"$\\*?;&|<>()") {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		return s
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			if f.Value.String() == "true" {
				words = append(words, "--"+f.Name)
			} else {
				words = append(words, "--"+f.Name+"=false")
			}
			return
		}
		words = append(words, "--"+f.Name, quote(f.Value.String()))
	})
	for _, a := range args {
		words = append(words, quote(a))
	}
	return strings.Join(words, " ")
}

// hostName describes this machine as the JSON envelope does.
func hostName(start time.Time) string { return hostLine(report.NewEnvelope("", start).Host) }
