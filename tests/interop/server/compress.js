// The compress flag, both ways: the client emits with compress(true) and compress(false)
// (WebSocket with permessage-deflate offered by the client), and the server broadcasts
// with and without the flag. Every packet must arrive intact.
'use strict';
const { check, connect, once, emitAck, done, run } = require('./lib');

run(async () => {
  const socket = connect('/', { transports: ['websocket'], perMessageDeflate: { threshold: 0 } });
  await once(socket, 'connect');
  const big = 'x'.repeat(10000);
  for (const flag of [true, false]) {
    const back = once(socket, 'echo-back');
    socket.compress(flag).emit('echo', big, flag);
    const [text, f] = await back;
    check(text === big && f === flag, `echo with compress(${flag})`);
  }
  const room = `z-${process.pid}`;
  await emitAck(socket, 'join', room);
  const tags = [];
  socket.on('tag', (t) => tags.push(t));
  const end = once(socket, 'end');
  await emitAck(socket, 'bcast', { to: [room], compress: true, tag: 'compressed' });
  await emitAck(socket, 'bcast', { to: [room], compress: false, tag: 'plain' });
  await emitAck(socket, 'bcast', { to: [room], event: 'end', tag: 'end' });
  await end;
  check(JSON.stringify(tags) === JSON.stringify(['compressed', 'plain']), `tags ${JSON.stringify(tags)}`);
  socket.disconnect();
  done({ tags });
});
