'use strict';
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Segment, futex } = require('../..');
const { uniqueName, removeShm, runNode, until } = require('../helpers/process');

const FIXTURES = path.join(__dirname, '..', 'helpers', 'children');
const CHILD = path.join(FIXTURES, 'futex-child.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wakes word `index` until `n` waiters in total were woken: a waiter that has not yet entered
// the kernel cannot be woken, so a single wake could race with it.
async function wakeUntil(i32, index, n, what) {
  let woken = 0;
  await until(() => {
    woken += futex.wake(i32, index);
    return woken >= n;
  }, what);
  return woken;
}

describe('futex', function () {
  let seg;
  let name;
  let i32;

  beforeEach(() => {
    name = uniqueName('futex');
    seg = Segment.create({ name, size: 4096 });
    i32 = new Int32Array(seg.buffer);
  });
  afterEach(() => {
    seg.close();
    removeShm(name);
  });

  describe('wait / wake', function () {
    it('returns not-equal at once when the word differs', function () {
      i32[0] = 5;
      assert.strictEqual(futex.wait(i32, 0, 4), 'not-equal');
      assert.strictEqual(futex.wait(i32, 0, 4, 0), 'not-equal');
    });

    it('times out', function () {
      assert.strictEqual(futex.wait(i32, 0, 0, 0), 'timed-out');
      assert.strictEqual(futex.wait(i32, 0, 0, 20), 'timed-out');
      assert.strictEqual(futex.wait(i32, 0, 0, 0.5), 'timed-out');
    });

    it('compares expected as the same 32 bits (-1 and 0xffffffff)', function () {
      i32[3] = -1;
      assert.strictEqual(futex.wait(i32, 3, 0xffffffff, 0), 'timed-out');
      assert.strictEqual(futex.wait(i32, 3, -1, 0), 'timed-out');
    });

    it('wake with nobody waiting returns 0', function () {
      assert.strictEqual(futex.wake(i32, 0), 0);
      assert.strictEqual(futex.wake(i32, 0, 0), 0);
      assert.strictEqual(futex.wake(i32, 0, Infinity), 0);
    });

    it('a child process blocked in futex.wait is woken by the parent: ok', async function () {
      const child = runNode(CHILD, ['wait', name, 'sync']);
      await wakeUntil(i32, 0, 1, 'the child to block');
      const r = await child;
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout.trim(), 'ok');
    });

    it('a child process in futex.waitAsync is woken by the parent: ok', async function () {
      const child = runNode(CHILD, ['wait', name, 'async']);
      await wakeUntil(i32, 0, 1, 'the child to wait');
      const r = await child;
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout.trim(), 'ok');
    });

    it('Atomics.notify does not reach a futex waiter (and futex.wake reports who it woke)', async function () {
      const p = futex.waitAsync(i32, 0, 0, 200);
      await sleep(20);
      assert.strictEqual(Atomics.notify(i32, 0), 0);
      assert.strictEqual(await p, 'timed-out');
    });
  });

  describe('waitAsync', function () {
    it('resolves not-equal and timed-out without blocking', async function () {
      i32[0] = 1;
      assert.strictEqual(await futex.waitAsync(i32, 0, 0), 'not-equal');
      assert.strictEqual(await futex.waitAsync(i32, 0, 1, 0), 'timed-out');
      assert.strictEqual(await futex.waitAsync(i32, 0, 1, 30), 'timed-out');
    });

    it('resolves ok when woken while timers keep firing', async function () {
      let ticks = 0;
      const timer = setInterval(() => { ticks += 1; }, 2);
      try {
        const p = futex.waitAsync(i32, 0, 0);
        await until(() => ticks >= 10, 'timers to fire during the wait');
        await wakeUntil(i32, 0, 1, 'the async waiter');
        assert.strictEqual(await p, 'ok');
        assert.ok(ticks >= 10);
      } finally {
        clearInterval(timer);
      }
    });

    it('works on a plain SharedArrayBuffer and wakes every waiter', async function () {
      const plain = new Int32Array(new SharedArrayBuffer(16));
      const waits = [futex.waitAsync(plain, 1, 0), futex.waitAsync(plain, 1, 0), futex.waitAsync(plain, 1, 0)];
      await wakeUntil(plain, 1, 3, 'three async waiters');
      assert.deepStrictEqual(await Promise.all(waits), ['ok', 'ok', 'ok']);
    });

    it('a wait on a segment closed while a handle of this thread still uses its pages stays, and is woken', async function () {
      const { holdBuffer, releaseBuffer } = require('../../lib/segment/segment');
      const other = Segment.create({ name: `${name}-held`, size: 4096 });
      other.unlink();
      const buffer = other.buffer;
      holdBuffer(buffer); // as a Store or a queue on it would
      try {
        const o32 = new Int32Array(buffer);
        const p = futex.waitAsync(o32, 0, 0);
        other.close(); // the pages stay shared: the wait still means something
        await wakeUntil(o32, 0, 1, 'the wait on the held buffer');
        assert.strictEqual(await p, 'ok');
      } finally {
        releaseBuffer(buffer);
      }
    });

    it('terminating a worker with 50 pending waits does not hang', async function () {
      const worker = new Worker(path.join(FIXTURES, 'waitasync-worker.js'), { workerData: { name, count: 50 } });
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const t0 = Date.now();
      await worker.terminate();
      const ms = Date.now() - t0;
      assert.ok(ms < 5000, `terminate took ${ms} ms`); // a hang check, not a benchmark
      // The segment word is still usable and nobody is left waiting on it.
      assert.strictEqual(futex.wake(i32, 0), 0);
    });

    it('process.exit() in a worker with pending waits does not hang', async function () {
      const worker = new Worker(path.join(FIXTURES, 'waitasync-worker.js'), {
        workerData: { name, count: 20, exitAfterMs: 20 },
      });
      const code = await new Promise((resolve, reject) => {
        worker.once('exit', resolve);
        worker.once('error', reject);
      });
      assert.strictEqual(code, 0);
    });

    it('process.exit() with pending waits does not hang', async function () {
      const r = await runNode(CHILD, ['exit-pending', name], { timeoutMs: 20000 });
      assert.strictEqual(r.signal, null, 'killed by the hang guard');
      assert.strictEqual(r.code, 0, r.stderr);
    });
  });

  describe('bad input', function () {
    const fns = {
      wait: (...a) => futex.wait(...a),
      waitAsync: (...a) => futex.waitAsync(...a),
      wake: (...a) => futex.wake(...a),
    };
    for (const [fname, fn] of Object.entries(fns)) {
      it(`${fname}: int32Array and index`, function () {
        const extra = fname === 'wake' ? [] : [0];
        assert.throws(() => fn(), TypeError);
        assert.throws(() => fn(null, 0, ...extra), TypeError);
        assert.throws(() => fn([0], 0, ...extra), TypeError);
        assert.throws(() => fn(new Uint32Array(new SharedArrayBuffer(8)), 0, ...extra), /must be an Int32Array/);
        assert.throws(() => fn(new Int32Array(4), 0, ...extra), /over a SharedArrayBuffer/);
        assert.throws(() => fn(i32, undefined, ...extra), TypeError);
        assert.throws(() => fn(i32, '0', ...extra), TypeError);
        assert.throws(() => fn(i32, -1, ...extra), RangeError);
        assert.throws(() => fn(i32, 1.5, ...extra), RangeError);
        assert.throws(() => fn(i32, 1024, ...extra), RangeError);
        assert.throws(() => fn(i32, NaN, ...extra), RangeError);
        assert.throws(() => fn(new Int32Array(new SharedArrayBuffer(8), 8), 0, ...extra), RangeError); // empty view
      });
    }
    for (const fname of ['wait', 'waitAsync']) {
      it(`${fname}: expected and timeoutMs`, function () {
        const fn = fns[fname];
        assert.throws(() => fn(i32, 0), TypeError);
        assert.throws(() => fn(i32, 0, '0'), TypeError);
        assert.throws(() => fn(i32, 0, 0n), TypeError);
        assert.throws(() => fn(i32, 0, 0.5), RangeError);
        assert.throws(() => fn(i32, 0, 2 ** 32), RangeError);
        assert.throws(() => fn(i32, 0, -(2 ** 31) - 1), RangeError);
        assert.throws(() => fn(i32, 0, NaN), RangeError);
        assert.throws(() => fn(i32, 0, 0, '10'), TypeError);
        assert.throws(() => fn(i32, 0, 0, null), TypeError);
        assert.throws(() => fn(i32, 0, 0, -1), RangeError);
        assert.throws(() => fn(i32, 0, 0, NaN), RangeError);
        assert.throws(() => fn(i32, 0, 0, -Infinity), RangeError);
      });
    }
    it('wake: count', function () {
      assert.throws(() => futex.wake(i32, 0, '1'), TypeError);
      assert.throws(() => futex.wake(i32, 0, null), TypeError);
      assert.throws(() => futex.wake(i32, 0, -1), RangeError);
      assert.throws(() => futex.wake(i32, 0, 1.5), RangeError);
      assert.throws(() => futex.wake(i32, 0, NaN), RangeError);
      assert.strictEqual(futex.wake(i32, 0, 2 ** 40), 0);
    });
    it('the addon itself refuses bad input without crashing', function () {
      const { addon } = require('../../lib/base/native');
      assert.throws(() => addon.futexWait(), TypeError);
      assert.throws(() => addon.futexWait(new Int32Array(4), 0, 0), TypeError);
      assert.throws(() => addon.futexWait(i32, 5000, 0), RangeError);
      assert.throws(() => addon.futexWait(i32, 0, 'x'), TypeError);
      assert.throws(() => addon.futexWait(i32, 0, 0, -5), RangeError);
      assert.throws(() => addon.futexWaitAsync({}, 0, 0), TypeError);
      assert.throws(() => addon.futexWake(i32, 0, -1), RangeError);
      assert.strictEqual(addon.futexWait(i32, 0, 0, 0), 'timed-out');
    });
  });
});
