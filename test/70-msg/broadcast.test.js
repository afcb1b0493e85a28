'use strict';
// Broadcast (docs/api.md "Broadcast"; bytes and protocol: docs/format.md §15, "Broadcast (kind 5)"):
// one handle's behaviour, bad arguments and the registry kind. Many parties, processes and kill -9:
// broadcast-parties.test.js.
const assert = require('assert');
const { Broadcast, MpmcQueue, Registry } = require('../../index');
const { C } = require('../../lib/layout/layout');
const { OwnerTable } = require('../../lib/ownership/owners');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, exitedPid } = require('../helpers/process');
const { stamped, checkStamped } = require('../helpers/messages');

function broadcast(capacity = 8, messageBytes = 64, extra = {}) {
  const buffer = new SharedArrayBuffer(Broadcast.bytesFor(capacity, { messageBytes }));
  return Broadcast.create({ buffer, capacity, messageBytes, ...extra });
}

// Every message a subscriber holds now, as [value, missed] pairs.
function drain(sub) {
  const out = [];
  for (let r = sub.tryReceive(); r !== undefined; r = sub.tryReceive()) out.push([r.value, r.missed]);
  return out;
}

describe('Broadcast', () => {
  it('every subscriber receives every message published after it joined, in order, as { value, missed }', async () => {
    const b = broadcast(8);
    b.publish('before anyone');
    const s1 = b.subscribe();
    b.publish('a');
    b.publish({ b: [1, 2] });
    const s2 = b.subscribe();
    b.publish(Buffer.from([1, 2, 3]));
    assert.deepStrictEqual(drain(s1), [['a', 0], [{ b: [1, 2] }, 0], [Buffer.from([1, 2, 3]), 0]]);
    assert.deepStrictEqual(drain(s2), [[Buffer.from([1, 2, 3]), 0]]);
    assert.strictEqual(s1.tryReceive(), undefined);
    assert.strictEqual(s1.received, 3);
    assert.strictEqual(b.subscribers, 2);
    const pending = s2.receive({ timeoutMs: 10000 });
    setTimeout(() => b.publish('later'), 5);
    assert.deepStrictEqual(await pending, { value: 'later', missed: 0 });
    assert.deepStrictEqual(s1.receiveSync(1000), { value: 'later', missed: 0 });
    s1.close();
    assert.strictEqual(b.subscribers, 1);
    assert.throws(() => s1.tryReceive(), (e) => e.code === 'ERR_CLOSED' && e.status === 8);
    b.close();
    assert.strictEqual(s2.closed, true, 'closing the handle closes its subscribers');
    assert.throws(() => b.publish(1), (e) => e.code === 'ERR_CLOSED');
  });

  it('a subscriber a lap behind is told exactly how many it missed, across the 2^32 wrap of positions', () => {
    const capacity = 16;
    const b = broadcast(capacity, 16, { startPosition: 2 ** 32 - 40 });
    const sub = b.subscribe();
    let published = 0;
    let received = 0;
    let missed = 0;
    let last = -1;
    // Bursts of varying length between reads of varying length: some fit, some lap the reader.
    for (let round = 0; round < 60; round++) {
      const burst = (round * 7) % 41;
      for (let k = 0; k < burst; k++) b.publish(stamped(published++, 8));
      for (let k = 0; k < (round % 5) * 4 + 1; k++) {
        const r = sub.tryReceive();
        if (r === undefined) break;
        const i = checkStamped(r.value);
        assert.strictEqual(i, last + 1 + r.missed, 'in order, the gap being what it was told it missed');
        last = i;
        received++;
        missed += r.missed;
      }
      assert.ok(sub.lag <= capacity || sub.lag === published - received - missed);
    }
    for (let r = sub.tryReceive(); r !== undefined; r = sub.tryReceive()) {
      assert.strictEqual(checkStamped(r.value), last + 1 + r.missed);
      last = checkStamped(r.value);
      received++;
      missed += r.missed;
    }
    assert.ok(missed > 0 && received > 0);
    assert.strictEqual(received + missed, published);
    assert.strictEqual(sub.missed, missed);
    assert.strictEqual(last, published - 1);
    assert.strictEqual(b.skipped, 0);
    b.close();
  });

  it('a subscriber 2^31 or more positions behind is lapped and told what it missed; lag and maxLag count it', () => {
    const capacity = 4;
    const messageBytes = 16;
    const start = 2 ** 32 - 6; // across the wrap of positions at 2^32 too
    // Distances the slow subscriber ends up behind: below 2^31 (as before), 2^31, past it, the most.
    for (const distance of [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 10, 2 ** 32 - 1]) {
      const b = broadcast(capacity, messageBytes, { startPosition: start });
      const slow = b.subscribe(); // joins at `start`, then reads nothing for a long while
      // What `distance - capacity` publications leave for any reader: tail and records as a new
      // channel starting there holds them (create(), startPosition), the owner and party tables
      // kept. Then `capacity` real publications.
      const far = Broadcast.create({
        buffer: new SharedArrayBuffer(Broadcast.bytesFor(capacity, { messageBytes })),
        capacity, messageBytes, startPosition: (start + distance - capacity) % 2 ** 32,
      });
      const from = new Uint8Array(far.buffer);
      const to = new Uint8Array(b.buffer);
      to.set(from.subarray(C.BCAST_CONTROL_OFFSET, C.BCAST_OWNERS_OFFSET), C.BCAST_CONTROL_OFFSET);
      to.set(from.subarray(C.BCAST_RECORDS_OFFSET), C.BCAST_RECORDS_OFFSET);
      far.close();
      for (let i = 0; i < capacity; i++) b.publish(`m${i}`);
      assert.strictEqual(slow.lag, distance);
      assert.strictEqual(b.maxLag, distance);
      assert.deepStrictEqual(drain(slow), [['m0', distance - capacity], ['m1', 0], ['m2', 0], ['m3', 0]], `${distance} behind`);
      assert.strictEqual(slow.missed, distance - capacity);
      assert.strictEqual(slow.received, capacity);
      assert.strictEqual(slow.lag, 0);
      assert.strictEqual(b.maxLag, 0);
      b.publish('next');
      assert.deepStrictEqual(slow.receiveSync(1000), { value: 'next', missed: 0 });
      b.close();
    }
  });

  it('maxLag: the slowest live subscriber', () => {
    const b = broadcast(4);
    assert.strictEqual(b.maxLag, 0);
    const s1 = b.subscribe();
    const s2 = b.subscribe();
    for (let i = 0; i < 3; i++) b.publish(i);
    s1.tryReceive();
    assert.strictEqual(b.maxLag, 3);
    drain(s2);
    assert.strictEqual(b.maxLag, 2);
    s1.close();
    assert.strictEqual(b.maxLag, 0);
    b.close();
  });

  it('maxLag drops a gone subscriber less than a lap behind: a publisher waiting on it goes on', async () => {
    const b = broadcast(8);
    const live = b.subscribe();
    const other = Broadcast.open({ buffer: b.buffer });
    const dead = other.subscribe();
    for (let i = 0; i < 7; i++) b.publish(i);
    drain(live);
    assert.strictEqual(b.maxLag, 7);
    // The subscriber's process is gone (killed with SIGKILL): its owner record names a process
    // that exited, and its cursor stays 7 behind, as close to the capacity as the documented
    // back-pressure loop below waits on.
    const owners = new OwnerTable(new Uint32Array(b.buffer), C.BCAST_OWNERS_OFFSET / Uint32Array.BYTES_PER_ELEMENT, C.BCAST_OWNER_SLOTS);
    Atomics.store(owners.u32, owners.pidWord(dead.id), exitedPid());
    const deadline = Date.now() + 10000;
    while (b.maxLag > b.capacity - 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    assert.strictEqual(b.maxLag, 0);
    assert.strictEqual(b.subscribers, 1);
    b.publish('goes on');
    assert.deepStrictEqual(drain(live), [['goes on', 0]]);
    other.close();
    b.close();
  });

  it('receive(): timeout, AbortSignal, and for await until the subscriber is closed', async () => {
    const b = broadcast(4);
    const sub = b.subscribe();
    await assert.rejects(sub.receive({ timeoutMs: 10 }), (e) => e.code === 'ERR_QUEUE_TIMEOUT' && e.status === 35);
    assert.throws(() => sub.receiveSync(10), (e) => e.code === 'ERR_QUEUE_TIMEOUT');
    const ac = new AbortController();
    const aborted = sub.receive({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    const got = [];
    const loop = (async () => {
      for await (const m of sub) {
        got.push(m);
        if (got.length === 3) setTimeout(() => sub.close(), 5);
      }
    })();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 2));
      b.publish(i);
    }
    await loop;
    assert.deepStrictEqual(got, [0, 1, 2].map((value) => ({ value, missed: 0 })));
    b.close();
  });

  it('bad arguments: clear errors, the channel unchanged', () => {
    const bytes = Broadcast.bytesFor(4, { messageBytes: 8 });
    const buffer = new SharedArrayBuffer(bytes);
    assert.throws(() => Broadcast.create({ buffer, capacity: 3, messageBytes: 8 }), RangeError);
    // Below or above its bounds, the message names the broadcast channel's own bounds.
    const bounds = new RegExp(`must be >= ${C.BCAST_MIN_CAPACITY} and <= ${C.BCAST_MAX_CAPACITY}\\.`);
    assert.throws(() => Broadcast.create({ buffer, capacity: 1, messageBytes: 8 }), (e) => e instanceof RangeError && bounds.test(e.message));
    assert.throws(() => Broadcast.create({ buffer, capacity: 2 ** 29, messageBytes: 8 }), (e) => e instanceof RangeError && bounds.test(e.message));
    assert.throws(() => Broadcast.create({ buffer, capacity: 4, messageBytes: 0 }), RangeError);
    assert.throws(() => Broadcast.create({ buffer, messageBytes: 8 }), TypeError);
    assert.throws(() => Broadcast.create({ buffer, capacity: 4, messageBytes: 9 }), RangeError, 'does not fit');
    assert.throws(() => Broadcast.create({ buffer, capacity: 4, colour: 1 }), TypeError);
    assert.throws(() => Broadcast.create(null), TypeError);
    assert.throws(() => Broadcast.open({ buffer }), (e) => e.code === 'ERR_BAD_MAGIC' && e.status === 9);
    assert.throws(() => Broadcast.bytesFor(5), RangeError);
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 8 });
    const sub = b.subscribe();
    b.publish('12345678');
    assert.throws(() => b.publish('123456789'), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE' && e.status === 36);
    assert.throws(() => b.publish(Buffer.alloc(9)), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => b.publish(undefined), TypeError);
    assert.throws(() => b.publish(() => 1), TypeError);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => b.publish(cyclic), TypeError);
    assert.throws(() => sub.receiveSync(-1), RangeError);
    assert.throws(() => sub.receive({ timeoutMs: 'soon' }), TypeError);
    assert.throws(() => sub.receive({ signal: {} }), TypeError);
    assert.deepStrictEqual(drain(sub), [['12345678', 0]], 'nothing of the refused messages was published');
    assert.throws(() => new Broadcast(), TypeError);
    b.close();
    const q = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(4)), capacity: 4 });
    assert.throws(() => Broadcast.open({ buffer: q.buffer }), (e) => e.code === 'ERR_BAD_MAGIC' && /MPMC queue/.test(e.message));
    q.close();
  });

  it('a full owner table refuses a subscriber with ERR_TOO_MANY_HANDLES; unsubscribing frees a record', () => {
    const b = broadcast(2);
    const subs = [];
    for (;;) {
      try {
        subs.push(b.subscribe());
      } catch (e) {
        assert.strictEqual(e.code, 'ERR_TOO_MANY_HANDLES');
        break;
      }
    }
    assert.strictEqual(subs.length, 254, 'records 1..255, one of them the handle\'s');
    const freed = subs.pop();
    freed.close();
    const again = b.subscribe();
    assert.strictEqual(again.id, freed.id);
    b.publish('to all');
    assert.ok([...subs, again].every((s) => s.tryReceive().value === 'to all'));
    b.close();
  });

  // A segment needs the addon.
  (addon ? it : it.skip)('on a segment by name, opened by a second handle; and as the registry kind "broadcast"', () => {
    const name = uniqueName('bcast');
    const b = Broadcast.create({ name, capacity: 8, messageBytes: 32 });
    try {
      const other = Broadcast.open({ name });
      const sub = other.subscribe();
      b.publish({ hello: 'world' });
      assert.deepStrictEqual(sub.tryReceive(), { value: { hello: 'world' }, missed: 0 });
      assert.strictEqual(other.capacity, 8);
      assert.strictEqual(other.messageBytes, 32);
      other.close();
    } finally {
      b.close();
      removeShm(name);
    }
    const regName = uniqueName('bcast-reg');
    const reg = Registry.create({ name: regName, size: 1 << 20 });
    try {
      const news = reg.create('broadcast', 'news', { capacity: 16, messageBytes: 64 });
      const reader = reg.open('broadcast', 'news');
      const sub = reader.subscribe();
      news.publish('extra');
      assert.deepStrictEqual(sub.tryReceive(), { value: 'extra', missed: 0 });
      assert.deepStrictEqual(reg.list().find((e) => e.name === 'news').options, { capacity: 16, messageBytes: 64 });
      assert.throws(() => reg.delete('news'), (e) => e.code === 'ERR_IN_USE');
      reg.close();
    } finally {
      removeShm(regName);
    }
  });
});
