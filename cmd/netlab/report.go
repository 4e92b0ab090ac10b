package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/semver"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/compare"
	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/events"
	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/labs/report/page"
)

func init() { register(newReportCmd) }

func newReportCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report FILE.json",
		Short: "Turn a saved --json document into the page --report writes",
		Long: `report reads a document a lab printed with --json and writes the page
--report would have written: the tables, the charts, and what the document
says of where and when it ran. A run on a student's machine can be shown
later on the projector.

It reads the documents of every lab with --report: echo, compare, push,
loss, loss streams, missed, events, chat bench and cluster demo. A
document from another lab, or from a newer netlab release, gets one line
saying so. Times in a document are kept to 0.1 µs, so a figure under
10 µs may print a digit differently; a loss document has its
time–sequence graph only if the run had --ladder, --plot or --report (the
packets).`,
		Example: `  netlab echo --transports all --json > echo.json
  netlab report echo.json            # writes echo.html
  netlab report echo.json -o page.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := args[0]
			if out == "" {
				out = strings.TrimSuffix(in, ".json") + ".html"
			}
			pg, err := pageFromJSON(in)
			if err != nil {
				return err
			}
			if err := writePage(out, pg); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the page to write (default: FILE with .html for .json)")
	return cmd
}

// savedRun is the JSON envelope every lab prints with --json
// (report.Envelope), its config and results kept raw for the lab to read.
type savedRun struct {
	Lab           string          `json:"lab"`
	NetlabVersion string          `json:"netlab_version"`
	StartedAt     time.Time       `json:"started_at"`
	Host          report.Host     `json:"host"`
	Config        json.RawMessage `json:"config"`
	Results       json.RawMessage `json:"results"`
	Interrupted   bool            `json:"interrupted"`
	Errors        []string        `json:"errors"`
}

// pageFromJSON reads the document in file and builds its page.
func pageFromJSON(file string) (page.Page, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return page.Page{}, fmt.Errorf("report: cannot read %s: %w", file, err)
	}
	var run savedRun
	if err := json.Unmarshal(b, &run); err != nil {
		return page.Page{}, usagef("report: %s is not a netlab --json document: %v", file, err)
	}
	if this := thisVersion(); run.Lab != "" && newer(run.NetlabVersion, this) {
		return page.Page{}, usagef("report: %s was written by netlab %s, newer than this one (%s): use that version or later to make its page",
			file, run.NetlabVersion, this)
	}
	pg := page.Page{Lab: run.Lab, Command: "(not in the document)", Version: run.NetlabVersion, Date: run.StartedAt,
		Host: hostLine(run.Host), Note: "Made by netlab report from " + file + "; the numbers are that run's, not this machine's."}
	if pg.Version == "" {
		pg.Version = "(not in the document)"
	}
	// decode reads the document's config and results into the lab's types.
	decode := func(config, results any) error {
		if err := json.Unmarshal(run.Config, config); err != nil {
			return usagef("report: %s: the config of a %s document: %v", file, run.Lab, err)
		}
		if err := json.Unmarshal(run.Results, results); err != nil {
			return usagef("report: %s: the results of a %s document: %v", file, run.Lab, err)
		}
		return nil
	}
	var text bytes.Buffer
	switch run.Lab {
	case "echo":
		var c echo.ConfigJSON
		var rs []echo.ResultJSON
		if err := decode(&c, &rs); err != nil {
			return page.Page{}, err
		}
		cfg, link, results := echo.FromJSON(c, rs)
		if len(results) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := writeEchoText(&text, cfg, results, link, false, true); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Echo(results); err != nil {
			return page.Page{}, err
		}
	case "compare":
		var c compare.ConfigJSON
		var r compare.ResultJSON
		if err := decode(&c, &r); err != nil {
			return page.Page{}, err
		}
		res := compare.FromJSON(c, r, run.Interrupted)
		if len(res.Columns) == 0 {
			return page.Page{}, usagef("report: %s: the document has no transports", file)
		}
		if err := writeCompareText(&text, res, c.Link, r.Sentences); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Compare(res); err != nil {
			return page.Page{}, err
		}
	case "push":
		var c pushConfigJSON
		var rs []push.ResultJSON
		if err := decode(&c, &rs); err != nil {
			return page.Page{}, err
		}
		var results []push.Result
		for _, r := range rs {
			results = append(results, push.FromJSON(r))
		}
		if len(results) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := writePushText(&text, push.ConfigFromJSON(c.ConfigJSON), results, c.Link, false, run.Errors); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Push(results); err != nil {
			return page.Page{}, err
		}
	case "loss":
		var j loss.JSON
		if err := decode(&j.Config, &j.Streams); err != nil {
			return page.Page{}, err
		}
		res, err := loss.FromJSON(j)
		if err != nil {
			return page.Page{}, usagef("report: %s: %v", file, err)
		}
		if len(res.Streams) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := res.WriteText(&text); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Loss(res); err != nil {
			return page.Page{}, err
		}
	case "missed":
		var c missedConfigJSON
		var rs []missed.ResultJSON
		if err := decode(&c, &rs); err != nil {
			return page.Page{}, err
		}
		cfg, err := missed.ConfigFromJSON(c.SettingsJSON, c.Scenarios, c.Strategies)
		if err != nil {
			return page.Page{}, usagef("report: %s: %v", file, err)
		}
		var results []missed.Result
		for _, rj := range rs {
			r, err := missed.FromJSON(rj)
			if err != nil {
				return page.Page{}, usagef("report: %s: %v", file, err)
			}
			results = append(results, r)
		}
		if len(results) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := missed.Table(cfg, results).Write(&text); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Missed(results); err != nil {
			return page.Page{}, err
		}
	case "loss streams":
		var j loss.StreamsJSON
		if err := decode(&j.Config, &j.Results); err != nil {
			return page.Page{}, err
		}
		res, err := loss.StreamsFromJSON(j)
		if err != nil {
			return page.Page{}, usagef("report: %s: %v", file, err)
		}
		if len(res.Runs) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := res.WriteText(&text); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Streams(res); err != nil {
			return page.Page{}, err
		}
	case "events":
		var c eventsConfigJSON
		var rs []events.ResultJSON
		if err := decode(&c, &rs); err != nil {
			return page.Page{}, err
		}
		var results []events.Result
		for _, rj := range rs {
			if r, ok := events.FromJSON(rj); ok {
				results = append(results, r)
			}
		}
		if len(results) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := writeEventsTables(&text, results); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Events(results); err != nil {
			return page.Page{}, err
		}
	case "chat bench":
		var c struct{}
		var j chat.BenchJSON
		if err := decode(&c, &j); err != nil {
			return page.Page{}, err
		}
		res := chat.BenchFromJSON(j, run.Interrupted)
		if err := res.WriteText(&text); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.ChatBench(res); err != nil {
			return page.Page{}, err
		}
	case "cluster demo":
		var c struct{}
		var res cluster.DemoResult
		if err := decode(&c, &res); err != nil {
			return page.Page{}, err
		}
		if len(res.Runs) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		cluster.FromJSON(&res)
		if err := res.WriteText(&text, !run.Interrupted && len(run.Errors) == 0); err != nil {
			return page.Page{}, err
		}
		if run.Interrupted {
			fmt.Fprintln(&text, clusterInterrupted)
		}
		if pg.Charts, err = chart.Cluster(&res); err != nil {
			return page.Page{}, err
		}
	case "":
		return page.Page{}, usagef("report: %s has no \"lab\" field: not a netlab --json document", file)
	default:
		return page.Page{}, usagef("report: %s is a %s document; report reads %s documents", file, run.Lab, readableLabs)
	}
	pg.Text = text.String()
	return pg, nil
}

// readableLabs are the labs whose documents report reads: every lab with
// --report.
const readableLabs = "echo, compare, push, loss, loss streams, missed, events, chat bench and cluster demo"

// thisVersion is this netlab's version (a variable for the tests).
var thisVersion = report.Version

// newer reports whether netlab version doc (as a document's netlab_version
// spells it: "v1.3.0", "v1.3.0 29a8cc2f1b3c") is a later release than
// this one. A build from a checkout ("(devel) ...") is no release: it is
// never called newer, nor older.
func newer(doc, this string) bool {
	first := func(v string) string {
		if f := strings.Fields(v); len(f) > 0 {
			return f[0]
		}
		return ""
	}
	d, t := first(doc), first(this)
	return semver.IsValid(d) && semver.IsValid(t) && semver.Compare(d, t) > 0
}

// hostLine describes a machine in one line: "vm (linux/amd64, 2 CPUs)".
func hostLine(h report.Host) string {
	if h.Name == "" && h.OS == "" {
		return "(not in the document)"
	}
	return fmt.Sprintf("%s (%s/%s, %s)", h.Name, h.OS, h.Arch, report.Plural(h.CPUs, "CPU"))
}
