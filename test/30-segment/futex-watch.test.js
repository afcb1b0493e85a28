'use strict';
// futex.waitAsync through the watcher threads (futex_waitv): few threads for many waits, the
// kernel's wake counts, timeouts, words that change without a wake, and the thread-per-wait
// fallback (SHMSTORE_FUTEX_WAITV=0, what kernels without futex_waitv get).
const assert = require('assert');
const path = require('path');
const { Segment, futex } = require('../..');
const { uniqueName, removeShm, runNode, until } = require('../helpers/process');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'futex-child.js');
const FALLBACK = { SHMSTORE_FUTEX_WAITV: '0' };
const WATCHERS = { SHMSTORE_FUTEX_WAITV: '1' };
const watching = process.env.SHMSTORE_FUTEX_WAITV !== '0';

// Tracks a promise's state without waiting for it.
function track(p) {
  const t = { state: 'pending', value: undefined };
  t.done = p.then((v) => {
    t.state = 'settled';
    t.value = v;
    return v;
  });
  return t;
}

// Lets every callback already queued on the event loop run.
const turn = () => new Promise((r) => setImmediate(r));

describe('futex.waitAsync watchers', function () {
  it('1,000 pending waits use a few threads, and all are woken', async function () {
    const r = await runNode(CHILD, ['many', '1000'], { env: WATCHERS });
    assert.strictEqual(r.code, 0, r.stderr);
    const { before, during, after, results } = JSON.parse(r.stdout);
    assert.deepStrictEqual(results, { ok: 1000 });
    // 127 waits per watcher: 8 watchers (a thread per wait would add 1,000).
    assert.ok(during - before <= 8, `${during - before} threads for 1,000 waits`);
    assert.ok(after - before <= 1, `${after - before} threads left after the waits settled`);
  });

  it('the fallback runs a thread per wait and settles them alike', async function () {
    const r = await runNode(CHILD, ['many', '50'], { env: FALLBACK });
    assert.strictEqual(r.code, 0, r.stderr);
    const { before, during, results } = JSON.parse(r.stdout);
    // A thread that had not yet entered the kernel when its word changed says not-equal.
    assert.strictEqual((results.ok || 0) + (results['not-equal'] || 0), 50, JSON.stringify(results));
    assert.ok(during - before >= 50, `${during - before} threads for 50 waits`);
  });

  for (const [label, env] of [['watchers', WATCHERS], ['fallback', FALLBACK]]) {
    it(`a child process in waitAsync is woken by the parent's futex.wake (${label})`, async function () {
      const name = uniqueName('futex-watch');
      const seg = Segment.create({ name, size: 4096 });
      try {
        const i32 = new Int32Array(seg.buffer);
        const child = runNode(CHILD, ['wait', name, 'async'], { env });
        // The word never changes: only the cross-process wake can settle the child's wait.
        await until(() => futex.wake(i32, 0) === 1, 'the child to wait');
        const r = await child;
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(r.stdout.trim(), 'ok');
      } finally {
        seg.close();
        removeShm(name);
      }
    });
  }

  for (const [label, env] of [['watchers', WATCHERS], ['fallback', FALLBACK]]) {
    it(`closing a segment rejects the waits pending on it with ERR_CLOSED and lets the process end (${label})`, async function () {
      // In a child: were the waits left pending, its event loop would never end.
      const script = `
        const { Segment, futex, ShmError } = require(process.argv[1]);
        const name = process.argv[2];
        const seg = Segment.create({ name, size: 4096 });
        const other = Segment.create({ name: name + '-other', size: 4096 });
        seg.unlink();
        other.unlink();
        const i32 = new Int32Array(seg.buffer);
        const o32 = new Int32Array(other.buffer);
        const onIt = [futex.waitAsync(i32, 0, 0), futex.waitAsync(i32, 0, 0), futex.waitAsync(i32, 1023, 0, 600000)];
        const elsewhere = futex.waitAsync(o32, 0, 0);
        seg.close(); // nothing else holds its pages: they are released
        Promise.allSettled(onIt).then(async (rs) => {
          console.log(JSON.stringify(rs.map((r) => (r.status === 'rejected' && r.reason instanceof ShmError ? r.reason.code : r.status))));
          // A wait on another segment is left alone.
          Atomics.store(o32, 0, 1);
          futex.wake(o32, 0);
          console.log(await elsewhere);
          other.close();
        });
      `;
      const r = await runNode('-e', [script, path.join(__dirname, '..', '..'), uniqueName('futex-close')], { env, timeoutMs: 30000 });
      assert.strictEqual(r.signal, null, `killed by the hang guard: ${r.stdout}`);
      assert.strictEqual(r.code, 0, r.stderr);
      // A thread-per-wait that had not yet entered the kernel when its word changed says not-equal.
      assert.match(r.stdout, /^\["ERR_CLOSED","ERR_CLOSED","ERR_CLOSED"\]\n(ok|not-equal)\n$/);
    });
  }

  for (const [label, env] of [['watchers', WATCHERS], ['fallback', FALLBACK]]) {
    it(`futexWakeOwn settles as ok a wait started in the same turn, before its thread can wait (${label})`, async function () {
      // The word never changes and the waits would last 10 s: a wake that missed a thread not yet
      // in the kernel would leave its wait to the timeout. Stops at the first other result.
      const script = `
        const native = require(process.argv[1] + '/lib/base/native');
        const { futex } = require(process.argv[1]);
        const i32 = new Int32Array(new SharedArrayBuffer(8));
        (async () => {
          for (let trial = 0; trial < 200; trial++) {
            const p = futex.waitAsync(i32, 1, 0, 10000);
            const reached = native.addon.futexWakeOwn(i32, 1);
            const result = await p;
            if (result !== 'ok' || reached !== 1) {
              console.log(JSON.stringify({ trial, result, reached }));
              return;
            }
          }
          console.log('all ok');
        })();
      `;
      const r = await runNode('-e', [script, path.join(__dirname, '..', '..')], { env, timeoutMs: 30000 });
      assert.strictEqual(r.signal, null, `killed by the hang guard: ${r.stdout}`);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout, 'all ok\n');
    });
  }

  describe('in this process', function () {
    before(function () {
      if (!watching) this.skip();
    });

    it('wake(word, Infinity) reaches both waits on one word, the word unchanged', async function () {
      const i32 = new Int32Array(new SharedArrayBuffer(8));
      const a = futex.waitAsync(i32, 0, 0);
      const b = futex.waitAsync(i32, 0, 0);
      let woken = 0;
      await until(() => (woken += futex.wake(i32, 0)) >= 2, 'two kernel waiters');
      assert.strictEqual(woken, 2);
      assert.deepStrictEqual(await Promise.all([a, b]), ['ok', 'ok']);
    });

    it('wake(word, 1) settles exactly one of two waits on one word', async function () {
      const i32 = new Int32Array(new SharedArrayBuffer(8));
      const a = track(futex.waitAsync(i32, 0, 0));
      const b = track(futex.waitAsync(i32, 0, 0));
      await until(() => futex.wake(i32, 0, 1) === 1, 'a kernel waiter');
      assert.strictEqual(await Promise.race([a.done, b.done]), 'ok');
      await turn();
      assert.deepStrictEqual([a.state, b.state].sort(), ['pending', 'settled']);
      await until(() => futex.wake(i32, 0, 1) === 1, 'the other kernel waiter');
      assert.deepStrictEqual(await Promise.all([a.done, b.done]), ['ok', 'ok']);
    });

    it('settles as timed-out exactly the waits whose deadline passed', async function () {
      const i32 = new Int32Array(new SharedArrayBuffer(16));
      const short = futex.waitAsync(i32, 0, 0, 10);
      const longer = futex.waitAsync(i32, 1, 0, 40);
      const forever = track(futex.waitAsync(i32, 2, 0));
      const woken = futex.waitAsync(i32, 3, 0, 60000);
      assert.strictEqual(await short, 'timed-out');
      assert.strictEqual(await longer, 'timed-out');
      await until(() => futex.wake(i32, 3) === 1, 'the wait with a long timeout');
      assert.strictEqual(await woken, 'ok');
      assert.strictEqual(forever.state, 'pending');
      await until(() => futex.wake(i32, 2) === 1, 'the wait without a timeout');
      assert.strictEqual(await forever.done, 'ok');
    });

    it('a word that changes after the call settles ok, never not-equal', async function () {
      const i32 = new Int32Array(new SharedArrayBuffer(16));
      const p = futex.waitAsync(i32, 0, 0);
      Atomics.store(i32, 0, 1); // no wake: the watcher notices when its set changes
      const q = futex.waitAsync(i32, 1, 0, 5);
      assert.strictEqual(await q, 'timed-out');
      assert.strictEqual(await p, 'ok');
      assert.strictEqual(await futex.waitAsync(i32, 0, 0), 'not-equal'); // differs at the call
    });

    it('more than 127 waits on one word each get their own kernel waiter', async function () {
      const i32 = new Int32Array(new SharedArrayBuffer(8));
      const waits = [];
      for (let i = 0; i < 130; i++) waits.push(futex.waitAsync(i32, 0, 0));
      let woken = 0;
      await until(() => (woken += futex.wake(i32, 0)) >= 130, '130 kernel waiters');
      assert.strictEqual(woken, 130);
      assert.strictEqual((await Promise.all(waits)).length, 130);
    });
  });
});
