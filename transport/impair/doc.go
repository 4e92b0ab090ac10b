// Package impair is netlab's link emulator: a user-space stand-in for Linux
// netem that sits between a client and a server (a proxy on 127.0.0.1) and
// makes the link between them bad on purpose, in each direction.
//
// Every impairment is a Stage, a small type with a name, a String/Parse pair
// for its command-line spelling and its own per-direction state. A Pipeline
// chains the stages in a fixed order (loss, burst, dup, reorder, delay,
// jitter, rate, cut); each packet enters with the time it arrived and leaves
// with the time it may be written out, or not at all.
//
// Two kinds of traffic cross a link, and they suffer differently:
//
//   - Datagrams (UDP) are dropped, duplicated and reordered for real: what the
//     pipeline drops never reaches the other side.
//
//   - A byte stream (TCP, and so HTTP and WebSocket) never loses, duplicates or
//     corrupts a byte: TCP's receiver would discard duplicates and put
//     reordered segments back in order, and its sender would retransmit what
//     was lost. What the application sees of loss is time, and the pipeline
//     models exactly that: a "lost" segment (one chunk read from the socket)
//     waits for a retransmission timeout (Config.RTO, 200 ms by default,
//     Linux's minimum) before it passes, doubled for every retransmission that
//     is lost too, and everything behind it waits with it, because a stream is
//     delivered in order (head-of-line blocking). This is a model: real TCP
//     often recovers faster by fast retransmit (RFC 5681) when enough data
//     follows the lost segment; a sparse message stream, like netlab's labs
//     send, is the case where the timeout is what happens.
//
// Randomness is seeded: the same Config.Seed gives the same drops, duplicates
// and delays for the same traffic, connection by connection, so a
// walkthrough can be reproduced exactly.
package impair
