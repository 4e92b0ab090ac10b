// Package missed is the missed-events lab: a server emits a numbered stream
// of events ("tick", payload "1", "2", ...) to one client over the event
// layer (transport/event), the client gets into trouble, and the lab counts
// what reached the client's application, what was missed, duplicated or
// recovered, and what each way of recovering cost.
//
// Scenarios (the trouble):
//
//   - Offline: the client's connection is closed right after it has received
//     event k, stays down while the server emits the next Offline×Rate
//     events, then the client dials again. The cut is scripted by count, so
//     the same run loses the same events.
//   - LateHandler: the client connects but installs its "tick" handler only
//     after Late×Rate events have reached it; the event layer drops those as
//     unhandled, as Socket.IO does.
//   - SlowConsumer: the client's handler puts events into a bounded queue
//     (Queue) that the application drains at ConsumeRate, slower than the
//     server emits; an event that finds the queue full is dropped.
//
// Strategies (the mitigations), all built by the application on top of the
// at-most-once event layer, as Socket.IO leaves them to the application:
//
//   - None: at most once. What is missed is gone.
//   - Ack: the server asks for an ack of every event and keeps it until the
//     ack comes; after AckTimeout it sends it again (at once if the client is
//     connected, else when it reconnects). The client acks what it has taken
//     and drops repeats by event number, so at-least-once becomes
//     effectively-once. Memory grows with what is unacknowledged.
//   - Replay: the server keeps the last Window events in a buffer; the
//     client remembers the first number it still lacks (its offset) and
//     sends it when it connects, and asks again when it sees a hole; the
//     server sends what it still has, like Socket.IO's connection state
//     recovery. A hole older than the window is reported as unrecoverable.
//   - All: both at once.
//
// The lab is written against transport.Transport and the event layer only;
// cmd/netlab picks the transports.
package missed
