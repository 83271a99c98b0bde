// One client on the transports given in argv[3] ("polling", "websocket", or
// "polling,websocket" for an upgrade): JSON and Buffer arguments both ways, acks both ways.
// An optional argv[4] `msgpack` switches to socket.io-msgpack-parser.
'use strict';
const { check, connect, once, emitAck, done, run } = require('./lib');

const transports = (process.argv[3] || 'polling,websocket').split(',');
// argv[4] === 'msgpack': socket.io-msgpack-parser on both sides.
const parser = process.argv[4] === 'msgpack' ? require('socket.io-msgpack-parser') : undefined;
const expectUpgrade = transports.length > 1;

run(async () => {
  const socket = connect('/', { transports, upgrade: expectUpgrade, ...(parser ? { parser } : {}) });
  const [connectErr] = await Promise.race([once(socket, 'connect'), once(socket, 'connect_error')]);
  check(connectErr === undefined, `connect_error: ${connectErr && connectErr.message}`);

  if (expectUpgrade && socket.io.engine.transport.name !== 'websocket') {
    await once(socket.io.engine, 'upgrade');
  }
  const serverTransport = await emitAck(socket, 'transport');
  const want = expectUpgrade ? 'websocket' : transports[0];
  check(socket.io.engine.transport.name === want, `client transport ${socket.io.engine.transport.name}`);
  check(serverTransport === want, `server sees transport ${serverTransport}, want ${want}`);

  // JSON and Buffer, client -> server -> client.
  const json = { a: 1, b: [true, null, 'x'], nested: { k: 'v' } };
  const buf = Buffer.from([0, 1, 2, 254, 255]);
  socket.emit('echo', json, buf, 'text');
  const back = await once(socket, 'echo-back');
  check(JSON.stringify(back[0]) === JSON.stringify(json), `json echo ${JSON.stringify(back[0])}`);
  check(Buffer.isBuffer(back[1]) && back[1].equals(buf), `buffer echo ${back[1]}`);
  check(back[2] === 'text', 'string echo');

  // Client-side ack answered by the server, with binary inside an object.
  const acked = await emitAck(socket, 'echo', { file: Buffer.from('hello') }, 42);
  check(Buffer.isBuffer(acked.file) && acked.file.toString() === 'hello', 'ack with binary');

  // Server-side ack answered by the client: the server asks, we answer with JSON and
  // Buffer, the server reports what it got.
  socket.on('question', (q, qbuf, cb) => {
    check(q === 'how much?' && Buffer.isBuffer(qbuf) && qbuf.length === 3, 'question args');
    cb({ answer: 42 }, Buffer.from([9, 8, 7]));
  });
  const report = await emitAck(socket, 'ask-me');
  check(report.ok === true, `server-side ack: ${JSON.stringify(report)}`);
  check(report.answer === 42 && report.bytes === 3, `server-side ack args ${JSON.stringify(report)}`);

  socket.disconnect();
  done({ transport: want });
});
