'use strict';
// Short text (lib/msg/short-text.js): strings and JSON texts of up to a few dozen units are
// written and read without Buffer's native calls. Whatever the length, the characters and the
// kind, every structure gives back what was sent, and a process that may not make code from
// text sends and receives the same messages the other way.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');
const { SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast } = require('../../index');

// Strings of `n` units: ASCII, ASCII plus DEL, and one other unit at the start, the middle and
// the end (Latin-1, beyond it, a surrogate pair, a lone surrogate: sent as U+FFFD, as Buffer's
// UTF-8 write gives it).
function textsOf(n) {
  const ascii = Array.from({ length: n }, (_, k) => String.fromCharCode(0x20 + ((k * 11 + n) % 95))).join('');
  const out = [ascii, `${ascii}\x7f`];
  for (const at of new Set([0, n >> 1, n - 1].filter((k) => k >= 0))) {
    for (const c of ['\x80', '\xff', '\u0100', '\ud83d\ude00', '\udc00']) out.push(ascii.slice(0, at) + c + ascii.slice(at + 1));
  }
  out.push({ s: ascii }, [ascii, '\xe9']);
  return out;
}

const sent = (v) => (typeof v === 'string' ? Buffer.from(v).toString() : v);
const LENGTHS = Array.from({ length: 91 }, (_, n) => n); // past every threshold of short-text.js

describe('short text: every structure gives back what was sent', () => {
  it('SpscRing, one by one and in batches, across its end', () => {
    const buffer = new SharedArrayBuffer(SpscRing.bytesFor(4096));
    const ring = SpscRing.create({ buffer, capacity: 4096 });
    for (const n of LENGTHS) {
      for (const v of textsOf(n)) {
        assert.ok(ring.tryEnqueue(v));
        assert.deepStrictEqual(ring.peek(), sent(v));
        assert.deepStrictEqual(ring.tryDequeue(), sent(v), `length ${n}`);
      }
      const batch = textsOf(n);
      assert.strictEqual(ring.tryEnqueueBatch(batch), batch.length);
      assert.deepStrictEqual(ring.tryDequeueBatch(), batch.map(sent));
    }
    ring.close();
  });

  it('MpmcQueue and Channel', async () => {
    const buffer = new SharedArrayBuffer(MpmcQueue.bytesFor(64, { messageBytes: 300 }));
    const queue = MpmcQueue.create({ buffer, capacity: 64, messageBytes: 300 });
    const cbuf = new SharedArrayBuffer(Channel.bytesFor(64, { messageBytes: 300 }));
    const channel = Channel.create({ buffer: cbuf, capacity: 64, messageBytes: 300 });
    for (const n of LENGTHS) {
      for (const v of textsOf(n)) {
        assert.ok(queue.tryEnqueue(v));
        assert.deepStrictEqual(queue.tryDequeue(), sent(v), `length ${n}`);
        await channel.send(v);
        assert.deepStrictEqual(await channel.receive(), sent(v), `length ${n}`);
      }
    }
    queue.close();
    channel.close();
  });

  it('Stack, PriorityQueue and Broadcast', () => {
    const stack = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(16, { messageBytes: 300 })), capacity: 16, messageBytes: 300 });
    const pq = PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(16, { messageBytes: 300 })), capacity: 16, messageBytes: 300 });
    const b = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(16, { messageBytes: 300 })), capacity: 16, messageBytes: 300 });
    const sub = b.subscribe();
    for (const n of LENGTHS) {
      for (const v of textsOf(n)) {
        assert.ok(stack.tryPush(v));
        assert.deepStrictEqual(stack.tryPop(), sent(v), `length ${n}`);
        assert.ok(pq.tryEnqueue(v, n));
        assert.deepStrictEqual(pq.tryDequeue(), sent(v), `length ${n}`);
        b.publish(v);
        assert.deepStrictEqual(sub.tryReceive(), { value: sent(v), missed: 0 }, `length ${n}`);
      }
    }
    stack.close();
    pq.close();
    b.close();
  });

  it('a process that may not make code from text sends and reads the same messages', () => {
    const script = `
      const { SpscRing, MpmcQueue } = require(${JSON.stringify(path.join(__dirname, '../../index'))});
      const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(4096)), capacity: 4096 });
      const queue = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(4, { messageBytes: 128 })), capacity: 4, messageBytes: 128 });
      if (require(${JSON.stringify(path.join(__dirname, '../../lib/msg/short-text'))}).READS) throw new Error('short text is read in JavaScript');
      const out = [];
      for (const v of ${JSON.stringify(LENGTHS.flatMap(textsOf))}) {
        ring.tryEnqueue(v); queue.tryEnqueue(v);
        out.push([ring.tryDequeue(), queue.tryDequeue()]);
      }
      process.stdout.write(JSON.stringify(out));`;
    const child = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' });
    assert.strictEqual(child.status, 0, child.stderr);
    const expected = LENGTHS.flatMap(textsOf).map((v) => [sent(v), sent(v)]);
    assert.deepStrictEqual(JSON.parse(child.stdout), JSON.parse(JSON.stringify(expected)));
  });
});
