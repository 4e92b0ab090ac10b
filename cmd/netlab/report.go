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
	"github.com/netlab/netlab/labs/push"
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

It reads echo, compare and push documents so far. A document keeps no
per-event times, so the page of a saved compare or push run has its delay
charts but no timeline.`,
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

// savedRun is what report reads of any document: the lab, and where and
// when it ran when the document says (the shared envelope's fields).
type savedRun struct {
	Lab       string    `json:"lab"`
	Version   string    `json:"netlab_version"`
	StartedAt time.Time `json:"started_at"`
	Host      string    `json:"host"`
	Command   string    `json:"command"`
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
	pg := page.Page{Lab: run.Lab, Command: run.Command, Version: run.Version, Date: run.StartedAt, Host: run.Host,
		Note: "Made by netlab report from " + file + "; the numbers are that run's, not this machine's."}
	if pg.Command == "" {
		pg.Command = "(not in the document)"
	}
	if pg.Version == "" {
		pg.Version = "(not in the document; report made by " + netlabVersion() + ")"
	}
	if pg.Host == "" {
		pg.Host = "(not in the document)"
	}
	var text bytes.Buffer
	switch run.Lab {
	case "echo":
		var doc echo.JSON
		if err := json.Unmarshal(b, &doc); err != nil {
			return page.Page{}, usagef("report: %s: not an echo document: %v", file, err)
		}
		cfg, results := echo.FromJSON(doc)
		if len(results) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := writeEchoText(&text, cfg, results, "", false, true); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Echo(results); err != nil {
			return page.Page{}, err
		}
	case "compare":
		var doc compare.ResultJSON
		if err := json.Unmarshal(b, &doc); err != nil {
			return page.Page{}, usagef("report: %s: not a compare document: %v", file, err)
		}
		res := compare.FromJSON(doc)
		if len(res.Columns) == 0 {
			return page.Page{}, usagef("report: %s: the document has no transports", file)
		}
		if err := writeCompareText(&text, res, "", doc.Sentences); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Compare(res); err != nil {
			return page.Page{}, err
		}
	case "push":
		var doc pushJSON
		if err := json.Unmarshal(b, &doc); err != nil {
			return page.Page{}, usagef("report: %s: not a push document: %v", file, err)
		}
		var results []push.Result
		for _, r := range doc.Results {
			results = append(results, push.FromJSON(r))
		}
		if len(results) == 0 {
			return page.Page{}, usagef("report: %s: the document has no results", file)
		}
		if err := writePushText(&text, push.ConfigFromJSON(doc.Config), results, doc.Link, false, doc.Errors); err != nil {
			return page.Page{}, err
		}
		if pg.Charts, err = chart.Push(results); err != nil {
			return page.Page{}, err
		}
	case "":
		return page.Page{}, usagef("report: %s has no \"lab\" field: not a netlab --json document", file)
	default:
		return page.Page{}, usagef("report: %s is a %s document; report reads echo, compare and push documents so far", file, run.Lab)
	}
	pg.Text = text.String()
	return pg, nil
}
