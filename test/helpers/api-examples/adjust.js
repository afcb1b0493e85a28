'use strict';
// The entries of docs/api.md's examples test (test/00-repo/api-examples.test.js) for blocks that
// cannot run as they are written, each with its reason: a block that waits for another party
// gets one (a worker thread, or a callback run meanwhile), an endless loop ends when a helper it
// calls throws, and what the document takes as given around one block is set up or checked.
// Entries name blocks by one of their lines, as in tables.js. (Segment names and absolute paths
// are localised for every block, in blocks.js.)
const assert = require('assert');
const path = require('path');
const shmstore = require('../../..');
const { bucketWord } = require('../store-bytes');
const { inThread, notifier, barrierParties, scrape } = require('./parties');

const { Segment, Store, Broadcast, Channel } = shmstore;

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
      const body = await scrape(ctx.servers.at(-1));
      assert.match(body, /^shmstore_entries\{store="cache"\} \d+$/m);
      assert.match(body, /^shmstore_namespace_entries\{store="cache",namespace="sessions"\} \d+$/m);
      assert.match(body, /^shmstore_namespace_hits_total\{store="cache",namespace="sessions"\} \d+$/m);
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

module.exports = { ADJUST };
