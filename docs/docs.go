// Package docs embeds netlab's walkthroughs so 'netlab docs TOPIC' can print
// them without a browser. Every Markdown file in this folder is a topic named
// by its file name without ".md".
package docs

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.md
var files embed.FS

// Topics lists the topic names, "index" first.
func Topics() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".md"); ok && name != "index" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return append([]string{"index"}, out...)
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
