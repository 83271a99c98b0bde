// socket.io-client 4.8 in one scenario, printing the events it saw as one JSON line:
// {"manager": [...], "socket": [...]}. sio-client's tests run the same scenario and
// compare (crates/sio-client/tests/parity.rs).
// Usage: node client/client-events.js <url> <scenario> <transports, comma-separated>
// Scenarios (against client/server.js):
//   kick    the server disconnects the socket            ends at the socket's disconnect
//   drop    the server closes the connection             ends at the second connect
//   die     the server process dies (SIGKILL)            ends when reconnection gives up
//   freeze  the server stops answering for 6 s           ends at the second connect
//   upgrade polling upgrades to websocket                ends at the upgrade
//   upgrade-refused  the upgrade fails (server.js with NO_UPGRADE=1)  ends at upgradeError
'use strict';
const { Manager } = require('socket.io-client');

const [url, scenario, transports] = process.argv.slice(2);
const manager = new Manager(url, {
  transports: transports.split(','),
  reconnectionDelay: 100,
  reconnectionDelayMax: 100,
  randomizationFactor: 0,
  reconnectionAttempts: 2,
  autoConnect: false,
});
const socket = manager.socket('/');
const out = { manager: [], socket: [] };
const m = (e) => out.manager.push(e);
const s = (e) => out.socket.push(e);
let connects = 0;

function finish() {
  console.log(JSON.stringify(out));
  process.exit(0);
}
// Reconnection is over once it gave up and every attempt has its outcome.
function settled() {
  const count = (p) => out.manager.filter((e) => e.startsWith(p)).length;
  return out.manager.includes('reconnect_failed') && count('reconnect_attempt') === count('reconnect_error');
}

manager.on('open', () => {
  m('open');
  manager.engine.on('upgrade', (t) => {
    m('upgrade:' + t.name);
    if (scenario === 'upgrade' && connects > 0) finish();
  });
  manager.engine.on('upgradeError', () => {
    m('upgradeError');
    if (scenario === 'upgrade-refused' && connects > 0) finish();
  });
});
manager.on('close', (reason) => m('close:' + reason));
manager.on('error', () => m('error'));
manager.on('reconnect_attempt', (n) => m('reconnect_attempt:' + n));
manager.on('reconnect', (n) => m('reconnect:' + n));
manager.on('reconnect_error', () => {
  m('reconnect_error');
  if (settled()) finish();
});
manager.on('reconnect_failed', () => {
  m('reconnect_failed');
  if (settled()) finish();
});
socket.on('connect_error', () => s('connect_error'));
socket.on('disconnect', (reason) => {
  s('disconnect:' + reason);
  if (scenario === 'kick') finish();
});
socket.on('connect', () => {
  s('connect');
  connects += 1;
  if (connects === 1) {
    if (scenario === 'kick') socket.emit('kick');
    if (scenario === 'drop') socket.emit('drop');
    if (scenario === 'die') socket.emit('die');
    if (scenario === 'freeze') socket.emit('freeze', 6000);
    if (scenario === 'upgrade' && out.manager.some((e) => e.startsWith('upgrade:'))) finish();
    if (scenario === 'upgrade-refused' && out.manager.includes('upgradeError')) finish();
  } else if (scenario === 'drop' || scenario === 'freeze') {
    finish();
  }
});
// A hang guard only: every scenario ends on an event long before.
setTimeout(() => {
  out.timeout = true;
  finish();
}, 30000);
socket.connect();
