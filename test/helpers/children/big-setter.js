'use strict';
// Sets one large value into a named store once every setter is ready (the room lease's test of
// writers in processes, test/50-store/eviction-lease.test.js): argv name, engine, the name of a
// segment whose word 0 counts the setters that are ready, how many there are, the key, the value's
// bytes. Prints "ok" or the error's code.
const { Store } = require('../../../lib/store/store');
const { Segment } = require('../../../lib/segment/segment');

const [name, engine, goName, parties, key, bytes] = process.argv.slice(2);
// A long lockTimeoutMs: the setter that waits for another's room lease gives up only after a
// quarter of it, and making room takes a while on a loaded machine.
const s = Store.open({ name, engine, lockTimeoutMs: 20000 });
const go = Segment.open({ name: goName });
const ready = new Int32Array(go.buffer, 0, 1);
Atomics.add(ready, 0, 1);
while (Atomics.load(ready, 0) < Number(parties));
let result = 'ok';
try {
  s.set('big', key, Buffer.alloc(Number(bytes), key.length));
} catch (err) {
  result = err.code || String(err);
}
s.close();
go.close();
process.stdout.write(result);
