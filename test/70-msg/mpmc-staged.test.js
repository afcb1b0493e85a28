'use strict';
// MpmcQueue's synchronous enqueues encode a text of up to a few dozen units before they claim a
// slot (lib/msg/mpmc-batch.js checkText(): the encode gives the length the size check needs, and
// after the claim its bytes are only copied). Whatever the text, the check refuses exactly what
// does not fit, with the queue unchanged, and what is delivered is what was sent: from tryEnqueue()
// and enqueue(), behind the handle's pending enqueueAsync() calls, and after a blocking enqueue()
// waited for room.
const assert = require('assert');
const { Worker } = require('worker_threads');
const { MpmcQueue } = require('../../index');
const { C, W } = require('../../lib/layout/layout');
const { kWords } = require('../../lib/msg/mpmc');

const PRODUCER_WAITERS = C.MPMC_CONTROL_OFFSET / Uint32Array.BYTES_PER_ELEMENT + W.MPMC_CONTROL.PRODUCER_WAITERS;
const MESSAGE_BYTES = 40; // fewer than 3 bytes a unit for texts over 13 units

function queue(capacity) {
  const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(capacity, { messageBytes: MESSAGE_BYTES }));
  return MpmcQueue.create({ buffer, capacity, messageBytes: MESSAGE_BYTES });
}

// Texts of `n` units: ASCII, and one unit of Latin-1, beyond it, a surrogate pair and a lone
// surrogate (sent as U+FFFD), at the start and at the end; the same as JSON values.
function textsOf(n) {
  const ascii = Array.from({ length: n }, (_, k) => String.fromCharCode(0x21 + ((k * 7 + n) % 90))).join('');
  const out = [ascii];
  for (const at of new Set([0, n - 1].filter((k) => k >= 0))) {
    for (const c of ['\xe9', '\u20ac', '\ud83d\ude00', '\udc00']) out.push(ascii.slice(0, at) + c + ascii.slice(at + 1));
  }
  return [...out, ...out.map((s) => ({ s }))];
}

const bytesOf = (v) => Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v));
const sent = (v) => (typeof v === 'string' ? Buffer.from(v).toString() : JSON.parse(Buffer.from(JSON.stringify(v)).toString()));

describe('MpmcQueue: texts checked and encoded before the claim', () => {
  it('tryEnqueue() and enqueue() refuse exactly the texts that do not fit, the queue unchanged, and deliver the others', () => {
    const q = queue(4);
    for (let n = 0; n <= MESSAGE_BYTES + 2; n++) {
      for (const v of textsOf(n)) {
        for (const form of ['tryEnqueue', 'enqueue']) {
          q.tryEnqueue('keep');
          if (bytesOf(v) > MESSAGE_BYTES) {
            assert.throws(() => q[form](v), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE', `${form} ${JSON.stringify(v)}`);
            assert.strictEqual(q.size, 1);
            assert.strictEqual(q.tryDequeue(), 'keep');
          } else {
            assert.notStrictEqual(q[form](v), false);
            assert.strictEqual(q.tryDequeue(), 'keep');
            assert.deepStrictEqual(q.tryDequeue(), sent(v), `${form} ${JSON.stringify(v)}`);
          }
          assert.strictEqual(q.tryDequeue(), undefined);
        }
      }
    }
    q.close();
  });

  it('a text enqueued behind pending enqueueAsync() calls goes after theirs, each as sent', async () => {
    const q = queue(4);
    const first = ['a'.repeat(30), '\u20ac'.repeat(13), 'b'.repeat(20), { s: 'c'.repeat(25) }];
    for (const v of first) assert.strictEqual(q.tryEnqueue(v), true);
    const pending = ['\xe9'.repeat(19), 'd'.repeat(38)].map((v) => q.enqueueAsync(v));
    assert.strictEqual(q.tryEnqueue('e'.repeat(35)), false); // full, behind the pending ones
    assert.deepStrictEqual([q.tryDequeue(), q.tryDequeue()], first.slice(0, 2));
    // Room for two: the pending ones take it; this one finds the queue full again.
    assert.strictEqual(q.tryEnqueue('f'.repeat(33)), false);
    await Promise.all(pending);
    assert.deepStrictEqual([q.tryDequeue(), q.tryDequeue()], first.slice(2));
    assert.strictEqual(q.tryEnqueue('\u20ac'.repeat(12) + 'g'.repeat(4)), true);
    q.enqueue('h'.repeat(39));
    assert.deepStrictEqual([q.tryDequeue(), q.tryDequeue(), q.tryDequeue(), q.tryDequeue(), q.tryDequeue()],
      ['\xe9'.repeat(19), 'd'.repeat(38), '\u20ac'.repeat(12) + 'g'.repeat(4), 'h'.repeat(39), undefined]);
    q.close();
  });

  it('a blocking enqueue() that waits for room delivers its text as sent', async () => {
    const q = queue(2);
    const texts = ['\u20ac'.repeat(13), 'x'.repeat(39), '\ud83d\ude00'.repeat(5) + 'y'.repeat(18), 'z'.repeat(17)];
    const worker = new Worker(`
      const { workerData, parentPort } = require('worker_threads');
      const { MpmcQueue } = require(${JSON.stringify(require.resolve('../../index'))});
      const q = MpmcQueue.open({ buffer: workerData.buffer });
      for (const t of workerData.texts) q.enqueue(t, 10000);
      q.close();
      parentPort.postMessage('done');`, { eval: true, workerData: { buffer: q.buffer, texts } });
    const done = new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    const got = [];
    try {
      // The worker parks on a full queue with each of the last two in hand: a message is taken
      // only once the queue is full and a producer is registered as sleeping (until the last two,
      // which the worker enqueued then).
      while (got.length < texts.length) {
        const deadline = Date.now() + 10000;
        const parked = () => q.size === 2 && Atomics.load(q[kWords], PRODUCER_WAITERS) > 0;
        while (got.length < 2 && !parked() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        while (q.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        got.push(q.tryDequeue());
      }
      assert.deepStrictEqual(got, texts);
      assert.strictEqual(await done, 'done');
    } finally {
      await worker.terminate();
      q.close();
    }
  });

  // Serving a pending enqueueAsync() resolves its promise inside the synchronous call, and a
  // promise hook runs there: code that enqueues on the same handle, or prepares a message on
  // another queue of the thread, must not take the place of the call's own message (its staged
  // bytes, or the codec's shared prepared object a Channel holds).
  describe('code that runs while a synchronous send serves pending ones', () => {
    const asyncHooks = require('async_hooks');
    const { Channel } = require('../../index');
    const NESTED = '\xe9'.repeat(3) + 'x'.repeat(34); // staged, 40 bytes of UTF-8
    let hook = null;
    afterEach(() => {
      if (hook) hook.disable();
      hook = null;
    });
    const onResolve = (f) => {
      let armed = false;
      hook = asyncHooks.createHook({ promiseResolve() { if (armed) { armed = false; f(); } } }).enable();
      return (on) => { armed = on; };
    };

    for (const [form, value] of [['tryEnqueue', 'a'.repeat(40)], ['enqueue', 'a'.repeat(40)], ['tryEnqueue', { s: 'a'.repeat(30) }], ['enqueue', { s: 'a'.repeat(30) }]]) {
      it(`${form}(${typeof value === 'string' ? 'a text' : 'an object'}) delivers its own message when a hook enqueues on the handle`, async () => {
        const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 248 }));
        const q = MpmcQueue.create({ buffer, capacity: 4, messageBytes: 248 });
        const arm = onResolve(() => q.tryEnqueue(NESTED));
        for (let k = 0; k < 4; k++) q.tryEnqueue(`fill${k}`);
        const pending = q.enqueueAsync('async');
        for (let k = 0; k < 4; k++) q.tryDequeue();
        arm(true);
        const r = q[form](value);
        arm(false);
        await pending;
        assert.notStrictEqual(r, false);
        const got = [];
        for (let m = q.tryDequeue(); m !== undefined; m = q.tryDequeue()) got.push(m);
        assert.deepStrictEqual(got, ['async', NESTED, value]);
        q.close();
      });
    }

    for (const form of ['trySend', 'sendSync']) {
      it(`Channel.${form}(a text) sends its own text when a hook sends one on the same channel`, async () => {
        const ch = Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(4, { messageBytes: 120 })), capacity: 4, messageBytes: 120 });
        const arm = onResolve(() => ch.trySend(NESTED));
        for (let k = 0; k < 4; k++) ch.trySend(k);
        const pending = ch.send('async');
        for (let k = 0; k < 4; k++) ch.tryReceive();
        const own = 'a'.repeat(40); // staged when nothing is pending
        arm(true);
        assert.notStrictEqual(ch[form](own), false);
        arm(false);
        await pending;
        const got = [];
        for (let m = ch.tryReceive(); m !== undefined; m = ch.tryReceive()) got.push(m);
        assert.deepStrictEqual(got, ['async', NESTED, own]);
        ch.close();
      });
    }

    it('Channel.trySend() sends its own value when a hook prepares one on another queue', async () => {
      const ch = Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(4, { messageBytes: 120 })), capacity: 4, messageBytes: 120 });
      const other = queue(4);
      const arm = onResolve(() => other.tryEnqueue({ t: 'other' }));
      for (let k = 0; k < 4; k++) ch.trySend(k);
      const pending = ch.send('async');
      for (let k = 0; k < 4; k++) ch.tryReceive();
      arm(true);
      assert.strictEqual(ch.trySend({ s: 'own' }), true);
      arm(false);
      await pending;
      assert.deepStrictEqual([ch.tryReceive(), ch.tryReceive(), ch.tryReceive()], ['async', { s: 'own' }, undefined]);
      assert.deepStrictEqual(other.tryDequeue(), { t: 'other' });
      ch.close();
      other.close();
    });
  });
});
