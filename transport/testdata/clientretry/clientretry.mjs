// clientretry.mjs runs statecast's client.js, as the server serves it at
// /client.js, under Node (with the ws package's WebSocket) through one
// scenario of transient trouble or of a refusal that must stop it:
//
//   restart     the client connects and writes; the test stops the server
//               and starts it again on the same address and data; the
//               client reconnects by itself, keeps its id, and a message
//               queued while the server was down is applied once
//   refusals    the server refuses the first `connecting`s and the first
//               attempts of a write with transient codes; the client gets
//               connected and its message applied once, without an
//               onError call
//   ratelimit   the server's per-socket rate limit is tiny; a burst of
//               writes is refused, re-sent and applied once each, and the
//               socket is never closed for being refused too often
//   handshake   the first handshakes are refused with HTTP 503 and
//               Retry-After; the client waits for it, then connects
//   stop        the server refuses the client for good (a token error, or
//               close 1008); the client stops, says why, and opens no
//               other socket
//
// Usage: node clientretry.mjs SCENARIO http://HOST:PORT ws://HOST:PORT/chat/ROOM [--timeout-ms MS] [--token T]
//
// It writes JSON lines to stdout: {"step": ...} when it waits for the test
// (the test answers nothing; it acts on the server), then the summary with
// "ok": true, and exits 0. A failed expectation exits 1, an uncaught
// exception 2, the global timeout 3.

import { WebSocket } from 'ws';

const opts = { timeoutMs: 20000, token: undefined, args: [] };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--timeout-ms') opts.timeoutMs = Number(argv[++i]);
    else if (argv[i] === '--token') opts.token = argv[++i];
    else opts.args.push(argv[i]);
  }
}
const [scenario, httpURL, wsURL] = opts.args;
if (!scenario || !httpURL || !wsURL) {
  process.stderr.write('usage: node clientretry.mjs SCENARIO http://HOST:PORT ws://HOST:PORT/chat/ROOM\n');
  process.exit(64);
}

let step = 'start';
const fail = (msg) => {
  process.stderr.write(`clientretry ${scenario}: FAIL at step "${step}": ${msg}\n`);
  process.exit(1);
};
process.on('uncaughtException', (err) => {
  process.stderr.write(`clientretry ${scenario}: FAIL at step "${step}": ${(err && err.stack) || err}\n`);
  process.exit(2);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`clientretry ${scenario}: FAIL at step "${step}": ${(err && err.stack) || err}\n`);
  process.exit(2);
});
setTimeout(() => {
  process.stderr.write(`clientretry ${scenario}: FAIL at step "${step}": global timeout of ${opts.timeoutMs} ms\n`);
  process.exit(3);
}, opts.timeoutMs).unref();
console.log = (...args) => console.error(...args);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const show = (v) => JSON.stringify(v);
const expect = (ok, msg) => ok || fail(msg);
const say = (v) => process.stdout.write(JSON.stringify(v) + '\n');

async function waitFor(what, pred, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}: ${show(seen())}`);
    await sleep(5);
  }
}

step = 'load client.js';
const res = await fetch(new URL('/client.js', httpURL));
expect(res.ok, `GET /client.js: ${res.status}`);
const { createClient } = await import('data:text/javascript;charset=utf-8,' + encodeURIComponent(await res.text()));

// ws's WebSocket, counting sockets and frames by event.
const sockets = [];
const frames = {};
class Tracked extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    sockets.push(this);
    this.on('message', (data) => {
      const ev = JSON.parse(String(data)).event;
      frames[ev] = (frames[ev] || 0) + 1;
    });
  }
}

// The client, and every status and reason it goes through, in order.
const errors = [];
const statuses = [];
const reasons = [];
const client = createClient({
  url: wsURL,
  username: scenario,
  WebSocket: Tracked,
  minDelayMs: 50,
  maxDelayMs: 500,
  token: opts.token,
  id: opts.token ? 'u-' + scenario : undefined,
  storage: { getItem: () => null, setItem() {}, removeItem() {} },
  onError: (e) => errors.push(e),
});
const at = Date.now();
const track = () => {
  if (statuses.at(-1) !== client.status) statuses.push(client.status);
  const e = client.connectionError;
  if (e && e !== reasons.at(-1)?.error) reasons.push({ error: e, status: client.status, atMs: Date.now() - at });
};
client.subscribe(track);
track();
const seen = () => ({ status: client.status, statuses, reasons, errors, frames, sockets: sockets.length, pending: client.pending });
const texts = () => client.getState().messages.map((m) => m.message);
const once = (text) => texts().filter((t) => t === text).length === 1;

async function connected(what) {
  await waitFor(what, () => client.status === 'connected' && client.getState().isConnected);
  expect(!('connectionError' in client.getState()), `connected with a connectionError: ${show(client.getState())}`);
}

const scenarios = {
  async restart() {
    await connected('the first connect');
    client.send('before the restart');
    await waitFor('the first message', () => client.pending.length === 0 && once('before the restart'));
    const id = client.id;
    say({ step: 'connected', id });
    step = 'server stopped';
    await waitFor('the client to notice', () => client.status === 'reconnecting', 15000);
    const dropped = client.getState();
    expect(!dropped.isConnected && dropped.connectionError, `state while reconnecting: ${show(dropped)}`);
    client.send('queued while down');
    step = 'server restarted';
    await connected('the reconnect');
    await waitFor('the queued message', () => client.pending.length === 0 && once('queued while down'));
    expect(client.id === id, `id ${client.id} after the restart, want ${id}`);
    return { id };
  },

  async refusals() {
    await connected('the connect, after the refusals');
    client.send('refused thrice');
    await waitFor('the refused message', () => client.pending.length === 0 && once('refused thrice'));
    await sleep(100);
    expect(once('refused thrice'), `messages ${show(texts())}`);
    return {};
  },

  async ratelimit() {
    await connected('the connect');
    const burst = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
    for (const text of burst) client.send(text);
    await waitFor('the burst', () => client.pending.length === 0 && burst.every(once), 15000);
    expect(client.status === 'connected' && sockets.length === 1, `reconnected: ${show(seen())}`);
    return {};
  },

  async handshake() {
    await connected('the connect, after the refused handshakes');
    return {};
  },

  async stop() {
    await waitFor('the client to stop', () => client.status === 'stopped');
    const st = client.getState();
    expect(st.connectionError === client.connectionError && !st.isConnected, `state ${show(st)}`);
    const n = sockets.length;
    await sleep(800); // 16 times the first backoff
    expect(sockets.length === n && client.status === 'stopped', `the client tried again: ${show(seen())}`);
    return {};
  },
};

step = scenario;
const run = scenarios[scenario];
if (!run) fail(`unknown scenario ${scenario}`);
const extra = await run();
client.close();
say({ ok: true, ...extra, ...seen() });
await sleep(20);
process.exit(0);
