'use strict';
// docs/format.md §15, "Broadcast (kind 5)", claims to specify the broadcast bytes exactly enough
// for an independent reader. layout-ok-file: this file reads and writes the bytes with the
// document's offsets on purpose, never lib/layout/layout.js.
const assert = require('assert');
const { Broadcast } = require('../../index');
const { exitedPid } = require('../helpers/process');
const { identityOf } = require('../../lib/ownership/owners');
const { decodeRecord } = require('../helpers/doc-records');

const RECORDS = 24832;

const strideOf = (m) => 8 * Math.ceil((8 + m) / 8);

// The broadcast read from its bytes as the document describes it: header, control words, the
// subscribers (owner records with their party records) and the published records from `from`.
function readBroadcast(buffer, from) {
  const dv = new DataView(buffer);
  const u32 = (at) => dv.getUint32(at, true);
  const b = {
    magic: u32(0), kind: u32(4), version: u32(8), capacity: u32(12), elementSize: u32(16),
    tail: u32(64), skipped: u32(68), published: u32(128), waiters: u32(192),
  };
  const c = b.capacity;
  const stride = strideOf(b.elementSize);
  b.subscribers = [];
  for (let o = 1; o < 256; o++) {
    const pid = u32(256 + 32 * o);
    const party = 8448 + 64 * o;
    if (pid !== 0 && (u32(party) & 2)) b.subscribers.push({ o, pid, cursor: u32(party + 8) });
  }
  b.messages = [];
  b.tags = [];
  for (let p = from; p !== b.tail; p = (p + 1) >>> 0) {
    const at = RECORDS + (p & (c - 1)) * stride;
    const d = (u32(at) - 4 * p) | 0;
    if (d !== 1) {
      b.messages.push({ p, d });
      continue;
    }
    const header = u32(at + 4);
    const length = header & 0x0fffffff;
    const bytes = Buffer.from(buffer, at + 8, length);
    const tag = header >>> 28;
    b.tags.push(tag);
    b.messages.push(decodeRecord(tag, bytes));
  }
  return b;
}

// Leaves position 1 claimed and being written (record 1's word 4, the tail moved to 2) by a
// publisher of an exited process that died: owner record 200 names it (pid, state live), its
// party record says "publishing position `named`" (1 unless given). Returns a DataView.
function goneClaim(buffer, named = 1) {
  const dv = new DataView(buffer);
  dv.setUint32(256 + 32 * 200, exitedPid(), true);
  dv.setUint32(8448 + 64 * 200, 1, true);
  dv.setUint32(8448 + 64 * 200 + 4, named, true);
  dv.setUint32(RECORDS + 1 * 24, 4, true);
  dv.setUint32(64, 2, true);
  return dv;
}

// A live publisher (owner record 201, this process, with its identity: start time at 8, boot id
// at 16, format.md §6) whose party record names position 1.
function liveNamer(dv) {
  const id = identityOf(process.pid, 0);
  dv.setUint32(8448 + 64 * 201, 1, true);
  dv.setUint32(8448 + 64 * 201 + 4, 1, true);
  dv.setBigUint64(256 + 32 * 201 + 8, id.startTime, true);
  dv.setBigUint64(256 + 32 * 201 + 16, id.bootId, true);
  dv.setUint32(256 + 32 * 201, process.pid, true);
}

describe('Broadcast: the bytes of docs/format.md §15', () => {
  it('has the documented header, control words, tables, records and size', () => {
    assert.strictEqual(Broadcast.bytesFor(4, { messageBytes: 13 }), RECORDS + 4 * 24);
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const start = 2 ** 32 - 3;
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16, startPosition: start });
    let r = readBroadcast(buffer, start);
    assert.deepStrictEqual([r.magic, r.kind, r.version, r.capacity, r.elementSize], [0x5147534d, 5, 1, 4, 16]);
    assert.deepStrictEqual([r.tail, r.skipped, r.subscribers.length], [start, 0, 0]);
    for (let k = 0; k < 4; k++) {
      const p = (start + k) >>> 0;
      assert.strictEqual(new DataView(buffer).getUint32(RECORDS + (p & 3) * 24, true), ((4 * (p - 4) + 2) >>> 0));
    }
    const sub = b.subscribe();
    ['a', { b: 1 }, Buffer.from('c'), 'd', 'e'].forEach((m) => b.publish(m));
    r = readBroadcast(buffer, (start + 1) >>> 0);
    assert.strictEqual(r.tail, (start + 5) >>> 0, 'the positions wrap at 2^32');
    assert.deepStrictEqual(r.messages, [{ b: 1 }, Buffer.from('c'), 'd', 'e']);
    assert.deepStrictEqual(r.subscribers.map((s) => [s.o, s.pid, s.cursor]), [[sub.id, process.pid, start]]);
    sub.tryReceive();
    assert.strictEqual(readBroadcast(buffer, start).subscribers[0].cursor, (start + 2) >>> 0, 'lapped: moved to tail - c, then read one');
    b.close();
  });

  it('a record left being written by a gone publisher is given up as the document says', () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16 });
    const sub = b.subscribe();
    b.publish('one');
    // A publisher of an exited process that claimed position 1 and died: owner record 200 names
    // it (pid, state live), its party record says "publishing position 1", the record says "being
    // written for 1", and tail was moved past it.
    goneClaim(buffer);
    b.publish('three');
    assert.deepStrictEqual(sub.receiveSync(5000), { value: 'one', missed: 0 });
    assert.deepStrictEqual(sub.receiveSync(5000), { value: 'three', missed: 0 });
    const r = readBroadcast(buffer, 0);
    assert.strictEqual(r.skipped, 1);
    assert.deepStrictEqual(r.messages, ['one', { p: 1, d: 2 }, 'three']);
    b.close();
  });

  it('counting subscribers gives up the position a gone publisher left being written, then frees its record', () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16 });
    const sub = b.subscribe();
    b.publish('one');
    // As above: owner record 200, of an exited process, claimed position 1 and died.
    const dv = goneClaim(buffer);
    b.publish('three');
    assert.strictEqual(b.subscribers, 1);
    const r = readBroadcast(buffer, 0);
    assert.strictEqual(r.skipped, 1);
    assert.deepStrictEqual(r.messages, ['one', { p: 1, d: 2 }, 'three']);
    assert.strictEqual(dv.getUint32(256 + 32 * 200, true), 0);
    assert.deepStrictEqual([sub.tryReceive(), sub.tryReceive()], [{ value: 'one', missed: 0 }, { value: 'three', missed: 0 }]);
    b.close();
  });

  it('a gone publisher\'s record naming a position 2^30 before one a live publisher is writing gives nothing up', () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16 });
    b.publish('one');
    // A live publisher (party 201, this process) claimed position 1 and is writing it (its
    // record's word 4, the tail at 2); a gone one (200) was left naming 1 - 2^30, whose word is
    // the same 4 in the same record.
    const dv = goneClaim(buffer, (1 - 2 ** 30) >>> 0);
    liveNamer(dv);
    assert.strictEqual(b.subscribers, 0); // drops gone owners: gives up what they left
    assert.strictEqual(dv.getUint32(RECORDS + 1 * 24, true), 4, 'the live publisher\'s record is still being written');
    assert.strictEqual(readBroadcast(buffer, 0).skipped, 0);
    b.close();
  });

  it("a gone publisher's owner record is kept while a live publisher names its unfinished position too", () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16 });
    const sub = b.subscribe();
    b.publish('one');
    // As above, a publisher of an exited process (owner record 200) claimed position 1 and died;
    // a live one (201, this process) tried position 1 too and lost the claim: its party record
    // names 1 until it next publishes.
    const dv = goneClaim(buffer);
    liveNamer(dv);
    b.publish('three');
    // Counting subscribers drops gone owners, but not record 200: position 1 cannot be given up
    // yet, and once record 200 were freed no gone party would name it (readers would wait a lap).
    assert.strictEqual(b.subscribers, 1);
    assert.strictEqual(dv.getUint32(256 + 32 * 200, true) !== 0, true);
    dv.setUint32(8448 + 64 * 201, 0, true); // the live publisher moves on
    assert.deepStrictEqual(sub.receiveSync(5000), { value: 'one', missed: 0 });
    assert.deepStrictEqual(sub.receiveSync(5000), { value: 'three', missed: 0 });
    assert.strictEqual(readBroadcast(buffer, 0).skipped, 1);
    assert.strictEqual(b.subscribers, 1);
    assert.strictEqual(dv.getUint32(256 + 32 * 200, true), 0, 'freed once its position was given up');
    dv.setUint32(256 + 32 * 201, 0, true);
    b.close();
  });

  it('a publisher gone between claiming the next lap of a record and moving tail stops no reader', () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16 });
    const sub = b.subscribe();
    ['m0', 'm1', 'm2', 'm3'].forEach((m) => b.publish(m));
    // Position 4 (the record of m0) claimed by a publisher of an exited process, tail still 4.
    const dv = new DataView(buffer);
    dv.setUint32(256 + 32 * 200, exitedPid(), true);
    dv.setUint32(8448 + 64 * 200, 1, true);
    dv.setUint32(8448 + 64 * 200 + 4, 4, true);
    dv.setUint32(RECORDS, 16, true);
    const got = [];
    for (let m = sub.tryReceive(); m !== undefined; m = sub.tryReceive()) got.push(m);
    assert.deepStrictEqual(got, [{ value: 'm1', missed: 1 }, { value: 'm2', missed: 0 }, { value: 'm3', missed: 0 }]);
    const r = readBroadcast(buffer, 0);
    assert.deepStrictEqual([r.tail, r.skipped], [5, 1]);
    b.publish('m5');
    assert.deepStrictEqual(sub.tryReceive(), { value: 'm5', missed: 0 });
    b.close();
  });

  it('tags ASCII text Latin-1, other text UTF-8, bytes 0 and numbers binary64; a subscriber receives each as sent', () => {
    const values = ['ascii', 'caf\u00e9', '', { a: 1 }, { b: '\u00ff' }, '\ud83d\ude00', '\u0100', Buffer.from([7]), 7, -0, NaN];
    const tags = [3, 1, 3, 4, 2, 1, 1, 0, 5, 5, 5];
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(16, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 16, messageBytes: 16 });
    const sub = b.subscribe();
    for (const v of values) b.publish(v);
    const r = readBroadcast(buffer, 0);
    assert.deepStrictEqual(r.tags, tags);
    assert.deepStrictEqual(r.messages, values);
    for (const v of values) assert.deepStrictEqual(sub.tryReceive(), { value: v, missed: 0 }); // -0 is not 0 here
    b.close();
  });
});
