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

	"github.com/netlab/netlab/labs/compare"
	"github.com/netlab/netlab/labs/echo"
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

It reads echo, compare, push, loss and missed documents. A document keeps
no per-event times, so the page of a saved compare or push run has its
delay charts but no timeline; a loss document has its time–sequence graph
only if the run had --ladder (the packets).`,
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
	case "":
		return page.Page{}, usagef("report: %s has no \"lab\" field: not a netlab --json document", file)
	default:
		return page.Page{}, usagef("report: %s is a %s document; report reads echo, compare, push, loss and missed documents", file, run.Lab)
	}
	pg.Text = text.String()
	return pg, nil
}

// hostLine describes a machine in one line: "vm (linux/amd64, 2 CPUs)".
func hostLine(h report.Host) string {
	if h.Name == "" && h.OS == "" {
		return "(not in the document)"
	}
	return fmt.Sprintf("%s (%s/%s, %s)", h.Name, h.OS, h.Arch, report.Plural(h.CPUs, "CPU"))
}
