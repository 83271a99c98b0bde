// Shared helpers of the scripts that drive sio-server with the official socket.io-client.
// Each script takes the server URL as argv[2], prints what it checked, and exits 0 only
// when every check passed (1 with a message otherwise).
'use strict';
const { io } = require('socket.io-client');

const url = process.argv[2];
if (!url) {
  console.error('usage: node <script> <url>');
  process.exit(2);
}

// A guard against hanging forever, not a speed requirement.
const PATIENCE_MS = 30000;
const guard = setTimeout(() => fail('timed out'), PATIENCE_MS * 2);
guard.unref();

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

function connect(path, opts = {}) {
  return io(url + (path || ''), { reconnection: false, forceNew: true, ...opts });
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

function emitAck(socket, event, ...args) {
  return socket.timeout(PATIENCE_MS).emitWithAck(event, ...args);
}

function done(summary) {
  console.log(`OK ${JSON.stringify(summary ?? {})}`);
  process.exit(0);
}

function run(main) {
  main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
}

module.exports = { url, fail, check, connect, once, emitAck, done, run };
