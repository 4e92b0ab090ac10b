// netlab chat page, Server-Sent Events door (transport/sse's protocol):
//   POST /sse/session        -> 201 "SID"
//   GET  /sse?sid=SID        -> text/event-stream: "id: N" / "data: {...}" events;
//                               EventSource reconnects by itself with Last-Event-ID
//   POST /sse?sid=SID        body: one message per line
//   DELETE /sse?sid=SID
// The page opens the session first, so that EventSource's reconnects (to
// the same URL) come back to the same session and get what they missed.
"use strict";

function connectSSE(onOpen, onClose) {
  let sid = "", sending = false, es = null, closed = false;
  const queue = [];
  const fail = (why) => { if (!closed) { closed = true; if (es) es.close(); onClose(why); } };
  async function flush() {
    if (sending || !sid || closed || queue.length === 0) return;
    sending = true;
    const batch = queue.splice(0);
    try {
      const r = await fetch("/sse?sid=" + encodeURIComponent(sid), {
        method: "POST", headers: { "Content-Type": "application/x-ndjson" },
        body: batch.map((o) => JSON.stringify(o)).join("\n") + "\n",
      });
      if (!r.ok) throw new Error("send: HTTP " + r.status);
    } catch (e) { sending = false; fail("closed (" + e.message + ")"); return; }
    sending = false;
    flush();
  }
  (async () => {
    try {
      const r = await fetch("/sse/session", { method: "POST" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      sid = (await r.text()).trim();
    } catch (e) { fail("closed (" + e.message + ")"); return; }
    es = new EventSource("/sse?sid=" + encodeURIComponent(sid));
    let opened = false;
    es.onopen = () => {
      if (!opened) { opened = true; onOpen("Server-Sent Events"); flush(); }
      else status("connected via Server-Sent Events (EventSource reconnected)", "connected");
    };
    es.onmessage = (e) => onMessage(decode(e.data));
    es.addEventListener("end", () => fail("closed (the server ended the session)"));
    es.onerror = () => {
      // EventSource retries by itself (with Last-Event-ID) unless the server
      // answered with an error status: then it is CLOSED and the page
      // reconnects from the start.
      if (es.readyState === EventSource.CLOSED) fail("closed");
      else status("EventSource reconnecting…", "reconnecting");
    };
  })();
  window.addEventListener("pagehide", () => {
    if (sid) fetch("/sse?sid=" + encodeURIComponent(sid), { method: "DELETE", keepalive: true });
  });
  return {
    send: (o) => { if (closed) throw new Error("closed"); queue.push(o); flush(); },
    close: () => { closed = true; if (es) es.close(); },
  };
}
