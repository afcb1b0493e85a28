'use strict';
// Every ```js block of docs/api.md runs against the package, in the order of the document, so
// that an example that no longer matches the API (a method, option or export renamed or gone,
// arguments in another order, a result its comment states that the call does not give) fails.
//
// How a block runs. The blocks of one `##` section are fragments of one program. Each runs in an
// async function of its own (so that `await` at its top level, and a `const` that a later block
// declares again, work as a reader expects), with in scope: the package's exports, the section's
// prelude (what the examples take as given: `html`, a helper `handle(m)`, a queue `q`, ...) and
// every name the earlier blocks of the section declared at their top level. `require('shmstore')`
// is the package itself (a package may require itself by its name).
//
// Results. A trailing comment that is a value (`// → [1, 2, undefined]`, `// 8512`, `// false`)
// is compared with the value of its line (a declaration's initialiser, console.log's argument,
// an expression statement); `// throws ShmError ERR_X` expects that error. A `// →` comment that
// is not a value needs a check in CLAIMS, and every checked line must be reached.
//
// What the examples cannot do as they are written, the tables below do, each entry with its
// reason. Segment names get a prefix of the section's own (and every string that is an absolute
// path becomes a path in the section's temporary directory), so that runs never meet; a block
// that waits for another party gets one (a worker thread, or a callback run meanwhile); an
// endless loop ends when a helper it calls throws. The tables name blocks by one of their lines,
// which must be in exactly one block: an entry that names none fails, so they follow the document.
const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const workerThreads = require('worker_threads');
const shmstore = require('../..');
const { uniqueName } = require('../helpers/process');
const { startRedis } = require('../helpers/redis-server');
const { bucketWord } = require('../helpers/store-bytes');

const ROOT = path.join(__dirname, '..', '..');
const DOC = 'docs/api.md';
const { Segment, Store, MpmcQueue, Broadcast, Channel } = shmstore;
const AsyncFunction = (async () => {}).constructor;

// ---------------------------------------------------------------------------------------------
// The blocks.

/** The ```js blocks of the document: { index, line (of its first code line), section, lines }. */
function readBlocks() {
  const text = fs.readFileSync(path.join(ROOT, DOC), 'utf8').split('\n');
  const blocks = [];
  let section = '';
  let open = null;
  text.forEach((line, i) => {
    if (open === null) {
      if (/^## /.test(line)) section = line.slice(3).trim();
      const m = /^\s*```(\S*)\s*$/.exec(line);
      if (m) open = { lang: m[1], line: i + 2, lines: [] };
    } else if (/^\s*```\s*$/.test(line)) {
      if (open.lang === 'js') blocks.push({ index: blocks.length, line: open.line, section, lines: open.lines });
      open = null;
    } else {
      open.lines.push(line);
    }
  });
  return blocks;
}

const BLOCKS = readBlocks();
const where = (block, i = 0) => `${DOC}:${block.line + i}`;

// ---------------------------------------------------------------------------------------------
// The tables.

// Blocks that do not run, with why. Kept short: everything else runs.
const SKIP = [
  {
    line: 'has: { ... }, ttl, set, delete, clear, keys, entries, count, getMany, setMany,',
    why: 'a sketch of a latency snapshot\'s fields, with `...` for what is left out: not code',
  },
];

// `name:` string literals that are not segment names (every other one gets the section's prefix).
const NOT_SEGMENT_NAMES = new Set([
  'Ada', // a field of a value the store example stores
]);

// Result comments that are not values, or values the section's store differs from (the document
// shows one moment of one store), and the checks made instead.
const CLAIMS = [
  {
    line: 'store.ttl(\'sessions\', \'u42\'); // → 1799993',
    check: (v) => assert.ok(Number.isInteger(v) && v > 0 && v <= 30 * 60e3, String(v)), // a TTL of 30 min, counting down
  },
  {
    line: 'store.namespaces(); // → [\'agent-7\', \'shared\']',
    // The section's store holds the namespaces of all its examples, not just these two.
    check: (v) => assert.ok(Array.isArray(v) && v.every((n) => typeof n === 'string') && v.includes('agent-7'), String(v)),
  },
  {
    line: 'store.stats().namespaceStats.cache; // → { count, hits, misses, evictions, expirations, bytes, eviction: \'clock\', ttl: Infinity }',
    check: (v) => {
      assert.deepStrictEqual(Object.keys(v).sort(), ['bytes', 'count', 'eviction', 'evictions', 'expirations', 'hits', 'misses', 'ttl']);
      assert.strictEqual(v.eviction, 'clock');
      assert.strictEqual(v.ttl, Infinity);
    },
  },
  {
    line: 'store.disableLatency(); // store.latencyEnabled === false, store.latency() === null',
    check: (v) => {
      assert.strictEqual(v.latencyEnabled, false);
      assert.strictEqual(v.latency(), null);
      assert.strictEqual(Object.hasOwn(v, 'get'), false); // the class's own methods again
    },
  },
  {
    line: 'const ready = ring.tryDequeueBatch(); // everything published up to now, or []',
    check: (v) => assert.deepStrictEqual(v, []), // the batch before took every message
  },
  {
    line: 'const queued = q.tryDequeueBatch(64); // at most 64, [] when empty',
    check: (v) => assert.deepStrictEqual(v, []), // the batch before took every message
  },
  {
    line: 'const maybe = s.tryPop(); // undefined when empty',
    check: (v) => assert.strictEqual(v, undefined),
  },
  {
    line: 'const latest = sub.tryReceive(); // undefined when nothing new is published',
    check: (v) => assert.strictEqual(v, undefined),
  },
  {
    line: 'q.disableLatency(); // the class\'s own methods again; q.latencyEnabled === false, q.latency() === null',
    check: (v) => {
      assert.strictEqual(v.latencyEnabled, false);
      assert.strictEqual(v.latency(), null);
      assert.strictEqual(Object.hasOwn(v, 'tryDequeue'), false);
    },
  },
  {
    line: 'const n = ring.tryDequeueInto(out); // 2: out[0] = 0.5, out[1] = 0.25',
    check: (v) => assert.strictEqual(v, 2),
  },
  {
    line: 'const bytes = BufferPool.bytesFor(16, 1 << 20); // 16 MiB and 9280 bytes of records',
    check: (v) => assert.strictEqual(v, 16 * (1 << 20) + 9280),
  },
  {
    line: 'const { handle, view } = heap.allocate(1500); // a 2048-byte block; view.length === 1500',
    check: (v) => assert.strictEqual(v.view.length, 1500),
  },
  {
    line: 'const got = heap2.view(handle); // the same 1500 bytes',
    check: (v, scope) => assert.deepStrictEqual(Buffer.from(v), Buffer.from(scope.bytes)),
  },
  {
    line: 'MemoryPool.powersOfTwo(64, 1024, 8); // sizes 64, 128, 256, 512, 1024',
    check: (v) => assert.deepStrictEqual(v, [64, 128, 256, 512, 1024].map((size) => ({ size, count: 8 }))),
  },
  {
    line: 'console.log(Atomics.load(u32, layout.AT.HEADER.ENTRY_COUNT)); // entries, as stats().entries',
    check: (v, scope) => assert.strictEqual(v, scope.store.stats().entries),
  },
  {
    line: 'await adapter.getMany([\'u1\', \'u2\']); // → [\'{"value":…}\', undefined]',
    // `…` stands for the rest of what Keyv serialised.
    check: (v) => {
      assert.strictEqual(v.length, 2);
      assert.match(v[0], /^\{"value":/);
      assert.strictEqual(v[1], undefined);
    },
  },
];

// What the test does around particular blocks, each with why:
//   before(scope, ctx), after(scope, ctx): run before / after the block (scope: the section's
//     names, which they may set);
//   replace: [from, to(ctx)]: text of the block replaced before it runs;
//   keep: names the block declares that stay the block's own (the section keeps its earlier ones);
//   meanwhile(scope, ctx): the block is started, this runs while it waits, then the block ends;
//   later: the block is started and ends while the next block runs (that block wakes it);
//   thread: the block runs in a worker thread (the other party of the next blocks);
//   stop: [helper, n]: the block is an endless loop, ended by the nth call of that helper,
//     which throws;
//   parts: lines that start another program: the block runs as those programs one after the
//     other, each in its own scope.
const ADJUST = [
  // Store
  {
    line: 'store.set(\'blobs\', \'model.bin\', fs.readFileSync(\'model.bin\')); // up to 64 MiB',
    why: 'the file is one the prelude wrote in the temporary directory (100 KB: a large value)',
    replace: [['\'model.bin\')', (ctx) => `${JSON.stringify(path.join(ctx.tmp, 'model.bin'))})`]],
  },
  {
    line: '// agent.js',
    why: 'the main thread\'s code and agent.js are two programs: they run one after the other',
    parts: ['// agent.js'],
  },
  {
    line: 'const s = Store.attach(workerData.buffer);',
    why: 'the worker is given the buffer of the section\'s store; this thread plays it',
    before: (scope) => { scope.workerData = { buffer: scope.store.buffer }; },
  },
  {
    line: 'const store = Store.create({ name: \'app-cache\', size: 64 << 20, eviction: \'auto\' });',
    why: 'a new example of a store of the name the first one created: that one is unlinked first',
    before: (scope, ctx) => Segment.unlink({ name: ctx.shm('app-cache') }),
  },
  {
    line: 'const all = Store.mergeLatency(snapshotsFromWorkers);',
    why: 'what two workers posted: the histograms of a handle that worked, and null from one without latency',
    before: (scope) => {
      const h = Store.attach(scope.store.buffer, { latency: true });
      h.set('w', 'k', 'v');
      h.get('w', 'k');
      scope.snapshotsFromWorkers = [h.latency(), null];
      h.close();
    },
  },
  {
    line: 'store.repair();',
    why: 'a bucket\'s entry count is damaged first, so that verify() finds a problem and the repair branch runs',
    before: (scope) => {
      const u32 = new Uint32Array(scope.store.buffer);
      u32[bucketWord(0, shmstore.layout.W.BUCKET.COUNT)] += 1;
    },
  },
  // Persistence
  {
    line: 'const restored = Store.restore(\'/backups/agents\', { name: \'agent-memory\', dir: \'/var/lib/agents\' });',
    why: 'the section\'s store still holds that name and directory, and a restore never overwrites a store (ERR_SHM_EXISTS)',
    replace: [
      ['name: \'agent-memory\'', () => 'name: \'agent-memory-2\''],
      ['dir: \'/var/lib/agents\'', () => 'dir: \'/var/lib/agents-2\''],
    ],
  },
  // futex: process A and process B of the example are a worker thread and this thread.
  {
    line: 'while (Atomics.load(flag, 0) === 0) futex.wait(flag, 0, 0);',
    why: 'process A blocks until process B (a later block) sets the flag: it is a worker thread',
    thread: true,
  },
  {
    line: 'while (Atomics.load(flag, 0) === 0) await futex.waitAsync(flag, 0, 0);',
    why: 'it waits for process B, the next block',
    later: true,
  },
  // Mutex
  {
    line: 'if (m.recoveries > 0) console.warn(\'a holder died at least once\');',
    why: 'the section\'s mutex handle was closed by the block before: this one is open',
    before: (scope, ctx) => { scope.m = ctx.track(shmstore.Mutex.open({ name: ctx.shm('jobs-lock') })); },
  },
  // Sync objects
  {
    line: 'rw.writeUnlock();',
    why: 'the example releases a write lock its handle holds',
    before: (scope) => { scope.rw.writeLock(); },
  },
  {
    line: 'while (!jobReady()) ready.wait(m, 5000);',
    why: 'another thread makes the job ready and notifies once this one waits',
    before: (scope, ctx) => notifier(scope, ctx),
  },
  {
    line: 'while (!jobReady()) await ready.waitAsync(m, 5000);',
    why: 'another thread makes the job ready and notifies once this one waits',
    before: (scope, ctx) => notifier(scope, ctx),
  },
  {
    line: 'for (;;) { simulate(part); if (mine.wait(60000).leader) publish(); }',
    why: 'the other three parties are worker threads; the second step\'s simulate() ends the loop',
    before: (scope, ctx) => barrierParties(ctx, 3),
    stop: ['simulate', 2],
  },
  {
    line: 'await mine.waitAsync(60000);',
    why: 'the other three parties are worker threads',
    before: (scope, ctx) => barrierParties(ctx, 3),
  },
  {
    line: 'try { mine.wait(5000); } catch (e) { if (e.code === \'ERR_BARRIER_BROKEN\') mine.reset(3); }',
    why: 'a party gave up first (a wait that timed out), which breaks the barrier the example mends',
    before: (scope) => assert.throws(() => scope.step.wait(0), { code: 'ERR_LOCK_TIMEOUT' }),
    after: (scope) => assert.deepStrictEqual([scope.mine.parties, scope.mine.broken], [3, false]),
  },
  {
    line: 'jobs.wait(30000);',
    why: 'a worker thread finishes the tasks still counted',
    before: (scope, ctx) => {
      ctx.defer(inThread(ctx, (lib, { buffer }) => {
        const wg = lib.WaitGroup.open({ buffer });
        while (wg.count > 0) wg.done();
        wg.close();
      }, { buffer: scope.jobs.buffer }));
    },
  },
  // Registry
  {
    line: 'const registry = Registry.create({ name: \'my-app\', size: 1 << 20, maxEntries: 64 });',
    why: 'a new example of a registry of the name the first one created: that one is unlinked first',
    before: (scope, ctx) => Segment.unlink({ name: ctx.shm('my-app') }),
  },
  {
    line: 'const jobs = registry.open(\'store\', \'jobs\', { engine: \'js\' });',
    why: 'the registry holds the store of the section\'s first example',
    before: (scope) => { scope.registry.create('store', 'jobs', { size: 1 << 20 }).close(); },
  },
  {
    line: 'registry.delete(\'jobs.lock\');',
    why: 'the other handle on jobs.lock, made by an earlier block, is closed too: a mutex in use is not deleted',
    before: (scope) => scope.m.close(),
  },
  // SpscRing
  {
    line: 'const m = await ring.dequeueAsync({ timeoutMs: 1000 });',
    why: 'the producer has sent a message',
    before: (scope) => scope.ring.enqueue({ job: 43 }),
  },
  {
    line: 'const m = ring.dequeueInto(out, 1000); // in a worker: blocks until at least one element arrives',
    why: 'the elements another party sends arrive before each wait',
    keep: ['ring'], // a ring of elements of its own: the section's ring stays the one of messages
    replace: [
      ['const m = ring.dequeueInto(', () => 'ring.tryEnqueue(new Float64Array([1])); const m = ring.dequeueInto('],
      ['const k = await ring.dequeueIntoAsync(', () => 'ring.tryEnqueue(new Float64Array([2])); const k = await ring.dequeueIntoAsync('],
    ],
  },
  // MpmcQueue
  {
    line: 'for (;;) handle(await q.dequeueAsync());',
    why: 'a worker loops for ever: the first message handled ends it',
    stop: ['handle', 1],
  },
  // Stack
  {
    line: 'const frame = await s.popAsync({ timeoutMs: 5000 });',
    why: 'the stack holds a frame for each pop that waits',
    before: (scope) => scope.s.push('frame-2'),
  },
  // Channel
  {
    line: 'for await (const result of Channel.open({ name: \'results\' })) console.log(result);',
    why: 'the producers send two results and close the channel while the loop waits',
    meanwhile: async (scope, ctx) => {
      const ch = Channel.open({ name: ctx.shm('results') });
      await ch.send({ id: 1 });
      await ch.send({ id: 2 });
      ch.close();
      ch.dispose();
    },
    after: (scope, ctx) => assert.deepStrictEqual(ctx.logs.map((l) => l[0]), [{ id: 1 }, { id: 2 }]),
  },
  {
    line: 'for await (const m of ch) handle(m);',
    why: 'a sender sent a message for the loop; its first message ends it',
    before: (scope) => scope.ch.trySend('last'),
    stop: ['handle', 1],
  },
  {
    line: 'await ch.sendBatch(more, { timeoutMs: 100 });',
    why: '`more` holds more values than the channel has slots, so the batch times out and the catch runs',
    after: (scope, ctx) => assert.strictEqual(ctx.calls.retryLater.length, 1),
  },
  // Broadcast
  {
    line: 'for await (const { value, missed } of sub) {',
    why: 'a publisher publishes while the subscriber waits; the first value logged ends the loop',
    meanwhile: (scope, ctx) => {
      const b = Broadcast.open({ name: ctx.shm('prices') });
      b.publish({ sym: 'ACME', px: 12.75 });
      b.close();
    },
    stop: ['console.log', 1],
    after: (scope, ctx) => assert.deepStrictEqual(ctx.logs, [[{ sym: 'ACME', px: 12.75 }]]),
  },
  {
    line: 'const { value, missed } = await sub.receive({ timeoutMs: 1000 });',
    why: 'a publisher published two messages since the subscription',
    before: (scope) => {
      scope.b.publish('first');
      scope.b.publish('second');
    },
  },
  // ObjectPool
  {
    line: 'const dv = pool.data(handle);',
    why: '`handle` is the record the block before acquired from this pool',
    before: (scope) => { scope.handle = scope.got.handle; },
  },
  // LangGraph
  {
    line: 'const graph = new StateGraph(State).addNode(\'agent\', callModel) /* ... */.compile({ checkpointer });',
    why: 'the example leaves out the graph\'s edges: its one node runs first',
    replace: [['/* ... */', () => '.addEdge(\'__start__\', \'agent\')']],
  },
  {
    line: 'await memory.listNamespaces({ prefix: [\'users\'], maxDepth: 2 }); // → [[\'users\', \'42\'], [\'users\', \'7\']]',
    why: 'the store holds memories of the two users the example shows',
    before: async (scope) => {
      await scope.memory.put(['users', '42', 'memories'], 'food', { likes: 'pizza' });
      await scope.memory.put(['users', '7', 'prefs'], 'theme', { dark: true });
    },
  },
  // Metrics
  {
    line: '}).listen(9464);',
    why: 'a port the system chooses (9464 may be taken); the page is then read once. The next '
      + 'example is another program, with a registry of its own (a second storeMetrics with the '
      + 'same prefix on one registry is refused)',
    replace: [['.listen(9464)', () => '.listen(0)']],
    keep: ['registry'],
    after: async (scope, ctx) => {
      const body = await get(ctx.servers.at(-1));
      assert.match(body, /^shmstore_entries\{store="cache"\} \d+$/m);
      assert.match(body, /^shmstore_namespace_entries\{store="cache",namespace="sessions"\} \d+$/m);
    },
  },
  {
    line: 'const reader = Store.open({ name: \'app-cache\' });',
    why: 'the scrape shows the latency of the set the interval made',
    after: async (scope) => {
      assert.match(await scope.registry.metrics(), /^shmstore_op_latency_seconds\{store="cache",op="set",quantile="0\.99"\} /m);
    },
  },
  // Keyv adapter
  {
    line: 'await adapter.getMany([\'u1\', \'u2\']); // → [\'{"value":…}\', undefined]',
    why: 'u1 holds a value Keyv wrote through the adapter',
    before: (scope) => new scope.Keyv({ store: scope.adapter }).set('u1', { user: 1 }),
  },
  {
    line: 'const l2 = new Keyv({ store: new KeyvRedis(\'redis://cache.internal:6379\'), namespace: \'app\' });',
    why: 'the Redis server is one the prelude started',
    replace: [['\'redis://cache.internal:6379\'', (ctx) => JSON.stringify(ctx.redis.url)]],
  },
];

// ---------------------------------------------------------------------------------------------
// The sections' preludes: what their examples take as given. ctx.shm(name) is the segment name
// the examples' `name` becomes; ctx.track(x) has x closed with the section.

const SECTIONS = {
  Store: {
    prelude: (ctx) => {
      fs.writeFileSync(path.join(ctx.tmp, 'model.bin'), crypto.randomBytes(100000));
      return {
        fs,
        html: '<!doctype html><title>home</title>',
        myShareOfTheUpdates: [['u1', { cart: [] }], ['u2', { cart: ['tea'] }]],
      };
    },
  },
  Persistence: {
    prelude: () => ({ batch: [['k1', 1], ['k2', { v: 2 }]] }),
  },
  futex: {
    prelude: (ctx) => {
      // The segment of the Segment section's examples, which the processes A and B open.
      const seg = ctx.track(Segment.create({ name: ctx.shm('my-app.state'), size: 4096 }));
      const flag = new Int32Array(seg.buffer);
      // A futex.wait without a timeout holds its worker until a wake, even against terminate().
      ctx.unblock.push(() => {
        Atomics.store(flag, 0, 1);
        shmstore.futex.wake(flag, 0);
      });
      return { flag };
    },
  },
  'Sync objects: RwLock, Condition, Semaphore, Barrier, WaitGroup': {
    prelude: () => {
      const ready = new Int32Array(new SharedArrayBuffer(4)); // the job the condition waits for
      return {
        readyWord: ready,
        jobReady: () => Atomics.load(ready, 0) === 1,
        setJobReady: () => Atomics.store(ready, 0, 1),
        shutdown: false,
        signal: new AbortController().signal,
        part: 0,
        workers: ['w1', 'w2', 'w3'],
      };
    },
  },
  SpscRing: {
    prelude: () => ({ lines: ['one', 'two', 'three'] }),
  },
  MpmcQueue: {
    prelude: () => ({ rows: [{ id: 1 }, { id: 2 }, { id: 3 }], lines: ['one', 'two', 'three'] }),
  },
  Channel: {
    prelude: async (ctx) => {
      // The queue 'jobs' of the MpmcQueue section, whose latency the last example reads; its
      // workers posted the snapshot of a handle that waited for a message.
      const jobs = ctx.track(MpmcQueue.create({ name: ctx.shm('jobs'), capacity: 16 }));
      const worker = ctx.track(MpmcQueue.open({ name: ctx.shm('jobs') }).enableLatency());
      jobs.enqueue('job');
      await worker.dequeueAsync();
      return {
        rows: [{ id: 1 }, { id: 2 }],
        more: Array.from({ length: 100 }, (_, i) => ({ id: i })),
        snapshotsFromWorkers: [worker.latency()],
      };
    },
  },
  BufferPool: {
    prelude: () => ({
      payload: Buffer.from('payload'),
      length: 5,
      readFrameInto: (view) => {
        view.set(Buffer.from('frame'));
        return 5;
      },
    }),
  },
  ObjectPool: {
    prelude: (ctx) => ({ x: 1.5, y: -2.5, q: ctx.track(MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16 })) }),
  },
  MemoryPool: {
    prelude: (ctx) => ({
      bytes: crypto.randomBytes(1500),
      q: ctx.track(MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16 })),
    }),
  },
  layout: {
    prelude: (ctx) => {
      const store = ctx.track(Store.create({ name: ctx.shm('layout-store'), size: 1 << 20 }));
      store.setMany('n', [['a', 1], ['b', 2], ['c', 3]]);
      return { store };
    },
  },
  LangGraph: {
    prelude: () => {
      const { Annotation, StateGraph } = require('@langchain/langgraph');
      const { emptyCheckpoint } = require('@langchain/langgraph-checkpoint');
      const State = Annotation.Root({ messages: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }) });
      const callModel = async (state) => ({ messages: [`answer ${state.messages.length}`] });
      const checkpoint = { ...emptyCheckpoint(), channel_values: { messages: ['hi'] }, channel_versions: { messages: 2 } };
      return {
        State,
        callModel,
        input: { messages: ['hello'] },
        builder: new StateGraph(State).addNode('agent', callModel).addEdge('__start__', 'agent'),
        config: { configurable: { thread_id: 'user-42', checkpoint_ns: '' } },
        checkpoint,
        reply: 'hello to you',
        taskId: 'task-1',
      };
    },
  },
  Metrics: {
    prelude: (ctx) => {
      const { Registry } = require('prom-client');
      const setup = ctx.track(Store.create({ name: ctx.shm('app-cache'), size: 1 << 20 }));
      setup.set('sessions', 'u1', { user: 1 });
      // The last example's: every process's handle with latency, and a registry of its own.
      return { store: ctx.track(Store.open({ name: ctx.shm('app-cache'), latency: true })), registry: new Registry() };
    },
  },
  'Keyv adapter': {
    prelude: async (ctx) => {
      ctx.redis = await startRedis();
      ctx.cleanups.push(() => ctx.redis.stop());
      return { db: { user: async (id) => ({ id, name: `user ${id}` }) } };
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Helpers of the tables.

// Runs fn(shmstore, data) in a worker thread; resolves when it has returned and the thread ended.
// fn is written in this file but runs in the worker: it uses only its arguments.
function inThread(ctx, fn, data) {
  const source = `const { workerData } = require('worker_threads');
    (async () => (${fn})(require(workerData.root), workerData.data))();`;
  return runWorker(ctx, source, { root: ROOT, data });
}

// The section's cleanup terminates a worker still running (a block before it failed).
function runWorker(ctx, source, workerData) {
  return new Promise((resolve, reject) => {
    const w = new workerThreads.Worker(source, { eval: true, workerData });
    ctx.workers.push(w);
    let failed = null;
    w.on('error', (e) => { failed = e; });
    w.on('exit', (code) => (failed || code !== 0 ? reject(failed || new Error(`worker exited with ${code}`)) : resolve()));
  });
}

// Another thread that waits until this one waits on the condition (a wait releases the mutex),
// then makes the job ready and notifies, holding the mutex as the example's notifiers do.
function notifier(scope, ctx) {
  Atomics.store(scope.readyWord, 0, 0);
  ctx.defer(inThread(ctx, (lib, { buffer, word }) => {
    const m = lib.Mutex.open({ buffer });
    const c = lib.Condition.open({ buffer, byteOffset: lib.Mutex.BYTES });
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (c.waiting === 0) Atomics.wait(nap, 0, 0, 1);
    m.lock();
    Atomics.store(new Int32Array(word), 0, 1);
    c.notifyAll();
    m.unlock();
    m.close();
    c.close();
  }, { buffer: scope.buffer, word: scope.readyWord.buffer }));
}

// n parties of the barrier 'sim-step' in worker threads, each waiting once.
function barrierParties(ctx, n) {
  for (let i = 0; i < n; i++) {
    ctx.defer(inThread(ctx, (lib, { name }) => {
      const b = lib.Barrier.open({ name });
      try {
        b.wait(60000);
      } finally {
        b.close();
      }
    }, { name: ctx.shm('sim-step') }));
  }
}

async function get(server) {
  if (!server.listening) await new Promise((r) => server.once('listening', r));
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.address().port, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// Reading a block.

/** [code, comment] of a line: the comment is the text after a `//` outside strings, or null. */
function splitComment(text) {
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '\'' || c === '"' || c === '`') {
      quote = c;
    } else if (c === '/' && text[i + 1] === '/') {
      return [text.slice(0, i).trimEnd(), text.slice(i + 2).trim()];
    }
  }
  return [text, null];
}

const LITERAL_WORDS = new Set(['true', 'false', 'null', 'undefined', 'Infinity', 'NaN']);

/**
 * The value a comment states, as { value }, or null when it is prose. A value is a literal:
 * numbers, strings, arrays and objects of them; any other word (outside strings, and not a key)
 * makes it prose, so that no comment is ever run as code.
 */
function statedValue(comment) {
  const text = comment.replace(/^→\s*/, '');
  const bare = text.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '\'\'');
  if (/[`()=;]/.test(bare)) return null;
  for (const m of bare.matchAll(/[A-Za-z_$][\w$]*/g)) {
    if (!LITERAL_WORDS.has(m[0]) && !/^\s*:/.test(bare.slice(m.index + m[0].length))) return null;
  }
  try {
    return { value: new Function(`'use strict'; return (${text});`)() };
  } catch {
    return null;
  }
}

/**
 * The line with its stated result checked: the value of the line goes through __claim(i, ...),
 * or the statement through __throws(i, ...). claims[i] gets the check.
 */
function claimLine(block, i, claims) {
  const text = block.lines[i];
  const [code, comment] = splitComment(text);
  if (comment === null || code.trim() === '') return text;
  const explicit = CLAIMS_BY_LINE.get(text.trim());
  const throws = /^throws (\w+) (ERR_\w+)$/.exec(comment);
  let check;
  if (explicit) check = explicit.check;
  else if (throws) check = { name: throws[1], code: throws[2] };
  else {
    const stated = statedValue(comment);
    if (stated) check = (v) => assert.deepStrictEqual(v, stated.value);
    else if (comment.startsWith('→')) throw new Error(`${where(block, i)}: the comment "${comment}" is not a value: give the line a check in CLAIMS`);
    else return text;
  }
  const id = claims.push({ check, at: where(block, i), reached: false }) - 1;
  const indent = /^\s*/.exec(code)[0];
  const stmt = code.trim();
  if (typeof check === 'object') return `${indent}await __throws(${id}, async () => { ${stmt} });`;
  let m;
  if ((m = /^((?:const|let)\s+[^=]+?\s*=\s*)(.+);$/.exec(stmt))) return `${indent}${m[1]}__claim(${id}, (${m[2]}));`;
  if ((m = /^console\.log\((.+)\);$/.exec(stmt))) return `${indent}console.log(__claim(${id}, (${m[1]})));`;
  if ((m = /^(.+);$/.exec(stmt))) return `${indent}__claim(${id}, (${m[1]}));`;
  throw new Error(`${where(block, i)}: a checked comment on a line that is not one statement`);
}

/**
 * The names the block declares at its top level (a line that starts with const, let or var),
 * and those of them bound by destructuring a require() of a module, as { name, from }.
 */
function declaredNames(block) {
  const names = [];
  const required = [];
  block.lines.forEach((text, i) => {
    if (!/^(?:const|let|var)\s/.test(text)) return;
    const rest = block.lines.slice(i).join('\n');
    const m = /^(?:const|let|var)\s+([{[][\s\S]*?[}\]]|[\w$]+)\s*(?:=\s*require\('([^']+)'\))?/.exec(rest);
    assert.ok(m, `${where(block, i)}: a declaration the test cannot read`);
    const pattern = m[1];
    const found = /^[\w$]+$/.test(pattern)
      ? [pattern]
      : pattern.slice(1, -1).split(',').map((p) => p.trim()).filter(Boolean)
        .map((p) => (p.includes(':') ? p.split(':')[1].trim() : p.replace(/^\.\.\./, '')));
    for (const n of found) assert.match(n, /^[\w$]+$/, `${where(block, i)}: a declaration the test cannot read`);
    names.push(...found);
    if (m[2] && pattern.startsWith('{')) required.push(...found.map((name) => ({ name, from: m[2] })));
  });
  return { names: [...new Set(names)], required };
}

/** Every `name: '...'` a segment name of the section; every absolute path one in its directory. */
function localise(code, ctx) {
  return code
    .replace(/\bname: '([^'\\]*)'/g, (all, name) => (NOT_SEGMENT_NAMES.has(name) ? all : `name: ${JSON.stringify(ctx.shm(name))}`))
    .replace(/'(\/[^'\\]*)'/g, (all, p) => {
      const local = path.join(ctx.tmp, p);
      fs.mkdirSync(path.dirname(local), { recursive: true });
      return JSON.stringify(local);
    });
}

/** The block as the body of an async function that returns the names it declares. */
function compile(block, ctx) {
  const adjust = ADJUST_BY_BLOCK.get(block.index) || {};
  const claims = [];
  let code = block.lines.map((_, i) => claimLine(block, i, claims)).join('\n');
  for (const [from, to] of adjust.replace || []) {
    assert.ok(code.includes(from), `${where(block)}: the text to replace, ${from}, is not in the block`);
    code = code.split(from).join(to(ctx));
  }
  code = localise(code, ctx);
  const { names, required } = declaredNames(block);
  const exported = names.filter((n) => !(adjust.keep || []).includes(n));
  const body = `'use strict';\n{\n${code}\n;return { ${exported.join(', ')} };\n}`;
  return { body, claims, required, adjust };
}

// ---------------------------------------------------------------------------------------------
// Running a block.

class StopLoop extends Error {}

const recorder = (ctx, name, impl = () => undefined) => {
  ctx.calls[name] = [];
  return (...args) => {
    ctx.calls[name].push(args);
    return impl(...args);
  };
};

/** The names every block of a section has in scope before its prelude and the blocks add theirs. */
function baseScope(ctx) {
  // A worker the examples start gets the SharedArrayBuffer it shares: this thread plays the
  // worker (worker_threads.workerData is what was posted last).
  class Worker {
    constructor(file, options = {}) {
      const data = options.workerData;
      const shared = (x) => x instanceof SharedArrayBuffer || (x !== null && typeof x === 'object' && Object.values(x).some(shared));
      assert.ok(shared(data), `new Worker(${file}): the worker is given no SharedArrayBuffer`);
      ctx.posted.push(data);
    }

    on() { return this; }

    terminate() { return Promise.resolve(0); }
  }
  const fakeWorkerThreads = { ...workerThreads, Worker, get workerData() { return ctx.posted.at(-1); } };
  const trackedHttp = { ...http, createServer: (...a) => ctx.servers[ctx.servers.push(http.createServer(...a)) - 1] };
  const docRequire = (id) => {
    if (id === 'worker_threads') return fakeWorkerThreads;
    if (id === 'http') return trackedHttp;
    return require(id);
  };
  const log = (...args) => { ctx.logs.push(args); };
  const helpers = {};
  // The helpers the examples call and leave to the reader.
  for (const name of ['repair', 'work', 'read', 'write', 'writeAll', 'handle', 'handleFrame', 'runOnGpu', 'simulate',
    'publish', 'retryLater']) {
    helpers[name] = recorder(ctx, name);
  }
  helpers.load = recorder(ctx, 'load', () => 'loaded');
  return {
    ...shmstore,
    ...helpers,
    require: docRequire,
    Worker,
    console: { log, info: log, warn: log, error: log },
    // An interval an example starts is cleared when the block ends, then its callback runs once.
    setInterval: (fn, ms, ...args) => {
      const t = setInterval(fn, ms, ...args);
      ctx.intervals.push({ t, fn, args });
      return t;
    },
  };
}

/** The scope with its helper `name` (console.log: a member) throwing StopLoop at its nth call. */
function withStop(scope, [name, n], ctx) {
  const [top, member] = name.split('.');
  const inner = member ? scope[top][member] : scope[top];
  let calls = 0;
  const stopping = (...args) => {
    inner(...args);
    calls += 1;
    if (calls === n) {
      ctx.stopped = true;
      throw new StopLoop(`${name} call ${n}`);
    }
  };
  return { ...scope, [top]: member ? { ...scope[top], [member]: stopping } : stopping };
}

async function callBlock(block, ctx, scope) {
  const { body, claims, required, adjust } = compile(block, ctx);
  // A name destructured from a module it does not export would be undefined without a word.
  for (const { name, from } of required) assert.notStrictEqual(scope.require(from)[name], undefined, `${where(block)}: ${from} exports no ${name}`);
  const names = Object.keys(scope);
  const fn = new AsyncFunction(...names, '__claim', '__throws', body);
  const claim = (id, value) => {
    claims[id].reached = true;
    try {
      claims[id].check(value, ctx.scope);
    } catch (e) {
      e.message = `${claims[id].at}: ${e.message}`;
      throw e;
    }
    return value;
  };
  const throws = async (id, f) => {
    claims[id].reached = true;
    const { name, code } = claims[id].check;
    await assert.rejects(f, (e) => e.name === name && e.code === code, `${claims[id].at}: expected ${name} ${code}`);
  };
  let declared;
  try {
    declared = await fn(...names.map((n) => scope[n]), claim, throws);
  } catch (e) {
    if (!(e instanceof StopLoop && adjust.stop)) throw e;
    declared = {};
  }
  for (const c of claims) assert.ok(c.reached, `${c.at}: the checked line did not run`);
  return declared;
}

/** The programs of a block, each starting at one of the marker lines (the first at the top). */
function partsOf(block, markers) {
  const starts = [0, ...block.lines.map((l, i) => (markers.includes(l.trim()) ? i : -1)).filter((i) => i > 0)];
  return starts.map((start, k) => ({ ...block, line: block.line + start, lines: block.lines.slice(start, starts[k + 1]) }));
}

/** Waits for what the blocks left running (kept for the cleanup until it has ended). */
async function join(ctx) {
  await Promise.all(ctx.pending);
  ctx.pending.length = 0;
}

// Runs one block: its before, the block (in this thread, or in a worker; now, or left to end
// later), the intervals it started, its after; joins what earlier blocks left running.
async function runBlock(block, ctx) {
  const adjust = ADJUST_BY_BLOCK.get(block.index) || {};
  ctx.logs = [];
  ctx.stopped = false;
  if (adjust.before) await adjust.before(ctx.scope, ctx);
  const bind = (declared) => {
    Object.assign(ctx.scope, declared);
    ctx.values.push(...Object.values(declared));
  };
  if (adjust.thread) {
    const { body, claims } = compile(block, ctx);
    assert.strictEqual(claims.length, 0, `${where(block)}: a block run in a thread has no checked lines`);
    const source = `const { workerData } = require('worker_threads');
      const { ${Object.keys(shmstore).join(', ')} } = require(workerData.root);
      (async () => {\n${body}\n})();`;
    ctx.defer(runWorker(ctx, source, { root: ROOT }));
    return;
  }
  if (adjust.parts) {
    for (const part of partsOf(block, adjust.parts)) bind(await callBlock(part, ctx, ctx.scope));
    await join(ctx);
    return;
  }
  const scope = adjust.stop ? withStop(ctx.scope, adjust.stop, ctx) : ctx.scope;
  const running = callBlock(block, ctx, scope);
  if (adjust.later) {
    ctx.defer(running.then(bind));
    return;
  }
  if (adjust.meanwhile) await adjust.meanwhile(ctx.scope, ctx);
  bind(await running);
  if (adjust.stop) assert.ok(ctx.stopped, `${where(block)}: the loop ended before ${adjust.stop[0]} ended it`);
  await join(ctx);
  for (const { t, fn, args } of ctx.intervals.splice(0)) {
    clearInterval(t);
    await fn(...args);
  }
  if (adjust.after) await adjust.after(ctx.scope, ctx);
}

/** Closes what the section opened, removes its segments and its directory. */
async function cleanup(ctx) {
  try {
    await release(ctx);
  } finally {
    for (const name of fs.readdirSync('/dev/shm').filter((n) => n.startsWith(ctx.prefix))) Segment.unlink({ name });
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
  }
}

// Ends what the blocks left running, after a block failed: what still waits for it is woken
// (ctx.unblock) or terminated, so that neither the next blocks nor the process wait for ever.
async function abandon(ctx) {
  for (const f of ctx.unblock) f();
  for (const w of ctx.workers) w.terminate();
  await Promise.allSettled(ctx.pending.splice(0));
}

// Closes every object the blocks and the prelude bound, then what the prelude started.
async function release(ctx) {
  await abandon(ctx);
  for (const { t } of ctx.intervals.splice(0)) clearInterval(t);
  for (const v of ctx.values.reverse()) {
    if (v === null || typeof v !== 'object') continue;
    // Keyv and cache instances, adapters, stores, segments, sync objects, queues, pools,
    // registries, subscribers, channels (close() ends a channel for everyone, dispose() the handle).
    for (const method of ['disconnect', 'close', 'dispose']) {
      try {
        if (typeof v[method] === 'function' && !(method === 'close' && v.closed === true)) await v[method]();
      } catch {
        // closed already, or closed by what was closed before it
      }
    }
  }
  await Promise.all(ctx.servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r()))));
  for (const f of ctx.cleanups.reverse()) await f();
}

// ---------------------------------------------------------------------------------------------
// The tables, resolved to blocks.

const problems = [];
function blockOfLine(line, table) {
  const found = BLOCKS.filter((b) => b.lines.some((l) => l.trim() === line));
  if (found.length !== 1) problems.push(`${table}: ${found.length} blocks have the line ${line}`);
  return found.length === 1 ? found[0] : null;
}
const byBlock = (table, name) => {
  const map = new Map();
  for (const e of table) {
    const b = blockOfLine(e.line, name);
    if (b === null) continue;
    if (map.has(b.index)) problems.push(`${name}: two entries for the block at ${where(b)}`);
    map.set(b.index, e);
  }
  return map;
};
const SKIP_BY_BLOCK = byBlock(SKIP, 'SKIP');
const ADJUST_BY_BLOCK = byBlock(ADJUST, 'ADJUST');
const CLAIMS_BY_LINE = new Map(CLAIMS.map((c) => [c.line, c]));
for (const c of CLAIMS) blockOfLine(c.line, 'CLAIMS');
// Every checked line, read once here so that a result comment the test cannot read is reported
// with the tables.
let checkedLines = 0;
for (const b of BLOCKS.filter((x) => !SKIP_BY_BLOCK.has(x.index))) {
  const claims = [];
  try {
    b.lines.forEach((_, i) => claimLine(b, i, claims));
  } catch (e) {
    problems.push(e.message);
  }
  checkedLines += claims.length;
}
const SECTION_NAMES = new Set(BLOCKS.map((b) => b.section));
for (const s of Object.keys(SECTIONS)) if (!SECTION_NAMES.has(s)) problems.push(`SECTIONS: no block is in a section ${s}`);

// ---------------------------------------------------------------------------------------------

const ran = new Set();
const toRun = BLOCKS.length - SKIP_BY_BLOCK.size;

describe(`${DOC}: ${BLOCKS.length} js blocks, ${toRun} run, ${SKIP_BY_BLOCK.size} skipped`, function () {
  this.timeout(30000);

  it(`every entry of the test's tables names one block of the document; ${checkedLines} lines have their stated results checked`, () => {
    assert.deepStrictEqual(problems, []);
  });

  for (const section of SECTION_NAMES) {
    const blocks = BLOCKS.filter((b) => b.section === section);
    describe(section === '' ? '(top)' : `## ${section}`, function () {
      const ctx = { pending: [], intervals: [], values: [], servers: [], workers: [], unblock: [], cleanups: [], posted: [], calls: {}, logs: [] };

      before(async function () {
        ctx.prefix = `${uniqueName('api')}.`;
        ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-api-'));
        ctx.shm = (name) => ctx.prefix + name;
        // A promise the section waits for later; its failure is reported then, and by no
        // unhandled rejection before.
        ctx.defer = (p) => {
          p.catch(() => {});
          ctx.pending.push(p);
        };
        ctx.track = (v) => {
          ctx.values.push(v);
          return v;
        };
        ctx.scope = baseScope(ctx);
        const { prelude } = SECTIONS[section] || {};
        if (prelude) Object.assign(ctx.scope, await prelude(ctx));
      });

      after(() => cleanup(ctx));

      for (const block of blocks) {
        const title = `${where(block)} ${block.lines.find((l) => l.trim() !== '').trim()}`;
        const skip = SKIP_BY_BLOCK.get(block.index);
        if (skip) {
          it.skip(`${title} (${skip.why})`);
          continue;
        }
        it(title, async () => {
          // A block before that failed or timed out may have left parties waiting.
          if (ctx.unfinished) await abandon(ctx);
          ctx.unfinished = true;
          try {
            await runBlock(block, ctx);
          } catch (e) {
            await abandon(ctx);
            throw e;
          }
          ctx.unfinished = false;
          ran.add(block.index);
        });
      }
    });
  }

});

// After the sections (mocha runs a suite's own tests before its child suites).
describe(`${DOC}: every block ran`, () => {
  it(`ran every block but those skipped: ${toRun} of ${BLOCKS.length}`, () => {
    const missing = BLOCKS.filter((b) => !ran.has(b.index) && !SKIP_BY_BLOCK.has(b.index)).map((b) => where(b));
    assert.deepStrictEqual(missing, []);
    assert.strictEqual(ran.size, toRun);
  });
});
