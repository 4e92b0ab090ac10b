package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// flagValueErr matches pflag's message for a value that does not parse:
// invalid argument "abc" for "-n, --count" flag: strconv.ParseInt: ...
var flagValueErr = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// plainFlagError rewords pflag's parse errors without Go's jargon
// (strconv.ParseInt, time: invalid duration): what the flag wants, with an
// example.
func plainFlagError(err error) error {
	m := flagValueErr.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	value, flag, why := m[1], m[2], m[3]
	var want string
	switch {
	case strings.Contains(why, "strconv.ParseInt"), strings.Contains(why, "strconv.ParseUint"):
		want = "a whole number, e.g. " + flag + " 100"
		if strings.Contains(why, "out of range") {
			want = "a smaller whole number"
		}
	case strings.Contains(why, "strconv.ParseFloat"):
		want = "a number, e.g. " + flag + " 2.5"
	case strings.Contains(why, "strconv.ParseBool"):
		want = "true or false"
	case strings.Contains(why, "time: "):
		want = "a duration with its unit, e.g. " + flag + " 500ms, 2s or 1m"
		if regexp.MustCompile(`^\d+(\.\d+)?$`).MatchString(value) {
			want += " (" + value + " alone has no unit)"
		}
	default:
		return err
	}
	return fmt.Errorf("%s %s: want %s", flag, value, want)
}

// unknownCommandError puts cobra's "Did you mean this?" suggestion on the
// same line as the error: "unknown command "compar": did you mean compare?".
func unknownCommandError(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command ") {
		return err
	}
	first, rest, _ := strings.Cut(msg, "\n")
	first = strings.TrimSpace(first)
	var sugg []string
	for _, l := range strings.Split(rest, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Did you mean") {
			sugg = append(sugg, l)
		}
	}
	if len(sugg) > 0 {
		return errors.New(first + ": did you mean " + strings.Join(sugg, " or ") + "?")
	}
	return errors.New(first)
}
