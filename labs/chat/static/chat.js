// netlab chat page: plain JavaScript, no build step. It talks to the server
// in netlab's wire form, one JSON object per message:
//   {"event":"chat","room":"lobby","text":"hi","sent_ns":...}
// over a WebSocket, or over HTTP long polling when WebSocket is unavailable
// (or chosen with ?via=poll).
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let conn = null;     // {send(obj), close()}
let current = "";    // current room
let myName = "";

function show(cls, room, text, sentNs) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  if (room) div.dataset.room = room;
  if (room) {
    const r = document.createElement("span");
    r.className = "room";
    r.textContent = "[" + room + "] ";
    div.appendChild(r);
  }
  div.appendChild(document.createTextNode(text));
  if (sentNs && $("latency").checked) {
    // Delivery time: from the server taking the message to this page. Exact
    // only when the browser and the server share a clock (same machine).
    // performance.timeOrigin + now() has sub-millisecond precision where
    // Date.now() has whole milliseconds (and could show "-0 ms").
    const now = performance.timeOrigin + performance.now();
    const ms = Math.max(0, now - sentNs / 1e6);
    const l = document.createElement("span");
    l.className = "lat";
    l.textContent = "+" + (ms < 10 ? ms.toFixed(1) : ms.toFixed(0)) + " ms";
    div.appendChild(l);
  }
  const log = $("log");
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
}

function onMessage(m) {
  switch (m.event) {
    case "chat": show("chat", m.room, m.text || "", m.sent_ns); break;
    case "join": case "leave": case "nick": show("notice", m.room, "* " + (m.text || "")); break;
    case "error": show("error", "", "! " + (m.text || "")); break;
    case "bye": show("error", "", "! " + (m.text || "")); break;
    case "":
    case undefined: show("chat", "", m.text || ""); break;
    default: show("notice", m.room, m.text || "");
  }
}

function decode(s) {
  if (s.trimStart().startsWith("{")) {
    try { return JSON.parse(s); } catch (e) { /* fall through: plain text */ }
  }
  return { text: s };
}

// --- WebSocket ---
function connectWS(onOpen, onClose) {
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
  ws.onopen = () => onOpen("WebSocket");
  ws.onmessage = (e) => onMessage(decode(e.data));
  ws.onclose = (e) => onClose("closed (" + e.code + (e.reason ? " " + e.reason : "") + ")");
  return { send: (o) => ws.send(JSON.stringify(o)), close: () => ws.close() };
}

// --- HTTP long polling (transport/httppoll's protocol) ---
//   POST /poll/session                   -> 201 "SID"
//   POST /poll?sid=SID  body: one message per line
//   GET  /poll?sid=SID&after=N&wait=25s  -> 200 lines (X-Netlab-Last: last number) or 204
//   DELETE /poll?sid=SID
function connectPoll(onOpen, onClose) {
  let sid = "", closed = false, after = 0, sending = false;
  const outbox = [];
  async function flush() {
    if (sending || !sid || outbox.length === 0) return;
    sending = true;
    const batch = outbox.splice(0);
    try {
      const r = await fetch("/poll?sid=" + encodeURIComponent(sid), {
        method: "POST", headers: { "Content-Type": "application/x-ndjson" },
        body: batch.map((o) => JSON.stringify(o)).join("\n") + "\n",
      });
      if (!r.ok) show("error", "", "! send: HTTP " + r.status + " " + (await r.text()));
    } catch (e) { show("error", "", "! send: " + e); }
    sending = false;
    flush();
  }
  async function loop() {
    try {
      const r = await fetch("/poll/session", { method: "POST" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      sid = (await r.text()).trim();
      onOpen("long polling");
      flush();
      while (!closed) {
        const g = await fetch("/poll?sid=" + encodeURIComponent(sid) + "&after=" + after + "&wait=25s");
        if (g.status === 204) continue;
        if (!g.ok) throw new Error("HTTP " + g.status + " " + (await g.text()));
        const last = g.headers.get("X-Netlab-Last");
        const body = await g.text();
        if (last) after = Number(last);
        for (const line of body.split("\n")) {
          if (line) onMessage(decode(line));
        }
      }
    } catch (e) { onClose("closed (" + e.message + ")"); }
  }
  window.addEventListener("pagehide", () => {
    if (sid) fetch("/poll?sid=" + encodeURIComponent(sid), { method: "DELETE", keepalive: true });
  });
  loop();
  return { send: (o) => { outbox.push(o); flush(); }, close: () => { closed = true; } };
}

function connect() {
  const via = params.get("via") || (window.WebSocket ? "ws" : "poll");
  $("via").value = via;
  const opened = (how) => {
    $("status").textContent = "connected via " + how;
    document.body.dataset.connected = "1";
    myName = $("name").value.trim();
    if (myName) conn.send({ event: "nick", text: myName });
    joinRoom($("room").value.trim() || "lobby");
  };
  const closed = (why) => {
    $("status").textContent = why;
    document.body.dataset.connected = "";
  };
  conn = via === "poll" ? connectPoll(opened, closed)
    : via === "sse" && window.connectSSE ? connectSSE(opened, closed) // sse.js
    : connectWS(opened, closed);
}

// joinRoom moves this page to room: join it, then leave the previous one
// (every page starts in "lobby").
function joinRoom(room) {
  const prev = current || "lobby";
  if (room !== prev) {
    conn.send({ event: "join", room: room });
    conn.send({ event: "leave", room: prev });
  }
  current = room;
  document.body.dataset.room = room;
}

$("who").onsubmit = (e) => {
  e.preventDefault();
  const name = $("name").value.trim();
  if (name && name !== myName) { myName = name; conn.send({ event: "nick", text: name }); }
  joinRoom($("room").value.trim());
};

$("via").onchange = () => {
  params.set("via", $("via").value);
  location.search = params.toString();
};

$("say").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  if (text.startsWith("/")) {
    conn.send({ text: text }); // plain text: the server reads it as a command
  } else {
    conn.send({ event: "chat", room: current, text: text });
    show("me", current, (myName || "me") + ": " + text);
  }
  $("text").value = "";
};

$("name").value = params.get("name") || "";
$("room").value = params.get("room") || "lobby";
$("latency").checked = params.get("latency") === "1";
connect();
