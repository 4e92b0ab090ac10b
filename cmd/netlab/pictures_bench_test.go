package main

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/compare"
	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/events"
	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/labs/report/page"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/httppoll"
)

// benchLab is one real lab run, made once: how long it took (the anchor)
// and its charts' builder.
type benchLab struct {
	once   sync.Once
	run    time.Duration
	charts func() ([]chart.Chart, error)
}

var benchLabs = map[string]*benchLab{}

func labRun(b *testing.B, name string, run func(ctx context.Context) func() ([]chart.Chart, error)) *benchLab {
	l := benchLabs[name]
	if l == nil {
		l = &benchLab{}
		benchLabs[name] = l
	}
	l.once.Do(func() {
		start := time.Now()
		l.charts = run(context.Background())
		l.run = time.Since(start)
	})
	return l
}

// BenchmarkPictures measures what --plot DIR and --report FILE add to a
// lab's run: building every chart of a real run (the labs' default sizes,
// echo with 1000 round trips per transport), writing them as SVG into a
// directory and writing the page. run-ms is the lab run itself, the anchor
// measured in the same benchmark run; plot/run is the share plotting adds.
//
//	go test -run '^$' -bench Pictures -benchtime 10x ./cmd/netlab/
func BenchmarkPictures(b *testing.B) {
	trs := func(list string) []transport.Transport {
		b.Helper()
		t, err := parseTransports(list, &transportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	labs := []struct {
		name string
		run  func(ctx context.Context) func() ([]chart.Chart, error)
	}{
		{"echo", func(ctx context.Context) func() ([]chart.Chart, error) {
			var rs []echo.Result
			for _, tr := range trs("tcp,udp,ws") {
				r, err := echo.Run(ctx, tr, echo.Config{Count: 1000, Size: 64})
				if err != nil {
					b.Fatal(err)
				}
				rs = append(rs, r)
			}
			return func() ([]chart.Chart, error) { return chart.Echo(rs) }
		}},
		{"compare", func(ctx context.Context) func() ([]chart.Chart, error) {
			cfg := compare.Config{Push: push.Config{Rate: compareRate, Schedule: push.Poisson, Seed: 1, Count: compareCount},
				Echo: echoFigures(echo.Config{Count: compareEchoCount, Size: push.DefaultSize})}
			for _, tr := range trs("all") {
				cfg.Subjects = append(cfg.Subjects, subjectOf(tr))
			}
			r, err := compare.Run(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			return func() ([]chart.Chart, error) { return chart.Compare(r) }
		}},
		{"loss", func(ctx context.Context) func() ([]chart.Chart, error) {
			// With --plot the lab keeps the packets (Ladder) for the
			// time–sequence graph.
			r, err := loss.Run(ctx, loss.Config{Link: loss.DefaultLink, Ladder: true}, trs(defaultLossTransports()))
			if err != nil {
				b.Fatal(err)
			}
			return func() ([]chart.Chart, error) { return chart.Loss(r) }
		}},
		{"loss-streams", func(ctx context.Context) func() ([]chart.Chart, error) {
			r, err := loss.RunStreams(ctx, loss.StreamsConfig{Link: loss.DefaultStreamsLink}, trs("tcp,quic,quic-streams"))
			if err != nil {
				b.Fatal(err)
			}
			return func() ([]chart.Chart, error) { return chart.Streams(r) }
		}},
		{"events", func(ctx context.Context) func() ([]chart.Chart, error) {
			var rs []events.Result
			for _, tr := range trs(defaultEventTransports()) {
				r, err := events.Run(ctx, events.Config{Transport: tr})
				if err != nil {
					b.Fatal(err)
				}
				rs = append(rs, r)
			}
			return func() ([]chart.Chart, error) { return chart.Events(rs) }
		}},
		{"cluster", func(ctx context.Context) func() ([]chart.Chart, error) {
			r, err := cluster.Demo(ctx, cluster.DemoConfig{Doors: chatHTTPDoors, PollPath: httppoll.DefaultPrefix,
				Dialer: chatDialers()[0]})
			if err != nil {
				b.Fatal(err)
			}
			return func() ([]chart.Chart, error) { return chart.Cluster(r) }
		}},
		{"missed", func(ctx context.Context) func() ([]chart.Chart, error) {
			rs, err := missed.Run(ctx, missed.Config{Transports: trs(defaultEventTransports())})
			if err != nil {
				b.Fatal(err)
			}
			return func() ([]chart.Chart, error) { return chart.Missed(rs) }
		}},
	}
	for _, l := range labs {
		b.Run(l.name, func(b *testing.B) {
			lab := labRun(b, l.name, l.run)
			dir := b.TempDir()
			b.ResetTimer()
			for b.Loop() {
				cs, err := lab.charts()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := chart.Write(dir, cs); err != nil {
					b.Fatal(err)
				}
				if err := (page.Page{Lab: l.name, Charts: cs}).Write(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perOp := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(lab.run.Milliseconds()), "run-ms")
			b.ReportMetric(float64(perOp)/float64(time.Millisecond), "plot-ms")
			b.ReportMetric(float64(perOp)/float64(lab.run), "plot/run")
		})
	}
}
