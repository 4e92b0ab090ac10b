// Package docs embeds netlab's walkthroughs so 'netlab docs TOPIC' can print
// them without a browser. Every Markdown file in this folder is a topic named
// by its file name without ".md".
package docs

import (
	"embed"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

//go:embed *.md rfc-sections.txt
var files embed.FS

// first are the topics listed before the others, in this order: the index,
// then the walkthrough every other one builds on.
var first = []string{"index", "basics"}

// Topics lists the topic names: "index", "basics", then the rest in
// alphabetical order.
func Topics() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".md"); ok && !slices.Contains(first, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return append(slices.Clone(first), out...)
}

// RFCSections returns docs/rfc-sections.txt: every RFC section the
// walkthroughs cite, one per line as "RFC NNNN §X.Y Title".
func RFCSections() string {
	b, _ := files.ReadFile("rfc-sections.txt")
	return string(b)
}

// Read returns the Markdown text of a topic.
func Read(topic string) (string, error) {
	b, err := files.ReadFile(topic + ".md")
	return string(b), err
}

// Title returns a topic's first heading, without the leading '#'.
func Title(topic string) string {
	text, err := Read(topic)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(text, "\n") {
		if t, ok := strings.CutPrefix(line, "# "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}
