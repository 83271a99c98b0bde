// The seed's server flow, driven with the official socket.io-client 4.8 against the Rust
// ServerHelper (crates/sio-server/tests/helper_node.rs starts it). argv[2]: server URL,
// argv[3]: transports ("polling,websocket" by default). The server's `ctl` event (an app
// handler, so authenticated clients only) lets the script ask for the registry entry of a
// socket and for `send`. Prints `OK {...}` and exits 0 only when every check passed.
'use strict';
const { io } = require('socket.io-client');

const url = process.argv[2];
const transports = (process.argv[3] || 'polling,websocket').split(',');
if (!url) {
  console.error('usage: node flow.js <url> [transports]');
  process.exit(2);
}
// A guard against hanging forever, not a speed requirement.
const PATIENCE_MS = 20000;
setTimeout(() => fail('timed out'), PATIENCE_MS * 2).unref();

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}
function connect(auth) {
  return io(url, { reconnection: false, forceNew: true, transports, auth });
}
function once(socket, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${PATIENCE_MS} ms`)), PATIENCE_MS);
    socket.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ack = (socket, ...args) => socket.timeout(PATIENCE_MS).emitWithAck(...args);
const sorted = (a) => [...a].sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function authenticated(auth) {
  const s = connect(auth);
  const pings = [];
  s.on('ping', (d) => pings.push(d));
  // Emitted before the connection is even open: socket.io-client sends it right after
  // CONNECT, and the helper must not lose it.
  s.emit('authenticate');
  const [data] = await once(s, 'authenticated');
  return { s, data, pings };
}

async function main() {
  const summary = {};

  console.error("step 1");
  // 1. authenticate -> ping, default rooms, authenticated {id, time}.
  const { s: a, data, pings } = await authenticated({ token: 'good' });
  check(data.id === a.id, `authenticated id ${data.id} != ${a.id}`);
  check(!Number.isNaN(Date.parse(data.time)) && data.time.endsWith('Z'), `time ${data.time}`);
  check(pings.length >= 1 && typeof pings[0].time === 'string', 'first ping before authenticated');
  let st = await ack(a, 'ctl', { op: 'client', id: a.id });
  check(st.state === 'authenticated', `state ${st.state}`);
  check(same(sorted(st.rooms), ['io-default', 'io-notification']), `rooms ${st.rooms}`);
  summary.authenticated = true;

  console.error("step 2");
  // 2. join / leave through validate_room (private-* refused).
  a.emit('join', { rooms: ['lobby', 'private-x'] });
  st = await ack(a, 'ctl', { op: 'client', id: a.id });
  check(same(sorted(st.rooms), ['io-default', 'io-notification', 'lobby']), `after join ${st.rooms}`);
  a.emit('leave', { rooms: ['lobby'] });
  st = await ack(a, 'ctl', { op: 'client', id: a.id });
  check(same(sorted(st.rooms), ['io-default', 'io-notification']), `after leave ${st.rooms}`);
  // Bad payloads are ignored, the connection kept.
  a.emit('join', 'lobby');
  a.emit('join', { rooms: 5 });
  a.emit('join', { rooms: [''] });
  a.emit('join', { rooms: ['x'.repeat(10000)] });
  a.emit('leave');
  st = await ack(a, 'ctl', { op: 'client', id: a.id });
  check(a.connected && same(sorted(st.rooms), ['io-default', 'io-notification']), `after bad ${st.rooms}`);
  summary.rooms = true;

  console.error("step 3");
  // 3. app handler with ack; send by id, room, everyone; no-op on falsy data.
  check(same(await ack(a, 'echo', { n: 1 }), { n: 1 }), 'echo ack');
  const news = [];
  a.on('news', (d) => news.push(d));
  a.emit('join', { rooms: ['lobby'] });
  await ack(a, 'ctl', { op: 'client', id: a.id });
  check(await ack(a, 'ctl', { op: 'send', destination: a.id, data: 'by-id' }), 'send by id');
  check(await ack(a, 'ctl', { op: 'send', destination: 'lobby', data: 'by-room' }), 'send by room');
  check(await ack(a, 'ctl', { op: 'send', destination: 'nobody-here', data: 'lost' }), 'send elsewhere');
  check(await ack(a, 'ctl', { op: 'send', data: 'everyone' }), 'send to all');
  check((await ack(a, 'ctl', { op: 'send', data: null })) === false, 'null data is a no-op');
  for (let i = 0; i < 100 && news.length < 3; i++) await sleep(20);
  await sleep(100);
  check(same(news, ['by-id', 'by-room', 'everyone']), `news ${JSON.stringify(news)}`);
  summary.send = true;

  console.error("step 4");
  // 4. the ping interval keeps going.
  const before = pings.length;
  for (let i = 0; i < 200 && pings.length < before + 2; i++) await sleep(20);
  check(pings.length >= before + 2, `pings ${pings.length}`);
  summary.pings = pings.length;

  console.error("step 5");
  // 5. a second authenticate is ignored.
  let again = 0;
  a.on('authenticated', () => again++);
  a.emit('authenticate');
  check(same(await ack(a, 'echo', 2), 2), 'echo after second authenticate');
  await sleep(200);
  check(again === 0, 'second authenticated');
  summary.secondIgnored = true;

  console.error("step 6");
  // 6. bad token: unauthenticated, then disconnected by the server.
  const b = connect({ token: 'bad' });
  const bGone = once(b, 'disconnect');
  b.emit('authenticate');
  const [un] = await once(b, 'unauthenticated');
  check(typeof un.message === 'string', 'unauthenticated message');
  const [reason] = await bGone;
  check(['io server disconnect', 'transport close'].includes(reason), `bad token reason ${reason}`);
  summary.unauthenticated = reason;

  console.error("step 7");
  // 7. never authenticating: events ignored, dropped at the auth timeout.
  const c = connect({ token: 'good' });
  await once(c, 'connect');
  let echoed = false;
  c.on('echo-back', () => (echoed = true));
  c.emit('echo', 'nope');
  const cGone = once(c, 'disconnect');
  c.emit('join', { rooms: ['lobby'] });
  const [why] = await cGone;
  check(['io server disconnect', 'transport close'].includes(why), `timeout reason ${why}`);
  check(!echoed, 'an unauthenticated event reached an app handler');
  summary.timeout = why;

  console.error("step 8");
  // 8. a server-side disconnect of an authenticated client.
  const aGone = once(a, 'disconnect');
  check(await ack(a, 'ctl', { op: 'disconnect', id: a.id }), 'disconnect ctl');
  const [gone] = await aGone;
  summary.disconnect = gone;

  done(summary);
}

function done(summary) {
  console.log(`OK ${JSON.stringify(summary)}`);
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
