'use strict';
// The calls only a persisted store serves (setDurable, checkpoint, backup) on a store opened
// without `persist`: their arguments are checked first, as on any store (TypeError / RangeError,
// ERR_INVALID_ARG), and only good arguments meet the state error, ShmError ERR_NOT_PERSISTED,
// with nothing written (docs/api.md).
const assert = require('assert');
const os = require('os');
const path = require('path');
const fs = require('fs');
const { Store } = require('../../lib/persist/store');
const { STATUS } = require('../../lib/base/status');

describe('Persistence: the durability calls on a store without persist', () => {
  let s;
  beforeEach(() => {
    s = Store.create({ buffer: new SharedArrayBuffer(1 << 22) });
  });
  afterEach(() => {
    if (!s.closed) s.close();
  });

  it('setDurable rejects a bad argument with TypeError or RangeError, before the state', async () => {
    await assert.rejects(s.setDurable('n', 42, 1), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    await assert.rejects(s.setDurable(7, 'k', 1), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    await assert.rejects(s.setDurable('n', 'k', undefined), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    await assert.rejects(s.setDurable('n', 'k', () => 1), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    await assert.rejects(s.setDurable('n', 'k', 1, 'soon'), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    await assert.rejects(s.setDurable('n', 'k', 1, { ttl: -1 }), { name: 'RangeError', code: 'ERR_INVALID_ARG' });
    await assert.rejects(s.setDurable('n', 'k', 1, { tll: 5 }), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.strictEqual(s.has('n', 'k'), false);
  });

  it('setDurable with good arguments rejects with ShmError ERR_NOT_PERSISTED and writes nothing; it never throws', async () => {
    let p;
    assert.doesNotThrow(() => { p = s.setDurable('n', 'k', { a: 1 }, { ttl: 1000 }); });
    await assert.rejects(p, (err) => {
      assert.strictEqual(err.name, 'ShmError');
      assert.strictEqual(err.code, 'ERR_NOT_PERSISTED');
      assert.ok(!(err instanceof TypeError) && !(err instanceof RangeError));
      assert.match(err.message, /setDurable\(\) needs a store opened with "persist"/);
      return true;
    });
    assert.strictEqual(s.has('n', 'k'), false);
    assert.strictEqual(STATUS.ERR_NOT_PERSISTED, 48);
  });

  it('checkpoint and backup throw ERR_NOT_PERSISTED; backup checks its directory first', () => {
    assert.throws(() => s.checkpoint(), { name: 'ShmError', code: 'ERR_NOT_PERSISTED' });
    assert.throws(() => s.backup(5), { name: 'TypeError', code: 'ERR_INVALID_ARG' });
    assert.throws(() => s.backup(''), { code: 'ERR_INVALID_ARG' });
    const dir = path.join(os.tmpdir(), `shmstore-notpersisted-${process.pid}`);
    assert.throws(() => s.backup(dir), { name: 'ShmError', code: 'ERR_NOT_PERSISTED' });
    assert.ok(!fs.existsSync(dir), 'nothing created');
  });

  it('a closed handle is ERR_CLOSED first, as for every call', async () => {
    s.close();
    await assert.rejects(s.setDurable('n', 42, 1), { code: 'ERR_CLOSED' });
    assert.throws(() => s.checkpoint(), { code: 'ERR_CLOSED' });
    assert.throws(() => s.backup(5), { code: 'ERR_CLOSED' });
  });
});
