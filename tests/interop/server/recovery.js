// Connection state recovery: connect, join a room, receive one event (so the client has an
// offset), ask the server to broadcast two packets to the room as soon as this socket is
// gone, force-close the transport, and check that the reconnected socket is `recovered`,
// has the same id, gets the missed packets in order, and is still in its room.
'use strict';
const { io } = require('socket.io-client');
const { url, check, once, emitAck, done, run } = require('./lib');

run(async () => {
  const room = `rec-${process.pid}`;
  const socket = io(url, { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200 });
  const got = [];
  socket.on('tag', (t) => got.push(t));
  await once(socket, 'connect');
  check(socket.recovered === false, 'first connection is not recovered');
  const firstId = socket.id;
  await emitAck(socket, 'join', room);
  const firstTag = once(socket, 'tag');
  await emitAck(socket, 'bcast', { to: [room], tag: 'before' });
  await firstTag;
  await emitAck(socket, 'on-disconnect-bcast', { to: [room], tags: ['missed-1', 'missed-2'] });

  const reconnected = once(socket, 'connect');
  socket.io.engine.close();
  await reconnected;
  check(socket.recovered === true, 'reconnection is recovered');
  check(socket.id === firstId, `same id after recovery (${socket.id} vs ${firstId})`);
  const server = await emitAck(socket, 'whoami');
  check(server.recovered === true && server.rooms.includes(room), `server view ${JSON.stringify(server)}`);
  const after = once(socket, 'end');
  await emitAck(socket, 'bcast', { to: [room], tag: 'after' });
  await emitAck(socket, 'bcast', { to: [room], event: 'end', tag: 'end' });
  await after;
  check(JSON.stringify(got) === JSON.stringify(['before', 'missed-1', 'missed-2', 'after']), `tags ${JSON.stringify(got)}`);
  socket.disconnect();
  done({ got });
});
