// The admin UI on a mixed cluster: argv <sio-url> <node-url>, a sio server and a Node
// server (node-server.js) on one Redis adapter, both instrumented. An admin page on each
// must see both servers' stats and sockets, hear of sockets connecting on the other, and
// act on the other's sockets.
'use strict';
const { run, done } = require('../server/lib');
const { admin, connect, check, once } = require('./lib');

const [sioUrl, nodeUrl] = process.argv.slice(2);
// Progress on stderr, so a failure says how far it got.
const step = (what) => console.error(`cluster: ${what}`);

run(async () => {
  const onSio = connect('/', { transports: ['websocket'] });
  await once(onSio, 'connect');
  step('a client on the sio server');
  const io = require('socket.io-client').io;
  const onNode = io(nodeUrl + '/', { reconnection: false, forceNew: true, transports: ['websocket'] });
  await once(onNode, 'connect');
  step('a client on the Node server');

  const pages = { sio: admin(sioUrl, {}), node: admin(nodeUrl, {}) };
  for (const [name, page] of Object.entries(pages)) {
    if (!page.connected) await once(page, 'connect');
    step(`${name} page connected`);
    for (const id of ['sio-peer', 'node-peer']) {
      await page.waitFor('server_stats', (s) => s.serverId === id, `${name} page: stats of ${id}`);
    }
    const [all] = await page.waitFor('all_sockets');
    for (const [where, c] of [['sio', onSio], ['node', onNode]]) {
      const s = all.find((x) => x.id === c.id);
      check(s, `${name} page: all_sockets lacks the socket on ${where}: ${JSON.stringify(all.map((x) => x.id))}`);
      check(s.transport === 'websocket' && typeof s.clientId === 'string' && s.clientId.length === 12, `${name} page: ${where} socket ${JSON.stringify(s)}`);
      check(!('_admin' in s.data), `${name} page: _admin left in data`);
    }
  }

  // Live notifications cross the cluster both ways.
  const late = connect('/', { transports: ['websocket'] });
  await once(late, 'connect');
  await pages.node.waitFor('socket_connected', (s) => s.id === late.id, 'node page: socket_connected of a sio socket');
  const lateNode = io(nodeUrl + '/', { reconnection: false, forceNew: true, transports: ['websocket'] });
  await once(lateNode, 'connect');
  await pages.sio.waitFor('socket_connected', (s) => s.id === lateNode.id, 'sio page: socket_connected of a Node socket');

  // Actions from each page reach the other server's sockets.
  const lateId = late.id; // socket.io-client forgets it on disconnect
  const gone = once(late, 'disconnect');
  pages.node.emit('_disconnect', '/', false, lateId);
  check((await gone)[0] === 'io server disconnect', 'node page disconnected a sio socket');
  await pages.node.waitFor('socket_disconnected', (n, id) => id === lateId, 'node page: socket_disconnected of the sio socket');
  const hello = once(lateNode, 'hello');
  pages.sio.emit('emit', '/', lateNode.id, 'hello', 'from-sio-page');
  check((await hello)[0] === 'from-sio-page', 'sio page emitted to a Node socket');

  for (const c of [onSio, onNode, lateNode, pages.sio, pages.node]) c.close();
  done({ ok: true });
});
