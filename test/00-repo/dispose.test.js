'use strict';
// Every handle the package exports that has close() has [Symbol.dispose]() too (docs/api.md), so
// that `using` works with each of them alike, and it closes the handle.
const assert = require('assert');
const shm = require('../../index');

describe('exports: [Symbol.dispose] beside close()', () => {
  const closable = Object.entries(shm).filter(([, v]) => typeof v === 'function' && v.prototype && typeof v.prototype.close === 'function');

  it('Symbol.dispose exists in this runtime (Node 20 defines it)', () => {
    assert.strictEqual(typeof Symbol.dispose, 'symbol');
  });

  for (const [name, Class] of closable) {
    it(`${name}.prototype[Symbol.dispose] is a function`, () => {
      assert.strictEqual(typeof Class.prototype[Symbol.dispose], 'function', `${name} has close() but no [Symbol.dispose]()`);
    });
  }

  it('the list covers the store, the registry, the sync objects, the messaging structures and the pools', () => {
    const names = closable.map(([n]) => n);
    for (const n of ['Store', 'Segment', 'Registry', 'Mutex', 'RwLock', 'Condition', 'Semaphore', 'Barrier', 'WaitGroup', 'SpscRing',
      'MpmcQueue', 'Channel', 'Stack', 'PriorityQueue', 'Broadcast', 'Subscriber', 'BufferPool', 'ObjectPool', 'MemoryPool']) {
      assert.ok(names.includes(n), n);
    }
  });
});
