'use strict';
// A creator killed at a chosen step (test/55-persist/crash-create.test.js): the steps a store's
// creation takes that leave something on the disk or in shared memory are wrapped here, in the
// test, before the store's modules bind them, and each call counts two events (its start and its
// return). With `killAt` k the process kills itself with SIGKILL at event k; otherwise it prints
// { events } (how many there were) once the call is done. With `killAt` 'created' it kills itself
// right after the call returns, before any write.
//   argv[2]: JSON { how, name, dir, size, sync, from, killAt, engine?, eviction?, mode? }, how one of
//   'create', 'openOrCreate' (with persist), 'plainCreate', 'plainOpenOrCreate', 'restore' (of the
//   backup in `from`); engine, eviction and mode are passed to the call that takes them.
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..', '..', '..');
const { how, name, dir, size, sync, from, killAt, engine, eviction, mode } = JSON.parse(process.argv[2]);

let events = 0;
function event() {
  if (events++ === killAt) process.kill(process.pid, 'SIGKILL');
}
function wrap(obj, key) {
  const f = obj[key];
  obj[key] = function wrapped(...args) {
    event();
    const r = f.apply(this, args);
    event();
    return r;
  };
}

const { Segment } = require(path.join(root, 'lib/segment/segment'));
wrap(Segment, 'create');
wrap(Segment, 'unlink');
wrap(require(path.join(root, 'lib/persist/wal')), 'createLogFile');
const files = require(path.join(root, 'lib/persist/files'));
for (const k of ['writeSegmentLine', 'syncDir']) wrap(files, k);
const { Control } = require(path.join(root, 'lib/persist/control'));
for (const k of ['resetPositions', 'unlockRecovery', 'close']) wrap(Control.prototype, k);
wrap(fs, 'copyFileSync');
const { Store } = require(path.join(root, 'index.js'));

const persist = { dir, sync };
const given = { engine, eviction, mode };
let s;
if (how === 'create') s = Store.create({ name, size, ...given, persist });
else if (how === 'openOrCreate') s = Store.openOrCreate({ name, size, ...given, persist });
else if (how === 'plainCreate') s = Store.create({ name, size, ...given });
else if (how === 'plainOpenOrCreate') s = Store.openOrCreate({ name, size, ...given });
else if (how === 'restore') s = Store.restore(from, { name, dir, engine, mode });
else throw new Error(`unknown how ${how}`);
if (killAt === 'created') process.kill(process.pid, 'SIGKILL');
s.set('crash', 'creator', 1);
s.close();
console.log(JSON.stringify({ events }));
