package impair

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary flag values to every Parse function: none may
// panic, errors are one line, and whatever parses reads back from String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"5%", "0.05", "p=1%,r=30%", "1Mbit", "2s+1s", "20ms", "-1", "1e400", "p=,r=", "+", "%"} {
		f.Add(s)
	}
	parsers := map[string]func(string) (Stage, error){
		"delay":   func(s string) (Stage, error) { return ParseDelay(s) },
		"jitter":  func(s string) (Stage, error) { return ParseJitter(s) },
		"loss":    func(s string) (Stage, error) { return ParseLoss(s) },
		"burst":   func(s string) (Stage, error) { return ParseBurst(s) },
		"dup":     func(s string) (Stage, error) { return ParseDup(s) },
		"reorder": func(s string) (Stage, error) { return ParseReorder(s) },
		"rate":    func(s string) (Stage, error) { return ParseRate(s) },
		"cut":     func(s string) (Stage, error) { return ParseCut(s) },
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, parse := range parsers {
			st, err := parse(s)
			if err != nil {
				if strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
					t.Errorf("--%s %q: error spans lines: %v", name, s, err)
				}
				continue
			}
			again, err := parse(st.String())
			if err != nil || again.String() != st.String() {
				t.Errorf("--%s %q parsed as %q, which reads back as %v, %v", name, s, st.String(), again, err)
			}
		}
	})
}
