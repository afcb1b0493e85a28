'use strict';
// Every handle that claims an owner record releases it before it stops watching it (format.md
// §6, "Dead owners"): a worker terminated between the two then leaves a free record, never a
// claimed one that nobody watches (which would read as a live owner for as long as its process
// lives). Store handles of the pure-JS engine, the messaging structures and a persisted store's
// control segment; sync regions and pools have theirs in test/60-sync and test/75-pool.
const assert = require('assert');
const { Store, MpmcQueue, Stack, Broadcast } = require('../../index');
const { watchLog } = require('../helpers/watches');
const { persistTarget } = require('../helpers/persist');
const { addon } = require('../../lib/base/native');

// Watching needs the addon (it marks a record dead when its thread ends).
const describeWithAddon = addon ? describe : describe.skip;

// The pid each record held when it was unwatched: 0 for all of them.
const unwatchedPids = (log) => log.filter((e) => e.what === 'unwatch').map((e) => e.pid);

describeWithAddon('owner records: released before they are unwatched', () => {
  it('a store handle of the pure-JS engine', () => {
    const log = watchLog(() => Store.create({ buffer: new SharedArrayBuffer(1 << 20), engine: 'js' }).close());
    assert.deepStrictEqual(log.map((e) => [e.what, e.pid === 0]), [['watch', false], ['unwatch', true]]);
  });

  it('an MPMC queue, a stack, a broadcast channel and its subscriber', () => {
    const log = watchLog(() => {
      const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(8)), capacity: 8 });
      q.close();
      const s = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(8)), capacity: 8 });
      s.close();
      const b = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(8)), capacity: 8 });
      b.subscribe().close();
      b.subscribe(); // closed with its channel
      b.close();
    });
    // The queue, the stack, the channel and its two subscribers.
    assert.strictEqual(log.filter((e) => e.what === 'watch').length, 5);
    assert.deepStrictEqual(unwatchedPids(log), [0, 0, 0, 0, 0]);
  });

  it("a persisted store's control segment", () => {
    const t = persistTarget('order');
    try {
      const log = watchLog(() => Store.create({ name: t.name, size: 1 << 20, engine: 'js', persist: { dir: t.dir, sync: 'none' } }).close());
      assert.ok(log.length >= 4, JSON.stringify(log));
      assert.ok(unwatchedPids(log).every((pid) => pid === 0), JSON.stringify(log));
    } finally {
      t.cleanup();
    }
  });
});
