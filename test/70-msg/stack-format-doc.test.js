'use strict';
// docs/format.md §15 "Stack (kind 3)" and "Priority queue (kind 4)" claim to specify those
// regions exactly enough for an independent reader. layout-ok-file: this file reads the bytes with
// the document's offsets on purpose, never lib/layout/layout.js.
const assert = require('assert');
const { Stack, PriorityQueue } = require('../../index');
const { decodeRecord } = require('../helpers/doc-records');

// The record at `at` (its header word `record`: the tag in the top 4 bits, the length below),
// decoded by the document's table of tags; `tags`, when given, collects the tags.
function decode(buffer, at, record, tags) {
  const tag = record >>> 28;
  if (tags) tags.push(tag);
  return decodeRecord(tag, Buffer.from(buffer, at, record & 0x0fffffff));
}

// The values of the tag tests and the tag each must be written with: ASCII text Latin-1 (3, 4),
// other text UTF-8 (1, 2), bytes 0, numbers binary64 (5).
const TAGGED = [
  ['ascii', 3], ['caf\u00e9', 1], ['', 3], [{ a: 1 }, 4], [{ b: '\u00ff' }, 2], ['\ud83d\ude00', 1],
  ['\u0100', 1], [Buffer.from([7]), 0], [7, 5], [-0, 5], [NaN, 5],
];

// A stack read as the document describes it: the messages from the top down, the free nodes.
function readStack(buffer) {
  const dv = new DataView(buffer);
  const u32 = (at) => dv.getUint32(at, true);
  const c = u32(12);
  const m = u32(16);
  const stride = 8 * Math.ceil((16 + m) / 8);
  const node = (n) => 8768 + (n - 1) * stride;
  const walk = (headAt, state) => {
    const head = dv.getBigUint64(headAt, true);
    assert.strictEqual(Number((head >> 21n) & 3n), 0, 'no pending operation');
    const out = [];
    for (let n = Number(head & 0x1fffffn); n !== 0; n = u32(node(n) + 4)) {
      assert.strictEqual(u32(node(n)) & 3, state);
      out.push(n);
      assert.ok(out.length <= c);
    }
    return out;
  };
  const stacked = walk(64, 1);
  // Each stacked node's depth: the messages from it down, itself included.
  stacked.forEach((n, k) => assert.strictEqual(u32(node(n) + 12), stacked.length - k, `depth of node ${n}`));
  const tags = [];
  return {
    kind: u32(4), version: u32(8), capacity: c, size: u32(448), lost: [u32(452), u32(456)],
    messages: stacked.map((n) => decode(buffer, node(n) + 16, u32(node(n) + 8), tags)),
    tags,
    free: walk(128, 0).length,
  };
}

// A priority queue read as the document describes it: its messages in dequeue order, taken from
// the nodes in state 1 (sorted by priority, then sequence number), checked against the heap.
function readPq(buffer) {
  const dv = new DataView(buffer);
  const u32 = (at) => dv.getUint32(at, true);
  const c = u32(12);
  const m = u32(16);
  const stride = 8 * Math.ceil((24 + m) / 8);
  const max = u32(72) === 1;
  const nodes = 8960 + 20 * c;
  const queued = [];
  for (let n = 0; n < c; n++) {
    const at = nodes + n * stride;
    if (u32(at) === 1) {
      const tags = [];
      const value = decode(buffer, at + 24, u32(at + 16), tags);
      queued.push({ n, seq: u32(at + 4), priority: dv.getFloat64(at + 8, true), value, tag: tags[0] });
    }
  }
  queued.sort((a, b) => (a.priority !== b.priority ? (max ? b.priority - a.priority : a.priority - b.priority) : (a.seq - b.seq) | 0));
  const count = u32(64);
  assert.strictEqual(count, queued.length);
  assert.strictEqual(u32(76), c - count, 'freeCount');
  const entry = (i) => ({ priority: dv.getFloat64(8960 + 16 * i, true), seq: u32(8960 + 16 * i + 8), node: u32(8960 + 16 * i + 12) });
  for (let i = 1; i < count; i++) {
    const child = entry(i);
    const parent = entry((i - 1) >> 1);
    const before = child.priority !== parent.priority ? (max ? child.priority > parent.priority : child.priority < parent.priority) : ((child.seq - parent.seq) | 0) < 0;
    assert.ok(!before, `entry ${i} goes before its parent`);
  }
  if (count > 0) assert.strictEqual(entry(0).node, queued[0].n);
  return { kind: u32(4), order: max ? 'max' : 'min', messages: queued.map((q) => q.value), tags: queued.map((q) => q.tag) };
}

describe('Stack and PriorityQueue: the bytes of docs/format.md §15', () => {
  it('a stack: header, head words, node states and records as documented', () => {
    assert.strictEqual(Stack.bytesFor(4, { messageBytes: 20 }), 8768 + 4 * 40);
    const buffer = new SharedArrayBuffer(Stack.bytesFor(4, { messageBytes: 20 }));
    const s = Stack.create({ buffer, capacity: 4, messageBytes: 20 });
    s.push('one');
    s.push({ two: 2 });
    s.push(Buffer.from([3]));
    s.tryPop();
    s.push('four');
    const r = readStack(buffer);
    assert.deepStrictEqual(r, { kind: 3, version: 2, capacity: 4, size: 3, lost: [0, 0], messages: ['four', { two: 2 }, 'one'], tags: [3, 4, 3], free: 1 });
    s.close();
  });

  it('a priority queue: header, order word, nodes, heap and free count as documented', () => {
    assert.strictEqual(PriorityQueue.bytesFor(4, { messageBytes: 20 }), 8960 + 20 * 4 + 4 * 48);
    for (const order of ['min', 'max']) {
      const buffer = new SharedArrayBuffer(PriorityQueue.bytesFor(8, { messageBytes: 20 }));
      const q = PriorityQueue.create({ buffer, capacity: 8, messageBytes: 20, order });
      for (const [v, p] of [['a', 2], ['b', 1], ['c', 2], ['d', 3], ['e', 1.5], ['f', 2]]) q.enqueue(v, p);
      q.tryDequeue();
      const r = readPq(buffer);
      const expected = order === 'min' ? ['e', 'a', 'c', 'f', 'd'] : ['a', 'c', 'f', 'e', 'b'];
      assert.deepStrictEqual([r.kind, r.order, r.messages], [4, order, expected]);
      assert.deepStrictEqual([q.tryDequeue(), q.tryDequeue()], expected.slice(0, 2));
      q.close();
    }
  });

  it('a stack tags ASCII text Latin-1, other text UTF-8, bytes 0 and numbers binary64; each comes back as sent', () => {
    const buffer = new SharedArrayBuffer(Stack.bytesFor(16, { messageBytes: 16 }));
    const s = Stack.create({ buffer, capacity: 16, messageBytes: 16 });
    for (const [v] of TAGGED) assert.ok(s.tryPush(v));
    const r = readStack(buffer);
    const top = [...TAGGED].reverse();
    assert.deepStrictEqual(r.tags, top.map(([, tag]) => tag));
    assert.deepStrictEqual(r.messages, top.map(([v]) => v));
    assert.deepStrictEqual(s.peek(), NaN);
    for (const [v] of top) assert.deepStrictEqual(s.tryPop(), v); // deepStrictEqual tells -0 from 0
    s.close();
  });

  it('a priority queue tags ASCII text Latin-1, other text UTF-8, bytes 0 and numbers binary64; each comes back as sent', () => {
    const buffer = new SharedArrayBuffer(PriorityQueue.bytesFor(16, { messageBytes: 16 }));
    const q = PriorityQueue.create({ buffer, capacity: 16, messageBytes: 16, order: 'min' });
    TAGGED.forEach(([v], i) => assert.ok(q.tryEnqueue(v, i)));
    const r = readPq(buffer);
    assert.deepStrictEqual(r.tags, TAGGED.map(([, tag]) => tag));
    assert.deepStrictEqual(r.messages, TAGGED.map(([v]) => v));
    for (const [v] of TAGGED) assert.deepStrictEqual(q.tryDequeue(), v);
    q.close();
  });
});
