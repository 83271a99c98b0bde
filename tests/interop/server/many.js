// argv[3] clients (default 1000) connected at once, all in one room; one room broadcast;
// every client must receive it exactly once (a final `end` marks the end of the stream).
'use strict';
const { check, connect, once, emitAck, done, run } = require('./lib');

const N = Number(process.argv[3] || 1000);

run(async () => {
  const room = `many-${process.pid}`;
  const clients = [];
  const counts = new Array(N).fill(0);
  const connected = [];
  for (let i = 0; i < N; i++) {
    const s = connect('/', { transports: ['websocket'] });
    s.on('tag', () => counts[i]++);
    clients.push(s);
    connected.push(once(s, 'connect'));
  }
  await Promise.all(connected);
  await Promise.all(clients.map((s) => emitAck(s, 'join', room)));
  const ends = clients.map((s) => once(s, 'end'));
  const res = await emitAck(clients[0], 'bcast', { to: [room], tag: 'once', countRoom: true });
  check(res.members === N, `room has ${res.members} members, want ${N}`);
  await emitAck(clients[0], 'bcast', { to: [room], event: 'end', tag: 'end' });
  await Promise.all(ends);
  const wrong = counts.map((c, i) => [i, c]).filter(([, c]) => c !== 1);
  check(wrong.length === 0, `clients not receiving exactly once: ${JSON.stringify(wrong.slice(0, 10))}`);
  for (const s of clients) s.disconnect();
  done({ clients: N });
});
