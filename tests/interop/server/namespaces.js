// Namespaces: `/` and `/custom` on one connection (multiplexed), an unknown namespace
// refused with "Invalid namespace", and a middleware refusal seen as connect_error with its
// message and data, then accepted with the right token.
'use strict';
const { io, Manager } = require('socket.io-client');
const { url, check, once, emitAck, done, run } = require('./lib');

run(async () => {
  const manager = new Manager(url, { reconnection: false, transports: ['websocket'] });
  const main = manager.socket('/');
  const custom = manager.socket('/custom');
  main.connect();
  custom.connect();
  await Promise.all([once(main, 'connect'), once(custom, 'connect')]);
  check(main.id !== custom.id, 'distinct socket ids per namespace');
  check((await emitAck(main, 'nsp')) === '/', 'main nsp');
  check((await emitAck(custom, 'nsp')) === '/custom', 'custom nsp');

  const unknown = manager.socket('/does-not-exist');
  unknown.connect();
  const [err] = await once(unknown, 'connect_error');
  check(err.message === 'Invalid namespace', `unknown namespace: ${err.message}`);

  const refused = io(url + '/private', { reconnection: false, forceNew: true, auth: { token: 'wrong' } });
  const [err2] = await once(refused, 'connect_error');
  check(err2.message === 'not authorized', `middleware message: ${err2.message}`);
  check(err2.data && err2.data.code === 403, `middleware data: ${JSON.stringify(err2.data)}`);
  refused.close();

  const allowed = io(url + '/private', { reconnection: false, forceNew: true, auth: { token: 'secret' } });
  await once(allowed, 'connect');
  check((await emitAck(allowed, 'nsp')) === '/private', 'private nsp');
  allowed.close();

  main.disconnect();
  custom.disconnect();
  done({});
});
