// Package impair is netlab's link emulator: a user-space stand-in for Linux
// netem that makes a link bad on purpose, packet by packet, in each
// direction.
//
// Every impairment is a Stage, a small type with a name, a String/Parse pair
// for its command-line spelling and its own per-direction state. A Pipeline
// chains the stages in a fixed order (loss, burst, dup, reorder, delay,
// jitter, rate, cut); each packet enters with the time it arrived and leaves
// with the time it may be delivered, or not at all.
//
// The packets are real: package simwire runs two TCP/IP stacks in the
// process and puts every IP packet between them through a Pipeline. A lost
// UDP datagram is gone; a lost TCP segment is noticed and resent by the
// stacks' own TCP (fast retransmit, SACK, the retransmission timer), so
// what a TCP application sees of loss is time, and how much depends on what
// TCP did. Nothing here models TCP.
//
// Randomness is seeded: the same Config.Seed gives the same drops,
// duplicates and delays for the same packet index, direction by direction,
// so a walkthrough can be reproduced.
package impair
