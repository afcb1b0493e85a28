'use strict';
// Two lockAsync() calls of one handle that share one AbortSignal (docs/api.md, "Waiting without
// blocking"): the mutex unlocked in the tick the signal aborts is not taken by the second call,
// whose signal is already aborted when the first call's leaving serves it.
const assert = require('assert');
const { Mutex } = require('../..');

const turn = () => new Promise((resolve) => setImmediate(resolve));
const settled = (p) => p.then((v) => ({ v: v === undefined ? 'locked' : v }), (e) => ({ e: e.name }));

describe('lockAsync() calls that share one aborted signal', () => {
  it('take no lock: both reject, and the mutex stays free', async () => {
    const buffer = new SharedArrayBuffer(16384);
    const holder = Mutex.create({ buffer });
    const m = Mutex.open({ buffer });
    holder.lock();
    const ac = new AbortController();
    const a = settled(m.lockAsync(undefined, { signal: ac.signal }));
    const b = settled(m.lockAsync(undefined, { signal: ac.signal }));
    await turn();
    await turn();
    holder.unlock();
    ac.abort();
    assert.deepStrictEqual([await a, await b], [{ e: 'AbortError' }, { e: 'AbortError' }]);
    assert.strictEqual(m.held, false);
    assert.deepStrictEqual(holder.tryLock(), { recovered: false });
    holder.unlock();
    m.close();
    holder.close();
  });
});
