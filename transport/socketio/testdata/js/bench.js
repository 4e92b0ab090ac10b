// bench.js URL N [TRANSPORTS]: N ack round trips (emit "echo" with an ack)
// from the real socket.io-client, after 200 warm-up ones; prints
// {"n":N,"p50_us":...,"p99_us":...}.
const { io } = require("socket.io-client");
const [url, n = "2000", transports = "websocket"] = process.argv.slice(2);
const s = io(url, { transports: transports.split(","), forceNew: true });
s.on("connect", async () => {
  const rtt = [];
  for (let i = 0; i < 200 + Number(n); i++) {
    const t0 = process.hrtime.bigint();
    await s.emitWithAck("echo", "ping " + i);
    if (i >= 200) rtt.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  rtt.sort((a, b) => a - b);
  const p = (q) => rtt[Math.min(rtt.length - 1, Math.floor((q / 100) * rtt.length))];
  console.log(JSON.stringify({ n: rtt.length, p50_us: p(50), p99_us: p(99) }));
  s.close();
  process.exit(0);
});
setTimeout(() => { console.error("bench: timeout"); process.exit(1); }, 60000);
