// Package page writes a run as one self-contained HTML page an instructor
// can project or print: the command line, netlab's version, date and host,
// the tables and sentences as netlab printed them, and the charts as inline
// SVG. The page loads nothing: no script, no font, no image from anywhere.
package page

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/netlab/netlab/labs/report/chart"
)

// A Page is one run.
type Page struct {
	Lab     string    // "echo"
	Command string    // the command line, as typed
	Version string    // netlab's version
	Date    time.Time // when the run started
	Host    string    // the machine it ran on
	Text    string    // the tables and sentences, as printed
	Charts  []chart.Chart
	// Note, if set, is a line under the heading (where the page came from).
	Note string
}

type figure struct {
	Title string
	SVG   template.HTML
}

// Write renders p as HTML to w.
func (p Page) Write(w io.Writer) error {
	var figs []figure
	for _, c := range p.Charts {
		b, err := c.Encode("svg")
		if err != nil {
			return fmt.Errorf("report: chart %s: %w", c.Name, err)
		}
		// Drop the XML prolog: inline SVG in HTML starts at <svg.
		if i := bytes.Index(b, []byte("<svg")); i > 0 {
			b = b[i:]
		}
		figs = append(figs, figure{Title: c.Title, SVG: template.HTML(b)}) // gonum/plot's own SVG, text escaped by it
	}
	return tmpl.Execute(w, struct {
		Page
		When    string
		Figures []figure
	}{p, when(p.Date), figs})
}

func when(t time.Time) string {
	if t.IsZero() {
		return "(not known)"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

var tmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>netlab {{.Lab}}: {{.When}}</title>
<style>
  body { font-family: system-ui, sans-serif; font-size: 20px; line-height: 1.4;
         color: #111; background: #fff; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; }
  h1 { font-size: 1.8rem; margin: 0 0 .3rem 0; }
  h2 { font-size: 1.3rem; margin: 2rem 0 .5rem 0; border-bottom: 2px solid #ddd; }
  dl { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; margin: .5rem 0; }
  dt { font-weight: bold; }
  dd { margin: 0; }
  code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; }
  pre { font-size: 16px; background: #f6f6f6; padding: .8rem; overflow-x: auto; border-radius: 4px; white-space: pre; }
  figure { margin: 1.5rem 0; break-inside: avoid; page-break-inside: avoid; }
  figure svg { width: 100%; height: auto; display: block; }
  figcaption { font-size: .9rem; color: #333; }
  @media print {
    body { font-size: 11pt; max-width: none; margin: 0; }
    pre { font-size: 8pt; background: none; border: 1px solid #999; white-space: pre-wrap; }
    h2 { break-after: avoid; page-break-after: avoid; }
    figure { break-inside: avoid; page-break-inside: avoid; }
  }
</style>
</head>
<body>
<h1>netlab {{.Lab}}</h1>
{{with .Note}}<p>{{.}}</p>{{end}}
<dl>
  <dt>command</dt><dd><code>{{.Command}}</code></dd>
  <dt>netlab</dt><dd>{{.Version}}</dd>
  <dt>date</dt><dd>{{.When}}</dd>
  <dt>host</dt><dd>{{.Host}}</dd>
</dl>
<h2>What netlab printed</h2>
<pre>{{.Text}}</pre>
{{if .Figures}}<h2>Charts</h2>
{{range .Figures}}<figure>
{{.SVG}}
<figcaption>{{.Title}}</figcaption>
</figure>
{{end}}{{end}}
</body>
</html>
`))
