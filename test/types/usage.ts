// Compiled by `npm run check:types` (tsc, no emit): the declarations in index.d.ts must accept
// every documented use and reject the misuses marked @ts-expect-error.
import {
  Store, Segment, futex, ShmError, NamespaceView, StoreStats, VerifyReport, Mutex, MutexLockResult, RwLock, Condition,
  Semaphore, Barrier, WaitGroup, ConditionWaitResult, BarrierWaitResult, Registry, RegistryEntry, RegistryStats,
  NamespaceStats, SpscRing, MpmcQueue, Channel, Stack, PriorityQueue, Broadcast, BroadcastSubscriber, BroadcastMessage, ReceiveIterator, BufferPool, PooledBlock, ObjectPool, PooledRecord, MemoryPool, MemoryPoolClass, PersistInfo, PersistRecovery, PersistSync,
  CheckpointReport, BackupReport, PersistFileReport, persist, LatencySnapshot, CompactReport,
} from '../../index';

const s = Store.create({ name: 'types', size: 1 << 20, engine: 'js', buckets: 64, lockTimeoutMs: 500 });
s.set('ns', 'k', { a: 1, b: [true, null, 'x'] }).set('ns', 'b', Buffer.from('x')).set('ns', 'n', 4);
const v: unknown = s.get('ns', 'k');
const has: boolean = s.has('ns', 'k');
const removed: boolean = s.delete('ns', 'k');
const cleared: number = s.clear('ns');
const dropped: number | false = s.dropNamespace('gone');
const keys: string[] = s.keys('ns');
const entries: [string, unknown][] = s.entries('ns');
const total: number = s.count();
const inNs: number = s.count('ns');
const names: string[] = s.namespaces();
const many: unknown[] = s.getMany('ns', ['a', 'b']);
const written: number = s.setMany('ns', [['a', 1], ['b', 'two']]);
s.setMany('ns', new Map([['c', 3]]));
const view: NamespaceView = s.namespace('ns');
view.set('x', 1).set('y', 'z');
for (const [k, val] of view) console.log(k, val);
view.forEach((val, k) => console.log(k, val));
const size: number = view.size;
const st: StoreStats = s.stats();
const wide = Store.create({ buffer: new SharedArrayBuffer(32 << 20), maxNamespaces: 65535 });
const maxNs: number = wide.stats().maxNamespaces;
const largest: number = st.bytesLargestFree;
console.log(largest);
const cache = Store.create({ buffer: new SharedArrayBuffer(1 << 20), eviction: 'auto' });
cache.set('c', 'k', 1, { ttl: 1000 }).set('c', 'j', 2, { expiresAt: Date.now() + 5000 });
cache.setMany('c', [['a', 1]], { ttl: Infinity });
const ttlLeft: number | undefined = cache.ttl('c', 'k');
const pinned: NamespaceView = cache.namespace('memories', { eviction: 'none', ttl: Infinity });
pinned.set('goal', 'ship', { ttl: 60e3 });
const leftInView: number | undefined = pinned.ttl('goal');
const nsStats: NamespaceStats = cache.stats().namespaceStats.c;
console.log(ttlLeft, leftInView, nsStats.evictions + nsStats.hits, cache.stats().evictionTurns, maxNs);
// @ts-expect-error at most one of ttl and expiresAt
cache.set('c', 'k', 1, { ttl: 5, expiresAt: 6 });
// @ts-expect-error an unknown eviction policy
Store.create({ buffer: new SharedArrayBuffer(1 << 20), eviction: 'lru' });
cache.close();
const r: VerifyReport = s.verify();
if (!r.ok) console.log(r.errors.join('\n'), st.bytesFree, st.engine);
s.repair();
const compacted: number = s.compact().bytesLargestFree;
void compacted;
const step: CompactReport = s.compact({ maxBytes: 65536, maxMs: 2 });
const moved: number = step.movedEntries + s.stats().compactionMoved;
void moved;
// @ts-expect-error maxBytes is a number
s.compact({ maxBytes: '64' });
const other = Store.attach(s.buffer, { engine: 'native' });
other.close();
const timed = Store.attach(s.buffer, { latency: true });
const cached = Store.attach(s.buffer, { readCache: { entries: 100, maxValueBytes: 256 } });
Store.attach(cached.buffer, { readCache: false });
// @ts-expect-error readCache.entries is a number
Store.attach(s.buffer, { readCache: { entries: '100' } });
timed.disableLatency().enableLatency();
const lat: LatencySnapshot | null = timed.latency({ reset: true });
const merged: LatencySnapshot = Store.mergeLatency([lat, Store.open({ name: 'types', latency: true }).latency()]);
const p99: number = merged.ops.get.p99 + merged.ops.setMany.p999;
console.log(p99, timed.latencyEnabled);
// @ts-expect-error latency is a boolean
Store.attach(s.buffer, { latency: 'yes' });
// @ts-expect-error no histogram of an unknown operation
console.log(merged.ops.scan);
Store.open({ name: 'types' }).close();
Store.openOrCreate({ name: 'types', size: 1 << 20, maxEntries: 1000, engine: 'js' }).close();
// @ts-expect-error openOrCreate needs a segment or a file, not a buffer
Store.openOrCreate({ buffer: new SharedArrayBuffer(1 << 20) });
// @ts-expect-error openOrCreate needs the size a creator gives
Store.openOrCreate({ name: 'types' });
Store.create({ buffer: new SharedArrayBuffer(1 << 20) }).close();
Store.create({ buffer: new SharedArrayBuffer(1 << 20) })[Symbol.dispose]();
s.close();

const seg = Segment.create({ name: 'types-seg', size: 4096 });
const word = new Int32Array(seg.buffer);
const segMode: number = seg.mode;
// @ts-expect-error the mode is read-only
seg.mode = 0o640;
void segMode;
futex.wake(word, 0);
futex.waitAsync(word, 0, 0, 10).then((res) => console.log(res));
try {
  Store.open({ path: '/nowhere' });
} catch (e) {
  if (e instanceof ShmError) console.log(e.code, e.errno);
}

// @ts-expect-error undefined is not a storable value
s.set('ns', 'k', undefined);
// @ts-expect-error keys are strings
s.get('ns', 42);
// @ts-expect-error a store needs a size when it is created by name
Store.create({ name: 'nosize' });
// @ts-expect-error engine is 'native' or 'js'
Store.attach(new SharedArrayBuffer(8), { engine: 'rust' });

console.log(v, has, removed, cleared, dropped, keys, entries, total, inNs, names, many, written, size);

const mx = Mutex.create({ buffer: new SharedArrayBuffer(Mutex.BYTES) });
const got: MutexLockResult = mx.lock(100);
if (got.recovered) mx.unlock();
const maybe: MutexLockResult | false = mx.tryLock();
if (maybe) mx.unlock();
const n: number = mx.withLock(({ recovered }) => (recovered ? 1 : 2));
const later: Promise<string> = mx.withLock(async () => 'done');
mx.lockAsync(50).then(() => mx.unlock());
Mutex.open({ name: 'types-mutex', byteOffset: 0 }).close();
Mutex.open({ buffer: mx.buffer, byteOffset: mx.byteOffset })[Symbol.dispose]();
const regionBytes: number = Mutex.regionBytes;
const segmentMax: number = Segment.MAX_SIZE;
console.log(regionBytes, segmentMax);
const mxBuf: SharedArrayBuffer = mx.buffer;
// @ts-expect-error exactly one of name, path, buffer
Mutex.open({ name: 'x', buffer: new SharedArrayBuffer(8) });
// @ts-expect-error size only with a segment
Mutex.create({ buffer: new SharedArrayBuffer(8), size: 1 });
mx.close();
console.log(n, later, mxBuf, mx.held, mx.recoveries);

// The other sync kinds.
const ac = new AbortController();
const rw = RwLock.create({ buffer: new SharedArrayBuffer(RwLock.BYTES) });
const rr: MutexLockResult = rw.readLock(10);
rw.readUnlock();
if (rw.tryWriteLock()) rw.writeUnlock();
const rwp: Promise<MutexLockResult> = rw.writeLockAsync(10, { signal: ac.signal });
console.log(rr, rwp, rw.reading, rw.writing, RwLock.regionBytes);
const cond = Condition.open({ buffer: new SharedArrayBuffer(Condition.BYTES) });
mx.lock();
const cw: ConditionWaitResult = cond.wait(mx, 1);
const cwa: Promise<ConditionWaitResult> = cond.waitAsync(mx, 1, { signal: ac.signal });
cond.notifyOne();
cond.notifyAll();
console.log(cw.notified, cwa);
const sem = Semaphore.create({ buffer: new SharedArrayBuffer(Semaphore.BYTES), permits: 2 });
const sa: MutexLockResult = sem.acquire(2, 100);
const sTry: MutexLockResult | false = sem.tryAcquire();
const sp: Promise<MutexLockResult> = sem.acquireAsync(1, 100, { signal: ac.signal });
sem.release(2);
console.log(sa, sTry, sp, sem.permits, sem.held);
// @ts-expect-error a barrier needs its parties
Barrier.create({ buffer: new SharedArrayBuffer(Barrier.BYTES) });
const bar = Barrier.create({ buffer: new SharedArrayBuffer(Barrier.BYTES), parties: 2 });
const bw: Promise<BarrierWaitResult> = bar.waitAsync(100);
bar.reset(3);
console.log(bw, bar.broken, bar.generation, bar.parties);
const wg = WaitGroup.create({ name: 'types-wg' });
const left: number = wg.add(2);
wg.done();
wg.wait(10);
const wga: Promise<void> = wg.waitAsync(10, { signal: ac.signal });
console.log(left, wga, wg.count);

const reg = Registry.create({ name: 'types-registry', size: 1 << 20, maxEntries: 64, timeoutMs: 1000 });
const lockByName: Mutex = reg.create('mutex', 'jobs');
const kv: Store = reg.openOrCreate('store', 'sessions', { size: 1 << 20, engine: 'js' });
const bytesBlock: Uint8Array = reg.create('bytes', 'flags', { size: 16 });
const again: Mutex = reg.open('mutex', 'jobs');
const semByName: Semaphore = reg.create('semaphore', 'slots', { permits: 4 });
const barrierByName: Barrier = reg.create('barrier', 'phase', { parties: 2 });
const rwByName: RwLock = reg.openOrCreate('rwlock', 'config');
const ringByName: SpscRing = reg.create('spsc', 'samples', { capacity: 1024, elementSize: 8 });
const jobsByName: MpmcQueue = reg.create('mpmc', 'jobs-q', { capacity: 64 });
const chByName: Channel = reg.create('channel', 'events', { capacity: 64, messageBytes: 128 });
void [semByName, barrierByName, rwByName, ringByName, jobsByName, chByName, reg.open('condition', 'c') as Condition, reg.open('waitgroup', 'w') as WaitGroup];
// @ts-expect-error a barrier needs its parties
reg.create('barrier', 'noparties');
const kv2: Store = reg.open('store', 'sessions', { lockTimeoutMs: 100 });
const listed: RegistryEntry[] = reg.list();
const regStats: RegistryStats = reg.stats();
reg.delete('flags');
Registry.open({ buffer: new SharedArrayBuffer(1 << 16) }).close();
Registry.create({ buffer: new SharedArrayBuffer(1 << 16), maxEntries: 8 }).close();
// @ts-expect-error a store needs its size
reg.create('store', 'nosize');
// @ts-expect-error a mutex takes no creation options
reg.create('mutex', 'm', { size: 1 });
// @ts-expect-error unknown kind
reg.create('queue', 'q');
// @ts-expect-error size only with a segment
Registry.create({ buffer: new SharedArrayBuffer(8), size: 1 });
// @ts-expect-error a segment needs a size
Registry.create({ name: 'nosize' });
reg.close();
console.log(lockByName, kv, bytesBlock, again, kv2, listed, regStats);

const ring = SpscRing.create({ buffer: new SharedArrayBuffer(SpscRing.bytesFor(1024)), capacity: 1024 });
const queued: boolean = ring.tryEnqueue({ n: 1 });
ring.enqueue('text', 100);
const first: unknown = ring.tryDequeue();
void ring.dequeueAsync({ timeoutMs: 10, signal: AbortSignal.timeout(100) });
const elements = SpscRing.create({ name: 'types-ring', capacity: 16, elementSize: 8 });
const into: number = elements.tryDequeueInto(new Float64Array(4));
const batched: number = ring.tryEnqueueBatch(['a', { b: 2 }, Buffer.from('c')]);
ring.enqueueBatch(['d'], 100);
const batch: any[] = ring.tryDequeueBatch(16);
const waited: any[] = ring.dequeueBatch(undefined, 10);
void [queued, first, into, ring.size, SpscRing.DATA_OFFSET, batched, batch, waited];
ring.close();

const mq = MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16, messageBytes: 248 });
const put: boolean = mq.tryEnqueue('job');
void mq.enqueueAsync({ id: 1 }, { timeoutMs: 10 });
const lost: { writes: number; reads: number } = mq.skipped;
void [put, lost, mq.tryDequeue(), MpmcQueue.SLOTS_OFFSET];
const queuedN: number = mq.tryEnqueueBatch(['a', { b: 1 }, Buffer.from('c')]);
mq.enqueueBatch(['d'], 100);
const mqBatch: any[] = mq.tryDequeueBatch(8);
void [queuedN, mqBatch, mq.dequeueBatch(undefined, 10)];
const qLat = mq.enableLatency().latency({ reset: true });
const qMerged = MpmcQueue.mergeLatency([qLat, null]);
const qP99: number = qMerged.ops.dequeueAsync.p99;
const qEnabled: boolean = mq.disableLatency().latencyEnabled;
void [qP99, qEnabled, MpmcQueue.LATENCY_OPS.length];
mq.close();

const stk = Stack.create({ buffer: new SharedArrayBuffer(Stack.bytesFor(16)), capacity: 16, messageBytes: 240 });
const pushed: boolean = stk.tryPush({ id: 1 });
void stk.pushAsync('job', { timeoutMs: 10 });
const stackLost: { pushes: number; pops: number } = stk.lost;
void [pushed, stackLost, stk.tryPop(), stk.peek(), stk.reclaim(), Stack.NODES_OFFSET];
// @ts-expect-error a capacity is required
Stack.create({ buffer: new SharedArrayBuffer(64) });
stk.close();

const pq = PriorityQueue.create({ buffer: new SharedArrayBuffer(PriorityQueue.bytesFor(16)), capacity: 16, order: 'min' });
const queuedPq: boolean = pq.tryEnqueue('job', 3);
void pq.enqueueAsync({ id: 1 }, 1.5, { timeoutMs: 10 });
const order: 'min' | 'max' = pq.order;
void [queuedPq, order, pq.rebuilds, pq.tryDequeue(), pq.peek()];
// @ts-expect-error a priority is required
pq.tryEnqueue('job');
pq.close();

const bp = BufferPool.create({ buffer: new SharedArrayBuffer(BufferPool.bytesFor(4, 1024)), blockSize: 1024, blockCount: 4 });
const block: PooledBlock = bp.acquire();
const maybeBlock: PooledBlock | null = bp.tryAcquire();
const taken: Uint8Array = bp.take(block.handle);
bp.release(block.handle);
const freed: number = bp.reclaim();
void [maybeBlock, taken, freed, bp.view(block.handle), bp.stats().free, bp.blockSize, bp.closed];
// @ts-expect-error a handle is a number
bp.release('1');
bp.close();
const poolByName: BufferPool = reg.create('buffer-pool', 'frames', { blockSize: 4096, blockCount: 8 });
// @ts-expect-error a buffer pool needs its shape
reg.create('buffer-pool', 'frames2');
poolByName.close();
void bp.acquireAsync({ timeoutMs: 10, signal: new AbortController().signal }).then((b: PooledBlock) => b.handle);
void bp.acquire(0);
BufferPool.create({ name: 'frames3', size: 1 << 20, blockSize: 64, blockCount: 4 }).close();
// @ts-expect-error a pool needs a name, a path or a buffer
BufferPool.create({ blockSize: 64, blockCount: 4 });
// @ts-expect-error exactly one of name, path or buffer
BufferPool.create({ name: 'frames4', buffer: new SharedArrayBuffer(1 << 20), blockSize: 64, blockCount: 4 });
// @ts-expect-error size applies only to a segment
ObjectPool.create({ buffer: new SharedArrayBuffer(1 << 20), size: 1 << 20, recordSize: 16, capacity: 8 });
// @ts-expect-error a pool needs a name, a path or a buffer
MemoryPool.create({ classes: [{ size: 64, count: 1 }] });

const op = ObjectPool.create({ buffer: new SharedArrayBuffer(ObjectPool.bytesFor(8, 16)), recordSize: 16, capacity: 8 });
const rec: PooledRecord = op.acquire(100);
rec.data.setUint32(rec.view.length - Uint32Array.BYTES_PER_ELEMENT, 1, true); // layout-ok: the record is the user's own bytes
void [op.tryAcquire(), op.data(rec.handle), op.view(rec.handle), op.stats().capacity, op.recordSize];
void op.acquireAsync().then((r: PooledRecord) => op.release(r.handle));
const opBuffer: SharedArrayBuffer = op.buffer;
ObjectPool.open({ buffer: opBuffer, byteOffset: op.byteOffset })[Symbol.dispose]();
op.close();
const opClosed: boolean = op.closed;
console.log(opClosed);
const opByName: ObjectPool = reg.create('object-pool', 'points', { recordSize: 16, capacity: 8 });
opByName.close();

const classes: MemoryPoolClass[] = MemoryPool.powersOfTwo(64, 4096, 4);
const mp = MemoryPool.create({ buffer: new SharedArrayBuffer(MemoryPool.bytesFor(classes)), classes });
const chunk: PooledBlock = mp.allocate(100);
const mpLater: Promise<PooledBlock> = mp.allocateAsync(100, { timeoutMs: 50, signal: new AbortController().signal });
void mpLater.then((b: PooledBlock) => mp.free(b.handle));
mp.free(mp.allocate(200, 0).handle);
const none: PooledBlock | null = mp.tryAllocate(5000);
void [none, mp.view(chunk.handle), mp.stats().classes[0].free, mp.maxSize];
mp.free(chunk.handle);
// @ts-expect-error allocate takes a size
mp.allocate();
// @ts-expect-error the wait options of allocateAsync are an object
void mp.allocateAsync(100, 50);
MemoryPool.open({ buffer: mp.buffer, byteOffset: mp.byteOffset })[Symbol.dispose]();
mp.close();
const mpClosed: boolean = mp.closed;
console.log(mpClosed);
const mpByName: MemoryPool = reg.create('memory-pool', 'scratch', { classes });
mpByName.close();

const ch = Channel.create({ buffer: new SharedArrayBuffer(Channel.bytesFor(8)), capacity: 8 });
const sent: boolean = ch.trySend({ n: 1 });
void ch.send('x', { timeoutMs: 10 });
void ch.sendBatch([1, 'two']).then((n: number) => n);
// An abort of a batch: ERR_ABORTED with `sent` and the signal's reason as `cause` (Error has no
// `cause` under ES2020: ShmError declares it).
void ch.sendBatch([3], { signal: AbortSignal.abort(new Error('stop')) }).catch((e: unknown) => {
  if (e instanceof ShmError && e.code === 'ERR_ABORTED') {
    const reason: unknown = e.cause;
    const went: number | undefined = e.sent;
    console.log(reason, went);
  }
});
void ch.receiveBatch(8).then((ms: unknown[]) => ms.length);
void (async () => {
  for await (const m of ch) void m;
})();
void (async () => {
  const stop = new AbortController();
  for await (const m of ch.iterate({ signal: stop.signal })) if (m === 'last') stop.abort();
  const it: ReceiveIterator<any> = ch.iterate();
  const pending = it.next();
  const ended: IteratorReturnResult<undefined> = await it.return();
  const first: IteratorResult<any, undefined> = await pending;
  void [ended.done, first.done];
})();
// @ts-expect-error iterate() takes a signal only
ch.iterate({ timeoutMs: 10 });
ch.close();
void [sent, ch.closed, ch.tryReceive()];
ch.dispose();

const bc = Broadcast.create({ buffer: new SharedArrayBuffer(Broadcast.bytesFor(16, { messageBytes: 64 })), capacity: 16, messageBytes: 64 });
const bsub: BroadcastSubscriber = bc.subscribe();
bc.publish({ n: 1 });
const bgot: BroadcastMessage | undefined = bsub.tryReceive();
void bsub.receive({ timeoutMs: 10 }).then((m: BroadcastMessage) => m.missed + bsub.missed + bsub.lag);
void (async () => {
  for await (const { value, missed } of bsub) void [value, missed];
  for await (const { value } of bsub.iterate({ signal: AbortSignal.timeout(10) })) void value;
})();
// @ts-expect-error a broadcast needs its capacity
Broadcast.create({ buffer: new SharedArrayBuffer(1) });
void [bgot, bc.subscribers, bc.maxLag, bc.skipped, bsub.id, bsub.received];
bsub.close();
bc.close();
const bcByName: Broadcast = reg.create('broadcast', 'news', { capacity: 64 });
bcByName.close();

// Persistence (docs/api.md, "Persistence").
async function persisted(): Promise<void> {
  const p = Store.create({ name: 'types-p', size: 1 << 22, persist: { dir: '/var/lib/app', sync: 'interval', intervalMs: 200 } });
  p.set('ns', 'k', 'v', { ttl: 1000 }).set('ns', 'k2', 1, { expiresAt: Date.now() + 5000 });
  const same: Store = await p.setDurable('ns', 'k3', { a: 1 });
  await p.flush();
  const ck: CheckpointReport = p.checkpoint();
  console.log(ck.startLsn, ck.records, ck.bytes, ck.ms);
  const bk: BackupReport = p.backup('/backups/app');
  console.log(bk.bytesCopied, bk.bytesTotal, bk.end);
  Store.restore('/backups/app', { name: 'types-r', dir: '/var/lib/app2', engine: 'js' }).close();
  Store.restore('/backups/app', { name: 'types-r', dir: '/var/lib/app2', mode: 0o640 }).close();
  // @ts-expect-error the mode is a number of permission bits
  Store.restore('/backups/app', { name: 'types-r', dir: '/var/lib/app2', mode: '640' });
  // @ts-expect-error a restore needs the persistence directory
  Store.restore('/backups/app', { name: 'types-r' });
  Store.create({ path: '/tmp/x', size: 1 << 22, persist: { dir: '/d', sync: 'none', checkpointBytes: 0, checkpointMs: 60000 } }).close();
  const info: PersistInfo | null = p.persistence;
  const rec: PersistRecovery | null = info ? info.recovery : null;
  const sync: PersistSync | undefined = info?.sync;
  console.log(same, rec, sync, info?.durable, info?.tail);
  Store.open({ name: 'types-p', persist: { dir: '/var/lib/app' } }).close();
  const files: PersistFileReport[] = persist.inspect('/var/lib/app').files;
  console.log(files.map((f) => [f.kind, f.ok, f.cutBytes]));
  // @ts-expect-error sync is 'none', 'interval' or 'always'
  Store.create({ name: 'x', size: 1 << 22, persist: { dir: '/d', sync: 'sometimes' } });
  // @ts-expect-error a buffer cannot be persisted
  Store.create({ buffer: new SharedArrayBuffer(1 << 22), persist: { dir: '/d' } });
  // @ts-expect-error ttl and expiresAt exclude each other
  p.set('ns', 'k', 1, { ttl: 1, expiresAt: 2 });
}
console.log(persisted);
