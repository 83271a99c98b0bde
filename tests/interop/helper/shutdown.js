// The helper's shutdown() seen by the official socket.io-client 4.8: two clients
// authenticate and the script prints READY; the Rust side then shuts the helper down and
// both clients must be disconnected by the server. argv[2]: server URL, argv[3]: transports.
'use strict';
const { io } = require('socket.io-client');

const url = process.argv[2];
const transports = (process.argv[3] || 'polling,websocket').split(',');
setTimeout(() => fail('timed out'), 40000).unref();

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function client() {
  const s = io(url, { reconnection: false, forceNew: true, transports, auth: { token: 'good' } });
  const authenticated = new Promise((resolve) => s.once('authenticated', resolve));
  const gone = new Promise((resolve) => s.once('disconnect', resolve));
  s.emit('authenticate');
  return { s, authenticated, gone };
}

async function main() {
  const clients = [client(), client()];
  await Promise.all(clients.map((c) => c.authenticated));
  console.log('READY');
  const reasons = await Promise.all(clients.map((c) => c.gone));
  for (const r of reasons) {
    if (!['io server disconnect', 'transport close', 'transport error'].includes(r)) fail(`reason ${r}`);
  }
  console.log(`OK ${JSON.stringify({ reasons })}`);
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
