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
  let sid = "", sending = false, es = null;
  const outbox = [];
  async function flush() {
    if (sending || !sid || outbox.length === 0) return;
    sending = true;
    const batch = outbox.splice(0);
    try {
      const r = await fetch("/sse?sid=" + encodeURIComponent(sid), {
        method: "POST", headers: { "Content-Type": "application/x-ndjson" },
        body: batch.map((o) => JSON.stringify(o)).join("\n") + "\n",
      });
      if (!r.ok) show("error", "", "! send: HTTP " + r.status + " " + (await r.text()));
    } catch (e) { show("error", "", "! send: " + e); }
    sending = false;
    flush();
  }
  (async () => {
    try {
      const r = await fetch("/sse/session", { method: "POST" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      sid = (await r.text()).trim();
    } catch (e) { onClose("closed (" + e.message + ")"); return; }
    es = new EventSource("/sse?sid=" + encodeURIComponent(sid));
    let opened = false;
    es.onopen = () => {
      if (!opened) { opened = true; onOpen("Server-Sent Events"); flush(); }
      else $("status").textContent = "connected via Server-Sent Events (reconnected)";
    };
    es.onmessage = (e) => onMessage(decode(e.data));
    es.addEventListener("end", () => { es.close(); onClose("closed (the server ended the session)"); });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) onClose("closed");
      else $("status").textContent = "reconnecting…";
    };
  })();
  window.addEventListener("pagehide", () => {
    if (sid) fetch("/sse?sid=" + encodeURIComponent(sid), { method: "DELETE", keepalive: true });
  });
  return { send: (o) => { outbox.push(o); flush(); }, close: () => { if (es) es.close(); } };
}
