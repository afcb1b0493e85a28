// Compiled by `npm run check:types` (tsc, no emit): the declarations in index.d.ts must accept
// every documented use and reject the misuses marked @ts-expect-error.
import { Store, Segment, futex, ShmError, NamespaceView, StoreStats, VerifyReport, Mutex, MutexLockResult, PersistInfo, PersistRecovery, PersistSync, CheckpointReport, BackupReport, PersistFileReport, persist } from '../../index';

const s = Store.create({ name: 'types', size: 1 << 20, engine: 'js', buckets: 64, lockTimeoutMs: 500 });
s.set('ns', 'k', { a: 1, b: [true, null, 'x'] }).set('ns', 'b', Buffer.from('x')).set('ns', 'n', 4);
const v: unknown = s.get('ns', 'k');
const has: boolean = s.has('ns', 'k');
const removed: boolean = s.delete('ns', 'k');
const cleared: number = s.clear('ns');
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
const r: VerifyReport = s.verify();
if (!r.ok) console.log(r.errors.join('\n'), st.bytesFree, st.engine);
s.repair();
const other = Store.attach(s.buffer, { engine: 'native' });
other.close();
Store.open({ name: 'types' }).close();
Store.create({ buffer: new SharedArrayBuffer(1 << 20) }).close();
s.close();

const seg = Segment.create({ name: 'types-seg', size: 4096 });
const word = new Int32Array(seg.buffer);
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

console.log(v, has, removed, cleared, keys, entries, total, inNs, names, many, written, size);

const mx = Mutex.create({ buffer: new SharedArrayBuffer(Mutex.BYTES) });
const got: MutexLockResult = mx.lock(100);
if (got.recovered) mx.unlock();
const maybe: MutexLockResult | false = mx.tryLock();
if (maybe) mx.unlock();
const n: number = mx.withLock(({ recovered }) => (recovered ? 1 : 2));
const later: Promise<string> = mx.withLock(async () => 'done');
mx.lockAsync(50).then(() => mx.unlock());
Mutex.open({ name: 'types-mutex', byteOffset: 0 }).close();
const mxBuf: SharedArrayBuffer = mx.buffer;
// @ts-expect-error exactly one of name, path, buffer
Mutex.open({ name: 'x', buffer: new SharedArrayBuffer(8) });
// @ts-expect-error size only with a segment
Mutex.create({ buffer: new SharedArrayBuffer(8), size: 1 });
mx.close();
console.log(n, later, mxBuf, mx.held, mx.recoveries);

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
