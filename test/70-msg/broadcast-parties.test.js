'use strict';
// Broadcast with many parties (docs/api.md "Broadcast"; docs/format.md §15, "Broadcast (kind 5)"):
// subscribers in worker threads of other processes receive every message exactly once and in
// order; a slow subscriber is told exactly what it missed; subscribers join and leave while
// messages flow; kill -9 of a subscriber drops it and frees its record; kill -9 of a publisher in
// the middle of a record never shows a torn message and never stops the channel.
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const { Broadcast } = require('../../index');
const { addon } = require('../../lib/base/native');
const { uniqueName, removeShm, runAndKill, until, spawnChild } = require('../helpers/process');
const { stamped, checkStamped } = require('../helpers/messages');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'bcast-child.js');
const withAddon = addon ? describe : describe.skip;
const tick = () => new Promise((r) => setImmediate(r));

const child = (args) => spawnChild(CHILD, args);

// A worker of bcast-child.js: its messages in order through next().
function worker(workerData) {
  const w = new Worker(CHILD, { workerData });
  const messages = [];
  let wake = null;
  w.on('message', (m) => { messages.push(m); if (wake) wake(); });
  w.on('error', (e) => { messages.push(e); if (wake) wake(); });
  const next = async () => {
    while (!messages.length) await new Promise((r) => { wake = r; });
    wake = null;
    const m = messages.shift();
    if (m instanceof Error) throw m;
    return m;
  };
  return { w, next };
}

// Publishes stamped messages from..to-1, never letting a subscriber fall a lap behind.
async function publishKeepingUp(b, from, to, bytes, counter) {
  for (let i = from; i < to; i++) {
    while (b.maxLag >= b.capacity - 1) await tick();
    b.publish(stamped(i, bytes));
    if (counter) Atomics.store(counter, 0, i + 1);
    if (i % 256 === 0) await tick();
  }
}

async function publishEnd(b) {
  while (b.maxLag >= b.capacity - 1) await tick();
  b.publish('end');
}

withAddon('Broadcast: many parties', () => {
  const names = [];
  afterEach(() => names.splice(0).forEach(removeShm));
  const segment = () => {
    const name = uniqueName('bcast');
    names.push(name);
    return name;
  };

  it('2 processes × 2 worker subscribers that keep up: every one of 20000 messages exactly once, in order', async function () {
    this.timeout(120000);
    const N = 20000;
    const name = segment();
    const b = Broadcast.create({ name, capacity: 256, messageBytes: 32, startPosition: 2 ** 32 - 7000 });
    const kids = [child(['subscribe', name, '2']), child(['subscribe', name, '2'])];
    await until(() => kids.every((k) => k.output().includes('ready')), 'subscribers ready', 60000);
    assert.strictEqual(b.subscribers, 4);
    await publishKeepingUp(b, 0, N, 12);
    await publishEnd(b);
    const results = await Promise.all(kids.map((k) => k.exited));
    const reports = results.flatMap((r) => {
      assert.strictEqual(r.code, 0, r.err);
      return JSON.parse(r.out.trim().split('\n').pop());
    });
    assert.strictEqual(reports.length, 4);
    for (const r of reports) {
      assert.deepStrictEqual(
        [r.received, r.missed, r.first, r.last, r.gaps, r.torn, r.sum],
        [N, 0, 0, N - 1, 0, 0, (N * (N - 1)) / 2],
      );
    }
    assert.strictEqual(b.subscribers, 0, 'closed subscribers left the table');
    b.close();
  });

  it('a slow subscriber: received + missed = published since it joined, exactly, in order', async function () {
    this.timeout(60000);
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(16, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 16, messageBytes: 16 });
    b.publish(stamped(999999, 8)); // before it joins: never received
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const slow = worker({ mode: 'subscribe', where: { buffer }, gate: gate.buffer });
    assert.strictEqual(await slow.next(), 'ready');
    // It starts reading only after 5000 messages: it must have missed at least 5000 - 16.
    for (let i = 0; i < 5000; i++) b.publish(stamped(i, 8));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await publishKeepingUp(b, 5000, 8000, 8);
    await publishEnd(b);
    const s = await slow.next();
    assert.ok(s.missed >= 5000 - 16, `missed ${s.missed}`);
    assert.strictEqual(s.received + s.missed, 8000);
    assert.deepStrictEqual([s.gaps, s.torn, s.last], [0, 0, 7999]);
    assert.ok(s.first >= 5000 - 16);
    b.close();
  });

  it('subscribers join and leave while messages flow: each subscription gets everything from its join on', async function () {
    this.timeout(120000);
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(64, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 64, messageBytes: 16 });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const churners = [0, 1].map(() => worker({ mode: 'churn', where: { buffer }, rounds: 40, counter: counter.buffer }));
    let done = 0;
    const results = churners.map((c) => c.next().then((r) => { done++; return r; }));
    let i = 0;
    while (done < churners.length) {
      await publishKeepingUp(b, i, i + 64, 8, counter);
      i += 64;
    }
    const subscriptions = (await Promise.all(results)).flat();
    assert.strictEqual(subscriptions.length, 80);
    for (const r of subscriptions) {
      assert.deepStrictEqual([r.missed, r.gaps, r.torn], [0, 0, 0]);
      assert.ok(r.first >= r.before, `first ${r.first} was published before the join (${r.before})`);
      assert.ok(r.first <= r.after + 1, `first ${r.first}: a message published after the join (${r.after}) was not received`);
      assert.strictEqual(r.last - r.first + 1, r.received);
    }
    assert.strictEqual(b.subscribers, 0);
    b.close();
  });

  it('kill -9 of a subscriber process: the publisher never waits for it; it is dropped and its record reused', async function () {
    this.timeout(60000);
    const name = segment();
    const b = Broadcast.create({ name, capacity: 8, messageBytes: 16 });
    const mine = b.subscribe();
    const k = child(['hold', name]);
    await until(() => /subscribed (\d+)/.test(k.output()), 'child subscribed', 30000);
    const deadId = Number(/subscribed (\d+)/.exec(k.output())[1]);
    assert.strictEqual(b.subscribers, 2);
    for (let i = 0; i < 1000; i++) b.publish(stamped(i, 8)); // 125 laps past the child's cursor
    k.c.kill('SIGKILL');
    assert.strictEqual((await k.exited).signal, 'SIGKILL');
    assert.strictEqual(b.subscribers, 1, 'the dead subscriber is dropped');
    const ids = [b.subscribe().id, b.subscribe().id];
    assert.ok(ids.includes(deadId), `the dead subscriber's record ${deadId} is reused (${ids})`);
    const r = mine.tryReceive();
    assert.deepStrictEqual([checkStamped(r.value), r.missed], [992, 992]);
    b.close();
  });

  it('kill -9 of a publisher at random moments: no torn message, order kept, the channel goes on', async function () {
    this.timeout(120000);
    const name = segment();
    const bytes = 60000;
    const b = Broadcast.create({ name, capacity: 8, messageBytes: 65536 });
    const sub = b.subscribe();
    let last = -1;
    let received = 0;
    const onMessage = ({ value, missed }) => {
      if (value === 'marker') {
        last = -1; // the next publisher numbers from 0 again
        return true;
      }
      const i = checkStamped(value);
      assert.ok(i >= 0, 'a torn message was returned');
      if (last >= 0) assert.strictEqual(i, last + 1 + missed);
      last = i;
      received++;
      return false;
    };
    const KILLS = 4;
    for (let round = 0; round < KILLS; round++) {
      const run = runAndKill(CHILD, ['publish', name, String(bytes)], { ready: /ready/, maxDelayMs: 40 });
      let exited = false;
      run.then(() => { exited = true; });
      while (!exited) {
        const r = await sub.receive({ timeoutMs: 50 }).catch((e) => {
          if (e.code !== 'ERR_QUEUE_TIMEOUT') throw e;
        });
        if (r) onMessage(r);
      }
      assert.strictEqual((await run).signal, 'SIGKILL');
      // Whatever the publisher left half written, the marker published now reaches the subscriber.
      b.publish('marker');
      for (;;) {
        if (onMessage(await sub.receive({ timeoutMs: 20000 }))) break;
      }
    }
    assert.ok(received > 0);
    assert.ok(b.skipped <= KILLS, `given up: ${b.skipped}`);
    b.close();
  });

  it('a worker terminated while blocked in receiveSync() is dropped', async () => {
    const buffer = new SharedArrayBuffer(Broadcast.bytesFor(4, { messageBytes: 16 }));
    const b = Broadcast.create({ buffer, capacity: 4, messageBytes: 16 });
    const w = worker({ mode: 'block', where: { buffer } });
    const { id } = await w.next();
    assert.strictEqual(b.subscribers, 1);
    await new Promise((r) => setTimeout(r, 20));
    await w.w.terminate();
    assert.strictEqual(b.subscribers, 0);
    assert.ok([b.subscribe().id, b.subscribe().id].includes(id), 'its record is reused');
    b.publish('still works');
    b.close();
  });
});
