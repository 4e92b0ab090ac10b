package impair

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseProb reads a probability written as a percentage ("5%", "0.5%") or a
// fraction ("0.05"). It must lie in [0, 1].
func parseProb(flag, s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("impair: --%s %q: want a percentage like 5%% or a fraction like 0.05", flag, s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		if !pct && v > 1 && v <= 100 { // "--loss 5": a percentage without its sign
			return 0, fmt.Errorf("impair: --%s %s: a probability must be between 0%% and 100%%: did you mean %s%%?", flag, s, t)
		}
		return 0, fmt.Errorf("impair: --%s %s: a probability must be between 0%% and 100%%", flag, s)
	}
	return v, nil
}

// checkProb validates a probability set in code rather than parsed.
func checkProb(flag string, v float64) error {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return fmt.Errorf("impair: --%s %s: a probability must be between 0%% and 100%%", flag, formatProb(v))
	}
	return nil
}

// formatProb writes a probability as the percentage parseProb reads: "5%".
func formatProb(v float64) string {
	return strconv.FormatFloat(v*100, 'g', -1, 64) + "%"
}
