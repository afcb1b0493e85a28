'use strict';
// The pending Promise-form waits of a handle (lib/segment/async-fifo.js), as every room's handles
// use them: when the handle can no longer wait, each pending call is rejected with an error of its
// own, equal in class, code and message, so that a caller that annotates its error changes nobody
// else's.
const assert = require('assert');
const { AsyncFifo } = require('../../lib/segment/async-fifo');
const { ShmError } = require('../../lib/base/errors');

const NONE = Symbol('none');

// A wait whose park rejects with `error()` once `fail` is called.
function failingWait(error) {
  let fail;
  const failed = new Promise((resolve, reject) => { fail = () => reject(error()); });
  failed.catch(() => {});
  return { wait: { prepare: () => undefined, park: () => failed }, fail: () => fail() };
}

function assertOwnErrors(errors, code, message) {
  assert.strictEqual(new Set(errors).size, errors.length, 'one error object per call');
  for (const e of errors) {
    assert.ok(e instanceof ShmError, 'the class is kept');
    assert.strictEqual(e.name, 'ShmError');
    assert.strictEqual(e.code, code);
    assert.strictEqual(e.status, 7);
    assert.strictEqual(e.message, message);
    assert.match(e.stack, new RegExp(`^ShmError: ${message}\\n    at `));
  }
  errors[0].note = 'annotated by its caller';
  errors[0].code = 'CHANGED';
  for (const e of errors.slice(1)) {
    assert.strictEqual(e.note, undefined);
    assert.strictEqual(e.code, code);
  }
}

describe('AsyncFifo: the pending calls a handle ends get an error each', () => {
  it('failAll(error): each pending call rejects with its own copy of the error', async () => {
    const f = new AsyncFifo(NONE, { prepare: () => undefined, park: () => new Promise(() => {}), unpark: () => {} });
    const pending = [1, 2, 3].map(() => f.run(() => NONE, Infinity).catch((e) => e));
    const one = new ShmError('ERR_CLOSED', 'The thing is closed', { status: 7, cause: 'why' });
    f.failAll(one);
    const errors = await Promise.all(pending);
    assert.ok(!errors.includes(one));
    for (const e of errors) assert.strictEqual(e.cause, 'why');
    assertOwnErrors(errors, 'ERR_CLOSED', 'The thing is closed');
    assert.strictEqual(one.code, 'ERR_CLOSED');
  });

  it('failAll(make): each pending call rejects with an error made for it', async () => {
    const f = new AsyncFifo(NONE, { prepare: () => undefined, park: () => new Promise(() => {}), unpark: () => {} });
    const pending = [1, 2, 3].map(() => f.run(() => NONE, Infinity).catch((e) => e));
    let made = 0;
    f.failAll(() => { made++; return new ShmError('ERR_CLOSED', 'The thing is closed', { status: 7 }); });
    const errors = await Promise.all(pending);
    assert.strictEqual(made, 3);
    assertOwnErrors(errors, 'ERR_CLOSED', 'The thing is closed');
  });

  it('a park that fails (the handle closed under the loop): each pending call rejects with its own copy', async () => {
    const { wait, fail } = failingWait(() => new ShmError('ERR_CLOSED', 'The segment is closed', { status: 7 }));
    const f = new AsyncFifo(NONE, wait);
    const pending = [1, 2, 3, 4].map(() => f.run(() => NONE, Infinity).catch((e) => e));
    fail();
    const errors = await Promise.all(pending);
    assertOwnErrors(errors, 'ERR_CLOSED', 'The segment is closed');
  });
});
