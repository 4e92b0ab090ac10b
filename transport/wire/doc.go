// Package wire counts and taps connections: the bytes that really cross the
// wire (headers and framing included), and a transparent proxy that shows
// them to a learner.
package wire
