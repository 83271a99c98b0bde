// Rooms with to / except / local and socket.to (sender left out). Four clients:
// A in r1, B in r1 and r2, C in r2, D in none. Each broadcast has a tag; a final `done`
// to everyone marks the end (per-socket order is preserved), then each client's tags are
// compared with what it must have received, exactly.
'use strict';
const { check, connect, once, emitAck, done, run } = require('./lib');

const ROOM = (r) => `${r}-${process.pid}`;

run(async () => {
  const names = ['A', 'B', 'C', 'D'];
  const rooms = { A: ['r1'], B: ['r1', 'r2'], C: ['r2'], D: [] };
  const clients = {};
  const got = {};
  for (const n of names) {
    const s = connect('/', { transports: ['websocket'] });
    clients[n] = s;
    got[n] = [];
    s.on('tag', (t) => got[n].push(t));
    await once(s, 'connect');
    for (const r of rooms[n]) await emitAck(s, 'join', ROOM(r));
  }
  const bc = (from, spec) => emitAck(clients[from], 'bcast', spec);
  await bc('D', { to: [ROOM('r1')], tag: 't1' });
  await bc('D', { to: [ROOM('r1')], except: [ROOM('r2')], tag: 't2' });
  await bc('D', { to: [ROOM('r1'), ROOM('r2')], tag: 't3' });
  await bc('D', { to: [ROOM('r2')], local: true, tag: 't4' });
  await bc('A', { to: [ROOM('r1')], fromSocket: true, tag: 't5' });
  await bc('D', { except: [ROOM('r1')], tag: 't6' });
  await bc('D', { to: [ROOM('r2')], volatile: true, tag: 't7' });
  const finals = names.map((n) => once(clients[n], 'end'));
  await bc('D', { event: 'end', tag: 'end' });
  await Promise.all(finals);

  const want = {
    A: ['t1', 't2', 't3'],
    B: ['t1', 't3', 't4', 't5', 't7'],
    C: ['t3', 't4', 't6', 't7'],
    D: ['t6'],
  };
  for (const n of names) {
    check(JSON.stringify(got[n]) === JSON.stringify(want[n]), `${n} got ${JSON.stringify(got[n])}, want ${JSON.stringify(want[n])}`);
    clients[n].disconnect();
  }
  done(got);
});
