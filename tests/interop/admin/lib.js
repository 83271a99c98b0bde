// Shared helpers of the admin UI scripts: an admin client (socket.io-client 4.8 on the
// admin namespace, as the admin page connects) that records everything it is told, and
// waits for a recorded event matching a predicate.
'use strict';
const { check, connect, once, fail } = require('../server/lib');

// A guard against hanging forever, not a speed requirement.
const PATIENCE_MS = 30000;

// Connects to `path` (the admin namespace) and records every event.
function admin(base, auth, path = '/admin') {
  const { io } = require('socket.io-client');
  const socket = io(base + path, {
    reconnection: false,
    forceNew: true,
    transports: ['websocket'],
    auth,
  });
  const log = [];
  const waiters = [];
  socket.onAny((event, ...args) => {
    log.push({ event, args });
    for (const w of [...waiters]) {
      if (w.event === event && w.pred(...args)) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(args);
      }
    }
  });
  // The first recorded `event` whose arguments satisfy `pred`, past or future.
  socket.waitFor = (event, pred = () => true, what = event) => {
    const seen = log.find((e) => e.event === event && pred(...e.args));
    if (seen) return Promise.resolve(seen.args);
    return new Promise((resolve, reject) => {
      const w = { event, pred, resolve };
      w.timer = setTimeout(() => reject(new Error(`admin got no ${what} within ${PATIENCE_MS} ms; got ${JSON.stringify(log.map((e) => e.event))}`)), PATIENCE_MS);
      waiters.push(w);
    });
  };
  socket.log = log;
  socket.seen = (event) => log.filter((e) => e.event === event);
  return socket;
}

// Resolves with the connect_error, or fails when the connection is accepted.
async function refused(base, auth, path = '/admin') {
  const s = admin(base, auth, path);
  const err = await Promise.race([
    once(s, 'connect_error').then(([e]) => e),
    once(s, 'connect').then(() => null),
  ]);
  s.close();
  check(err !== null, `admin connection with ${JSON.stringify(auth)} was accepted`);
  return err;
}

const isDate = (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)) && v.endsWith('Z');

module.exports = { admin, refused, isDate, connect, check, once, fail };
