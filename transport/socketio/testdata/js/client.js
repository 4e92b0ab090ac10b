// client.js URL: the real socket.io-client against a server with the chat
// lab's events (netlab socketio serve, or server.js). Prints one JSON line
// per check; the Go test reads them. Exits 1 on a failure or after 10 s.
const { io } = require("socket.io-client");
const url = process.argv[2];
const out = (o) => console.log(JSON.stringify(o));
const timer = setTimeout(() => { out({ check: "timeout" }); process.exit(1); }, 10000);
const once = (s, ev) => new Promise((res) => s.once(ev, res));
const connect = (opts) => {
  const s = io(url, { forceNew: true, reconnectionDelay: 100, ...opts });
  s.io.on("open", () => { if (!s.first) s.first = s.io.engine.transport.name; });
  return once(s, "connect").then(() => s);
};

(async () => {
  // 1. polling first, then the upgrade to websocket.
  const a = await connect();
  const first = a.first;
  const upgraded = await new Promise((res) => {
    if (a.io.engine.transport.name === "websocket") return res("websocket");
    a.io.engine.once("upgrade", (t) => res(t.name));
  });
  out({ check: "upgrade", first, upgraded, id: a.id });

  // 2. an ack.
  const t0 = process.hrtime.bigint();
  const echoed = await a.timeout(5000).emitWithAck("echo", "hello", 42);
  out({ check: "ack", echoed, us: Number(process.hrtime.bigint() - t0) / 1000 });

  // 3. a room broadcast reaches its members only (not the sender, not others).
  const b = await connect({ transports: ["websocket"] });
  const c = await connect({ transports: ["polling"] });
  const got = { a: [], b: [], c: [] };
  a.on("chat", (m) => got.a.push(m.text));
  b.on("chat", (m) => got.b.push(m.text));
  c.on("chat", (m) => got.c.push(m.text));
  const roomsA = await a.emitWithAck("join", "r1");
  await b.emitWithAck("join", "r1");
  a.emit("chat", "r1", "hi r1");
  await new Promise((r) => setTimeout(r, 300));
  out({ check: "room", roomsA, got });

  // 4. connection state recovery: d gets one broadcast (its offset), loses
  // its transport, misses a room message, comes back recovered.
  const d = await connect({ transports: ["websocket"] });
  await d.emitWithAck("join", "r2");
  const dgot = [];
  d.on("chat", (m) => dgot.push(m.text));
  a.emit("chat", "r2", "before");
  await new Promise((r) => setTimeout(r, 200));
  const idBefore = d.id;
  const gone = once(d, "disconnect");
  d.io.engine.close(); // the transport goes away; the client reconnects
  const reason = await gone;
  const back = once(d, "connect");
  a.emit("chat", "r2", "while away");
  await back;
  await new Promise((r) => setTimeout(r, 200));
  out({ check: "recovery", reason, recovered: d.recovered, sameId: d.id === idBefore, dgot, rooms: await d.timeout(2000).emitWithAck("rooms").catch((e) => String(e)) });

  for (const s of [a, b, c, d]) s.close();
  clearTimeout(timer);
})().catch((e) => { out({ check: "error", error: String(e) }); process.exit(1); });
