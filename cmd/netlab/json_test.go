package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/docs"
)

// jsonExample is one documented --json command and the document docs/json.md
// shows for it.
type jsonExample struct {
	line    int
	cmdline string // without the prompt
	doc     any
}

// jsonExamples reads docs/json.md: every command line ("$ netlab ...",
// or "term2$ netlab ..." for one that needs a server) followed by a
// ```json block.
func jsonExamples(t *testing.T) []jsonExample {
	text, err := docs.Read("json")
	if err != nil {
		t.Fatal(err)
	}
	var out []jsonExample
	lines := strings.Split(text, "\n")
	cmdline, cmdAt := "", 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if _, rest, ok := strings.Cut(l, "$ netlab "); ok && strings.HasSuffix(strings.TrimSpace(l), "--json") {
			cmdline, cmdAt = rest, i+1
			continue
		}
		if l != "```json" {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			b.WriteString(lines[i] + "\n")
		}
		if cmdline == "" {
			t.Errorf("docs/json.md:%d: a JSON block with no `$ netlab ... --json` line before it", i)
			continue
		}
		var doc any
		if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
			t.Errorf("docs/json.md:%d: the example is not JSON: %v", cmdAt, err)
		}
		out = append(out, jsonExample{line: cmdAt, cmdline: cmdline, doc: doc})
		cmdline = ""
	}
	return out
}

// TestEveryLabJSONMatchesDocs runs each command docs/json.md documents and
// checks its document against the example there: every documented field is
// present with the same JSON type, and every field printed is documented.
// Values are not compared (they are measurements); a documented null
// stands for "any type", and a printed null (not measured) matches any type; an object whose only key is "…" for
// "any object"; an array's documented elements are the shapes its elements
// may take.
func TestEveryLabJSONMatchesDocs(t *testing.T) {
	examples := jsonExamples(t)
	labs := map[string]bool{}
	for _, ex := range examples {
		t.Run(strings.ReplaceAll(ex.cmdline, " ", "_"), func(t *testing.T) {
			args, err := splitArgs(ex.cmdline)
			if err != nil {
				t.Fatal(err)
			}
			out := runForJSON(t, args)
			var got any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("docs/json.md:%d: `netlab %s` printed no JSON: %v\n%s", ex.line, ex.cmdline, err, out)
			}
			for _, p := range matchJSON("", ex.doc, got) {
				t.Errorf("docs/json.md:%d: `netlab %s`: %s", ex.line, ex.cmdline, p)
			}
			if m, ok := got.(map[string]any); ok {
				labs[fmt.Sprint(m["lab"])] = true
			}
		})
	}
	for _, lab := range []string{"echo", "tcp stream", "push", "compare", "loss", "loss streams", "missed", "events", "layers",
		"wire demo", "chat demo", "socketio demo", "chat bench", "cluster demo", "proxy"} {
		if !labs[lab] && !t.Failed() {
			t.Errorf("docs/json.md documents no `--json` command of the %q lab", lab)
		}
	}
}

// runForJSON runs a documented command in-process. chat bench gets a chat
// server started here for its ADDR; proxy gets an upstream and is stopped
// (as Ctrl-C would) once it listens.
func runForJSON(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	a := &app{in: strings.NewReader(""), out: &out, errOut: &errOut}
	want := exitOK
	switch {
	case len(args) > 2 && args[0] == "chat" && args[1] == "bench":
		srv := startChat(t)
		args[2] = srv.HTTPAddr.String() // the documented address, a server here

	case args[0] == "proxy":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		for i := range args[:len(args)-1] {
			if args[i] == "--upstream" {
				args[i+1] = ln.Addr().String()
			}
		}
		go func() {
			time.Sleep(300 * time.Millisecond)
			cancel()
		}()
		want = exitInterrupted
	}
	if code := run(ctx, args, a); code != want {
		t.Fatalf("`netlab %s` exited %d, want %d:\n%s", strings.Join(args, " "), code, want, errOut.String())
	}
	return out.String()
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// matchJSON lists where got departs from the documented shape doc.
func matchJSON(path string, doc, got any) []string {
	if doc == nil || got == nil {
		return nil // documented as "any", or a figure this run could not measure
	}
	if dt, gt := jsonType(doc), jsonType(got); dt != gt {
		return []string{fmt.Sprintf("%s is %s, docs/json.md shows %s", pathOr(path), gt, dt)}
	}
	var problems []string
	switch d := doc.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if _, open := d["…"]; open && len(d) == 1 {
			return nil
		}
		for _, k := range sortedKeys(d) {
			if k == "…" {
				continue
			}
			gv, ok := g[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s is documented but missing", path+"."+k))
				continue
			}
			problems = append(problems, matchJSON(path+"."+k, d[k], gv)...)
		}
		if _, open := d["…"]; !open {
			for _, k := range sortedKeys(g) {
				if _, ok := d[k]; !ok {
					problems = append(problems, fmt.Sprintf("%s is printed but not documented", path+"."+k))
				}
			}
		}
	case []any:
		var shapes []any
		for _, e := range d {
			if s, ok := e.(string); !ok || !strings.HasPrefix(s, "…") {
				shapes = append(shapes, e)
			}
		}
		if len(shapes) == 0 {
			return nil
		}
		for i, e := range got.([]any) {
			var best []string
			for j, s := range shapes {
				p := matchJSON(fmt.Sprintf("%s[%d]", path, i), s, e)
				if j == 0 || len(p) < len(best) {
					best = p
				}
				if len(p) == 0 {
					break
				}
			}
			problems = append(problems, best...)
		}
	}
	return problems
}

func pathOr(p string) string {
	if p == "" {
		return "the document"
	}
	return p
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestMatchJSON(t *testing.T) {
	doc := map[string]any{"a": 1.0, "b": []any{map[string]any{"x": "s"}, "… more"}, "c": nil, "d": map[string]any{"…": "any"}}
	good := map[string]any{"a": 2.0, "b": []any{map[string]any{"x": "t"}}, "c": true, "d": map[string]any{"q": 1.0}}
	if p := matchJSON("", doc, good); len(p) != 0 {
		t.Errorf("a matching document fails: %q", p)
	}
	bad := map[string]any{"a": "2", "b": []any{map[string]any{"y": "t"}}, "d": map[string]any{}, "e": 1.0}
	if p := matchJSON("", map[string]any{"a": 1.0}, map[string]any{"a": nil}); len(p) != 0 {
		t.Errorf("a null figure is refused: %q", p)
	}
	p := matchJSON("", doc, bad)
	for _, want := range []string{".a is string", ".b[0].x is documented but missing", ".b[0].y is printed but not documented", ".c is documented but missing", ".e is printed but not documented"} {
		if !strings.Contains(strings.Join(p, "\n"), want) {
			t.Errorf("no problem %q in %q", want, p)
		}
	}
}
