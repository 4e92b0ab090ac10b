// netlab chat page: plain JavaScript, no build step. It talks to the server
// in netlab's wire form, one JSON object per message:
//   {"event":"chat","room":"lobby","text":"hi","seq":12,"sent_ns":...}
// over a WebSocket, or over HTTP long polling when WebSocket is unavailable
// (or chosen with ?via=poll).
//
// It uses the server's page protocol (labs/chat/page.go) so that nothing
// typed is lost or shown as sent when it was not:
//   - every message and command goes out as {"event":"send"|"cmd","seq":ID}
//     with a random id ID, and shows as "sending" until the server answers
//     {"event":"ack","seq":ID}; only then does it show as delivered;
//   - when the connection drops, what was not acked shows as "not sent" and
//     is sent again once the page has reconnected (the server drops a
//     duplicate id, so a message whose ack was lost is not delivered twice);
//   - the page reconnects by itself, with backoff, rejoins its name and rooms
//     and asks the server to replay what its rooms missed ("resume").
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const st = {
  conn: null,        // {send(obj), close()} while connected
  ready: false,      // connected and rejoined: the outbox may go out
  quit: false,       // the user typed /quit: do not reconnect
  attempt: 0,        // reconnect attempts since the last success
  name: "",          // the name this page asks for
  rooms: ["lobby"],  // rooms this page is in (as the server last said)
  current: "lobby",  // where a plain message goes
  id: "",            // this connection's socket id (its own room)
  server: "",        // the server's id: it changes when the server restarts
  lastSeq: 0,        // the highest hub message number seen from st.server
  seen: new Set(),   // hub numbers already shown (replay sends some again)
  outbox: [],        // {cid, kind, room, text, el, state, sentAt}
  members: new Map(),// room -> [{id, name, door}]
  names: new Map(),  // socket id -> name, for private messages
};

// --- the log ---

function clock(ms) {
  const d = new Date(ms);
  return d.toTimeString().slice(0, 8);
}

function line(cls, room, text, opts) {
  opts = opts || {};
  const div = document.createElement("div");
  div.className = "msg " + cls;
  if (room) div.dataset.room = room;
  const t = document.createElement("span");
  t.className = "time";
  t.textContent = clock(opts.sentNs ? opts.sentNs / 1e6 : Date.now()) + " ";
  div.appendChild(t);
  if (room) {
    const r = document.createElement("span");
    r.className = "room";
    r.textContent = roomLabel(room) + " ";
    div.appendChild(r);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.appendChild(body);
  if (opts.sentNs && $("latency").checked) {
    // Delivery time: from the server taking the message to this page. Exact
    // only when the browser and the server share a clock (same machine).
    const now = performance.timeOrigin + performance.now();
    const ms = Math.max(0, now - opts.sentNs / 1e6);
    const l = document.createElement("span");
    l.className = "lat";
    l.textContent = "+" + (ms < 10 ? ms.toFixed(1) : ms.toFixed(0)) + " ms";
    div.appendChild(l);
  }
  if (opts.tag) {
    const g = document.createElement("span");
    g.className = "tag";
    g.textContent = opts.tag;
    div.appendChild(g);
  }
  const log = $("log");
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.appendChild(div);
  if (atEnd || cls.startsWith("me")) log.scrollTop = log.scrollHeight;
  return div;
}

// roomLabel names a room for people: a private message's room is a socket
// id, shown as the name behind it.
function roomLabel(room) {
  if (room === "*") return "[everyone]";
  if (room === st.id) return "[to you]";
  if (st.names.has(room)) return "[to " + st.names.get(room) + "]";
  return "[" + room + "]";
}

function notice(text) { line("notice", "", text); }

// --- the outbox: every message typed, until the server acks it ---

function newID() {
  // A random id below 2^53, so it survives JSON in every language.
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return (a[0] & 0x1fffff) * 0x100000000 + a[1] + 1;
}

function setState(item, state) {
  item.state = state;
  item.el.dataset.state = state;
  const tag = item.el.querySelector(".tag");
  tag.textContent = { pending: "sending…", unsent: "not sent: will send on reconnect", delivered: "✓" }[state];
  tag.title = state === "unsent" ? "click to try again now" : "";
}

function submit(kind, text, room) {
  const item = { cid: newID(), kind, room, text, state: "" };
  let shown = kind === "cmd" ? "> " + text : (st.name || "me") + ": " + text;
  const pm = kind === "cmd" && text.match(/^\/msg (\S+) (.*)$/);
  if (pm) shown = "> to " + (st.names.get(pm[1]) || pm[1]) + " alone: " + pm[2];
  item.el = line("me " + kind, kind === "cmd" ? "" : room, shown, { tag: " " });
  item.el.querySelector(".tag").onclick = () => { if (item.state === "unsent") { reconnectNow(); } };
  st.outbox.push(item);
  if (st.ready) transmit(item); else setState(item, "unsent");
  if (kind === "cmd" && /^\/quit\b/.test(text)) st.quit = true;
}

function transmit(item) {
  setState(item, "pending");
  item.sentAt = Date.now();
  const m = item.kind === "cmd"
    ? { event: "cmd", seq: item.cid, text: item.text }
    : { event: "send", seq: item.cid, room: item.room, text: item.text };
  try { st.conn.send(m); } catch (e) { setState(item, "unsent"); }
}

function acked(m) {
  const i = st.outbox.findIndex((it) => it.cid === m.seq);
  if (i < 0) return;
  const item = st.outbox[i];
  st.outbox.splice(i, 1);
  setState(item, "delivered");
  let info = {};
  try { info = JSON.parse(m.text || "{}"); } catch (e) { /* keep {} */ }
  if (item.kind === "send" && info.hub_seq) {
    see(info.hub_seq);
    // A resent message whose first ack was lost may have come back in the
    // replay, shown as someone's: keep only this line.
    const dup = document.querySelector('#log [data-seq="' + info.hub_seq + '"]');
    if (dup) dup.remove();
  }
  if (item.kind === "cmd" && info.server) applyState(info);
}

// see records a hub message number; false when it was shown already.
function see(seq) {
  if (!seq) return true;
  if (st.seen.has(seq)) return false;
  st.seen.add(seq);
  if (seq > st.lastSeq) st.lastSeq = seq;
  return true;
}

// A message not acked a few seconds after it went out (the server dropped it
// as a flood, say) goes out again: the server keeps each id once.
setInterval(() => {
  if (!st.ready) return;
  for (const it of st.outbox) {
    if (it.state === "pending" && Date.now() - it.sentAt > 4000) transmit(it);
  }
}, 1000);

// --- what the server says ---

function onMessage(m) {
  switch (m.event) {
    case "chat": {
      if (!see(m.seq)) return;
      const d = line("chat", m.room, m.text || "", { sentNs: m.sent_ns, tag: st.replaying ? "(missed while away)" : "" });
      if (m.seq) d.dataset.seq = m.seq;
      if (m.room === st.id) d.classList.add("private");
      break;
    }
    case "ack": acked(m); break;
    case "state": applyState(JSON.parse(m.text || "{}"), true); break;
    case "members": setMembers(m.room, JSON.parse(m.text || "[]")); break;
    case "resumed": {
      st.replaying = false;
      const r = JSON.parse(m.text || "{}");
      if (r.restarted) notice("* the server was restarted: messages sent to it before the restart are gone");
      if (r.replayed) notice("* caught up: " + r.replayed + " message" + (r.replayed === 1 ? "" : "s") + " your rooms missed" +
        (r.dropped ? " (" + r.dropped + " older ones not kept)" : ""));
      ready();
      break;
    }
    case "join": case "leave": case "nick":
      see(m.seq);
      line("notice", m.room, "* " + (m.text || ""));
      refreshMembers();
      break;
    case "welcome": break; // the page shows its own status instead
    case "error": line("error", "", "! " + (m.text || "")); break;
    case "bye": line("error", "", "! " + (m.text || "")); break;
    case "":
    case undefined: line("chat", "", m.text || ""); break;
    default: line("notice", m.room, m.text || "");
  }
}

// applyState takes the server's word on this page's name and rooms; after a
// reconnect (keep) the page keeps its current room if it is still in it.
function applyState(s, keep) {
  if (!s.server) return;
  if (s.server !== st.server) { st.server = s.server; st.seen.clear(); st.lastSeq = s.hub_seq || 0; }
  st.id = s.id;
  st.name = s.name;
  st.rooms = s.rooms || [];
  if (s.room && !(keep && st.rooms.includes(st.current))) st.current = s.room;
  if (!st.rooms.includes(st.current)) st.current = st.rooms[0] || "";
  $("name").value = s.name;
  document.body.dataset.room = st.current;
  document.body.dataset.rooms = st.rooms.join(",");
  $("me").textContent = s.name + " in " + (st.current || "no room");
  drawRooms();
  refreshMembers();
}

function drawRooms() {
  const ul = $("rooms");
  ul.textContent = "";
  for (const r of st.rooms) {
    const li = document.createElement("li");
    li.dataset.room = r;
    if (r === st.current) li.className = "current";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "pick";
    b.textContent = r;
    b.title = "make " + r + " the room your messages go to";
    b.onclick = () => { st.current = r; document.body.dataset.room = r; $("me").textContent = st.name + " in " + r; drawRooms(); refreshMembers(); };
    const x = document.createElement("button");
    x.type = "button";
    x.className = "leave";
    x.textContent = "×";
    x.title = "leave " + r;
    x.onclick = () => submit("cmd", "/leave " + r);
    li.append(b, x);
    ul.appendChild(li);
  }
}

function refreshMembers() {
  if (st.ready && st.current) st.conn.send({ event: "members", room: st.current });
}
setInterval(refreshMembers, 5000); // lobby comings and goings are not announced

function setMembers(room, list) {
  st.members.set(room, list);
  for (const m of list) st.names.set(m.id, m.name);
  if (room !== st.current) return;
  $("members-title").textContent = "in " + room + " (" + list.length + ")";
  const ul = $("members");
  ul.textContent = "";
  for (const m of list) {
    const li = document.createElement("li");
    li.textContent = m.name + (m.id === st.id ? " (you)" : "");
    li.title = "via " + m.door + "; click to write to " + m.name + " alone";
    if (m.id !== st.id) li.onclick = () => { $("text").value = "/msg " + m.id + " "; $("text").focus(); };
    const d = document.createElement("span");
    d.className = "door";
    d.textContent = " " + m.door;
    li.appendChild(d);
    ul.appendChild(li);
  }
}

// --- connecting, and coming back ---

function decode(s) {
  if (s.trimStart().startsWith("{")) {
    try { return JSON.parse(s); } catch (e) { /* fall through: plain text */ }
  }
  return { text: s };
}

function connectWS(onOpen, onClose) {
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
  let done = false;
  ws.onopen = () => onOpen("WebSocket");
  ws.onmessage = (e) => onMessage(decode(e.data));
  ws.onclose = (e) => { if (!done) { done = true; onClose("closed (" + e.code + (e.reason ? " " + e.reason : "") + ")"); } };
  return {
    send: (o) => { if (ws.readyState !== WebSocket.OPEN) throw new Error("not open"); ws.send(JSON.stringify(o)); },
    close: () => ws.close(),
  };
}

// HTTP long polling (transport/httppoll's protocol):
//   POST /poll/session                   -> 201 "SID"
//   POST /poll?sid=SID  body: one message per line
//   GET  /poll?sid=SID&after=N&wait=25s  -> 200 lines (X-Netlab-Last: last number) or 204
//   DELETE /poll?sid=SID
function connectPoll(onOpen, onClose) {
  let sid = "", closed = false, after = 0, sending = false;
  const queue = [];
  const fail = (why) => { if (!closed) { closed = true; onClose(why); } };
  async function flush() {
    if (sending || !sid || closed || queue.length === 0) return;
    sending = true;
    const batch = queue.splice(0);
    try {
      const r = await fetch("/poll?sid=" + encodeURIComponent(sid), {
        method: "POST", headers: { "Content-Type": "application/x-ndjson" },
        body: batch.map((o) => JSON.stringify(o)).join("\n") + "\n",
      });
      if (!r.ok) throw new Error("send: HTTP " + r.status);
    } catch (e) { sending = false; fail("closed (" + e.message + ")"); return; }
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
        for (const l of body.split("\n")) {
          if (l) onMessage(decode(l));
        }
      }
    } catch (e) { fail("closed (" + e.message + ")"); }
  }
  window.addEventListener("pagehide", () => {
    if (sid) fetch("/poll?sid=" + encodeURIComponent(sid), { method: "DELETE", keepalive: true });
  });
  loop();
  return {
    send: (o) => { if (closed) throw new Error("closed"); queue.push(o); flush(); },
    close: () => { closed = true; },
  };
}

let retryTimer = null;

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  const via = params.get("via") || (window.WebSocket ? "ws" : "poll");
  $("via").value = via;
  status("connecting…", "connecting");
  const opened = (how) => {
    st.how = how;
    status("connected via " + how + ", rejoining…", "rejoining");
    // Rejoin: name, rooms, then catch up, then what was not acked.
    const c = st.conn;
    if (st.name) c.send({ event: "nick", text: st.name });
    for (const r of st.rooms) if (r !== "lobby") c.send({ event: "join", room: r });
    if (!st.rooms.includes("lobby")) c.send({ event: "leave", room: "lobby" });
    st.replaying = true;
    // state first: its answer (the server's id) comes before the replay.
    c.send({ event: "state" });
    c.send({ event: "resume", seq: st.lastSeq, text: st.server });
  };
  const closed = (why) => {
    st.ready = false;
    st.conn = null;
    document.body.dataset.connected = "";
    if (st.quit) { // the server said bye to /quit: that command did its work
      st.outbox = st.outbox.filter((it) => {
        if (it.kind === "cmd" && /^\/quit\b/.test(it.text)) { setState(it, "delivered"); return false; }
        return true;
      });
    }
    for (const it of st.outbox) setState(it, "unsent");
    if (st.quit) { status(why + "; you quit (reload the page to come back)", "closed"); return; }
    // Backoff: 0.5 s, 1 s, 2 s ... up to 10 s, each ±25 % so a classroom of
    // pages does not come back in one burst after a restart.
    const base = Math.min(10000, 500 * 2 ** st.attempt++);
    const wait = Math.round(base * (0.75 + Math.random() / 2));
    status(why + "; reconnecting in " + (wait / 1000).toFixed(1) + " s (attempt " + st.attempt + ")", "reconnecting");
    retryTimer = setTimeout(connect, wait);
  };
  st.conn = via === "poll" ? connectPoll(opened, closed)
    : via === "sse" && window.connectSSE ? connectSSE(opened, closed) // sse.js
    : connectWS(opened, closed);
}

function reconnectNow() {
  if (retryTimer) connect();
}

// ready runs once the server has answered the rejoin: send the outbox.
function ready() {
  st.ready = true;
  st.attempt = 0;
  document.body.dataset.connected = "1";
  status("connected via " + st.how, "connected");
  for (const it of st.outbox) transmit(it);
}

function status(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

// --- the forms ---

$("who").onsubmit = (e) => {
  e.preventDefault();
  const name = $("name").value.trim();
  if (name && name !== st.name) submit("cmd", "/nick " + name);
  const room = $("room").value.trim();
  if (room) submit("cmd", "/join " + room); // the same rule as nc's /join
};

$("via").onchange = () => {
  params.set("via", $("via").value);
  location.search = params.toString();
};

$("say").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  if (text.startsWith("/")) submit("cmd", text.trim());
  else if (!st.current) line("error", "", "! you are in no room: join one first");
  else submit("send", text, st.current);
  $("text").value = "";
};

st.name = params.get("name") || "";
$("name").value = st.name;
const startRoom = params.get("room") || "lobby";
$("room").value = startRoom;
if (startRoom !== "lobby") { st.rooms = ["lobby", startRoom]; st.current = startRoom; }
$("latency").checked = params.get("latency") === "1";
connect();
