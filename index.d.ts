// Type declarations of the shmstore public API (the parts exported by index.js).

/** Options of Segment.create(): exactly one of `name` or `path`. */
export type SegmentCreateOptions = SegmentTarget & {
  /** Size in bytes: an integer from 1 to Segment.MAX_SIZE (2^47). */
  size: number;
  /** Permission bits applied exactly (the umask is ignored). Default 0o600. */
  mode?: number;
  /** Fail with ERR_SHM_EXISTS when it exists (default true). With false an existing segment is
   * opened and grown to at least `size`; it is never shrunk. */
  exclusive?: boolean;
  /** Allocate the space now (default true: fallocate, or posix_fallocate of the added range where
   * the file system lacks it; existing bytes are never written), so that a full /dev/shm or
   * disk is ERR_SHM_NO_SPACE here rather than a SIGBUS later. false: sparse (see docs/api.md). */
  reserve?: boolean;
};

/** A POSIX shared memory object by name, or a file by path. */
export type SegmentTarget =
  | { /** [A-Za-z0-9._-], 1 to 200 characters, no leading '/'. */ name: string; path?: undefined }
  | { name?: undefined; /** A file system path (string or file: URL). */ path: string | URL };

/** Shared memory (or a memory-mapped file) exposed as one SharedArrayBuffer. */
export declare class Segment {
  private constructor();
  /** 2^47: the largest size accepted. */
  static readonly MAX_SIZE: number;
  /** Creates a segment (or opens and grows one, with exclusive: false) and maps it. */
  static create(options: SegmentCreateOptions): Segment;
  /** Maps an existing segment at its current size. */
  static open(options: SegmentTarget): Segment;
  /** Removes a segment's name or file; existing mappings stay valid. */
  static unlink(options: SegmentTarget): void;
  /** The SharedArrayBuffer over the mapping (the same object every time). Throws ERR_CLOSED after close(). */
  readonly buffer: SharedArrayBuffer;
  /** Size of the mapping in bytes. */
  readonly size: number;
  /** Name (shared memory) or null. */
  readonly name: string | null;
  /** Absolute path (file) or null. */
  readonly path: string | null;
  readonly closed: boolean;
  /** Permission bits (0 to 0o777) of the object this handle mapped, as they are now; ERR_CLOSED after close(). */
  readonly mode: number;
  /** Idempotent. Closes the descriptor; see docs/api.md for what happens to the memory. */
  close(): void;
  /** Removes this segment's name or file (allowed before or after close()). */
  unlink(): void;
  /** close(), for `using`. */
  [Symbol.dispose](): void;
}

export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Cross-process futex on one 32-bit word of a SharedArrayBuffer. */
export declare const futex: {
  /** Blocks while int32Array[index] === expected, until woken or timeoutMs (default: forever). */
  wait(int32Array: Int32Array, index: number, expected: number, timeoutMs?: number): FutexWaitResult;
  /**
   * Like wait() without blocking the event loop; pending waits are watched by a few futex_waitv
   * threads. 'not-equal' only when the word differed at the call. Rejects with ShmError
   * ERR_CLOSED when segment.close() in this thread releases the pages of the word.
   */
  waitAsync(int32Array: Int32Array, index: number, expected: number, timeoutMs?: number): Promise<FutexWaitResult>;
  /** Wakes up to `count` (default: all) waiters in any process; returns how many were woken. */
  wake(int32Array: Int32Array, index: number, count?: number): number;
};

/** Stable error codes (err.code). */
export type ShmErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_SHM_NOT_FOUND'
  | 'ERR_SHM_EXISTS'
  | 'ERR_SHM_ACCESS'
  | 'ERR_SHM_NO_SPACE'
  | 'ERR_SHM_TOO_LARGE'
  | 'ERR_SHM_IO'
  | 'ERR_CLOSED'
  | 'ERR_BAD_MAGIC'
  | 'ERR_BAD_VERSION'
  | 'ERR_BAD_SIZE'
  | 'ERR_BAD_CHECKSUM'
  | 'ERR_STORE_FULL'
  | 'ERR_TOO_MANY_NAMESPACES'
  | 'ERR_TOO_MANY_HANDLES'
  | 'ERR_LOCK_TIMEOUT'
  | 'ERR_CORRUPT'
  | 'ERR_ADDON_ABI'
  | 'ERR_ADDON_MISSING'
  | 'ERR_KEY_TOO_LONG'
  | 'ERR_VALUE_TOO_LONG'
  | 'ERR_NO_MEMORY'
  | 'ERR_NOT_OWNER'
  | 'ERR_EXISTS'
  | 'ERR_NOT_FOUND'
  | 'ERR_KIND_MISMATCH'
  | 'ERR_REGISTRY_FULL'
  | 'ERR_IN_USE'
  | 'ERR_BARRIER_BROKEN'
  | 'ERR_QUEUE_TIMEOUT'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_CHANNEL_CLOSED'
  | 'ERR_ABORTED'
  | 'ERR_PERSIST_IO'
  | 'ERR_PERSIST_CORRUPT'
  | 'ERR_PERSIST_STALE'
  | 'ERR_NOT_PERSISTED'
  | 'ERR_LOG_FULL'
  | 'ERR_PEER_MISSING'
  | 'ERR_POOL_EXHAUSTED'
  | 'ERR_BAD_HANDLE'
  | 'ERR_NAMESPACE_DROPPED'
  | 'ERR_UNKNOWN';

/** The one error class of shmstore. */
export declare class ShmError extends Error {
  constructor(code: ShmErrorCode | string, message: string, extra?: { errno?: number; syscall?: string; status?: number; cause?: unknown });
  readonly name: 'ShmError';
  /** Stable code: branch on this, not on the message. */
  code: ShmErrorCode | string;
  /** POSIX errno (positive) when a system call failed. */
  errno?: number;
  /** The system call that failed ('shm_open', 'mmap', ...). */
  syscall?: string;
  /** The numeric status behind `code` (`layout.STATUS[code]`), on errors of the store and the addon. */
  status?: number;
  /**
   * On an `ERR_PERSIST_IO` of a persisted write whose record could not be logged: the error of
   * putting the store back as it was, when that failed too (the store then refuses writes until
   * it is recovered).
   */
  undoError?: ShmError;
  /**
   * On an `ERR_CORRUPT` of a batch read (`queue.tryDequeueBatch`, `queue.dequeueBatch`,
   * `channel.receiveBatch`, `ring.tryDequeueBatch`, `ring.dequeueBatch`) that met a damaged
   * record: the messages the call took, in order.
   */
  received?: unknown[];
  /**
   * On an `ERR_CORRUPT` of an `SpscRing` read: `true` (every damage the ring detects leaves the
   * next record unknown): nothing was dropped, every read throws again, and only `ring.discard()`
   * (dropping everything published up to now) gets past it.
   */
  needsDiscard?: boolean;
  /**
   * On an `ERR_QUEUE_TIMEOUT`, `ERR_CHANNEL_CLOSED` or `ERR_ABORTED` of `channel.sendBatch` (and
   * on the TypeError of bytes detached after the call): how many values, a prefix of the array,
   * the channel took before it. An `ERR_ABORTED`'s `cause` is the signal's reason.
   */
  sent?: number;
  /**
   * On an `ERR_QUEUE_TIMEOUT` of `enqueueBatch`, and on the `ERR_CLOSED` of a batch enqueue
   * (`tryEnqueueBatch`, `enqueueBatch`) whose handle a value's `toJSON` closed part way, of an
   * `SpscRing` or `MpmcQueue`: how many values, a prefix of the array, were enqueued (published)
   * before it; the rest were not.
   */
  enqueued?: number;
  /**
   * The error behind this one, when there is one: the signal's reason of an `ERR_ABORTED`, or the
   * error given as `extra.cause`. Declared here because the ES2020 library's Error has no
   * `cause`.
   */
  cause?: unknown;
}

/** The binary layout (generated from scripts/layout-spec.js). */
export declare const layout: {
  /** Constants (sizes, limits, offsets of fixed regions, tags). */
  C: Readonly<Record<string, number>>;
  /** Byte offsets of each struct's fields, by struct then field (UPPER_SNAKE). */
  S: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** 32-bit word indices of each struct's fields that are word-aligned (S / 4). */
  W: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** 16-bit indices of each struct's fields that are half-word-aligned (S / 2). */
  H: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Byte offset of each fixed region of a store (the first record of each placed struct). */
  BASE: Readonly<Record<string, number>>;
  /** 32-bit word indices of the fields of the store's single-record regions (BASE + S, in words). */
  AT: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Words (4 bytes) and half-words (2 bytes) in one pool unit. */
  UNIT_WORDS: number;
  UNIT_HALFS: number;
  SIZE_CLASSES: readonly number[];
  /** Status number by code. */
  STATUS: Readonly<Record<string, number>>;
  /** Code by status number. */
  STATUS_CODE: readonly string[];
  /** Byte offset of a store's entry pool for these geometry values (maxNamespaces default 255). */
  entriesOffset(bucketCount: number, maxNamespaces?: number): number;
  /** Byte offsets of a store's variable regions for these geometry values. */
  storeRegions(bucketCount: number, maxNamespaces?: number): Readonly<Record<string, number>>;
};

/** A value the store can hold; binary values come back as Buffer, JSON values as equal values. */
export type StoreValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | ArrayBufferView
  | ArrayBuffer
  | StoreValue[]
  | { [key: string]: StoreValue };

export type StoreEngine = 'native' | 'js';

export interface StoreOpenOptions {
  /** 'native' (default when the addon is built) or 'js' (pure JavaScript). */
  engine?: StoreEngine;
  /** After how long a lock held by another thread of this process is presumed abandoned. Default 1000. */
  lockTimeoutMs?: number;
  /** Time every operation of this handle into latency histograms (store.latency()). Default false. */
  latency?: boolean;
  /**
   * This handle's read cache of string and JSON values (docs/api.md, "Read cache"): exact, validated
   * against the store's bytes on every hit. false (or entries: 0) turns it off; default
   * { entries: 4096, maxValueBytes: 4096 }.
   */
  readCache?: boolean | StoreReadCacheOptions;
}

export interface StoreReadCacheOptions {
  /** Records kept, 0 to 1,048,576 (0: no cache). Default 4096. */
  entries?: number;
  /** Values of more UTF-8 bytes are not cached, 0 to 65,535. Default 4096. */
  maxValueBytes?: number;
}

/** The operations a latency snapshot times, each under its method's name. */
export type LatencyOp = 'get' | 'has' | 'ttl' | 'set' | 'delete' | 'clear' | 'keys' | 'entries' | 'count' | 'getMany' | 'setMany';

/** One operation's histogram: summary in nanoseconds (quantiles within 1/256) and its buckets. */
export interface LatencyOpSnapshot {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  sum: number;
  /** Non-empty buckets as [index, count] pairs (docs/api.md, Latency histograms). */
  buckets: Array<[number, number]>;
}

/** Plain data (JSON, structured clone): the latency histograms of one handle, or a merge of several. */
export interface LatencySnapshot<Op extends string = LatencyOp> {
  format: 1;
  unit: 'ns';
  subBucketBits: number;
  /** Epoch ms since which the values were recorded (the earliest, for a merge). */
  since: number;
  ops: Record<Op, LatencyOpSnapshot>;
}

/** The operations a queue's latency snapshot times (docs/api.md, "Queue latency"). */
export type SpscRingLatencyOp = 'tryEnqueue' | 'enqueue' | 'tryDequeue' | 'dequeue' | 'peek' | 'tryDequeueInto' | 'dequeueInto' | 'enqueueAsync' | 'dequeueAsync' | 'dequeueIntoAsync';
export type MpmcQueueLatencyOp = 'tryEnqueue' | 'enqueue' | 'tryDequeue' | 'dequeue' | 'peek' | 'enqueueAsync' | 'dequeueAsync';
export type ChannelLatencyOp = 'trySend' | 'sendSync' | 'tryReceive' | 'receiveSync' | 'send' | 'receive' | 'sendBatch' | 'receiveBatch';

/** Opt-in latency histograms of a queue handle (docs/api.md, "Queue latency"). */
export interface QueueLatency<Op extends string> {
  /** Times this handle's operations from now on (timed copies on the instance; idempotent). */
  enableLatency(): this;
  disableLatency(): this;
  readonly latencyEnabled: boolean;
  /** This handle's histograms, or null when latency is off; reset starts them over. */
  latency(options?: { reset?: boolean }): LatencySnapshot<Op> | null;
}

/** 'none' pins (a full store refuses), 'auto' is the recommended policy (today 'clock'). */
export type EvictionPolicy = 'none' | 'auto' | 'clock';

/** The expiry of one set: at most one of the two (docs/api.md, store.set). */
export type SetOptions =
  | { /** ms from now, > 0, or Infinity (never). */ ttl?: number; expiresAt?: undefined }
  | { ttl?: undefined; /** epoch ms, > 0, or Infinity (never); one already past deletes the key. */ expiresAt?: number };

/** Settings of a namespace recorded in the store (store.namespace(name, options)). */
export interface NamespaceOptions {
  eviction?: EvictionPolicy;
  /** Default TTL in ms of entries set without their own, or Infinity for none. */
  ttl?: number;
}

/** Per-namespace statistics (stats().namespaceStats[name]). */
export interface NamespaceStats {
  count: number;
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  bytes: number;
  /** The effective policy: its own, or the store's. */
  eviction: 'none' | 'clock';
  /** Default TTL in ms, or Infinity. */
  ttl: number;
  /**
   * The namespace record (format.md §5) and its generation: together they name this life of the
   * namespace. A namespace dropped and created again has another pair, and counters from 0.
   */
  id: number;
  generation: number;
}

/** How a persisted store's writes reach stable storage (docs/api.md, "What each sync mode promises"). */
export type PersistSync = 'none' | 'interval' | 'always';

/** `persist` of Store.create: the directory of the write-ahead log and the sync mode. */
export interface PersistCreateOptions {
  dir: string;
  /** Default 'always'. */
  sync?: PersistSync;
  /** Only with sync: 'interval'; 1 to 3600000, default 1000. */
  intervalMs?: number;
  /**
   * A checkpoint starts by itself once the log file holds this many bytes; default 64 MiB,
   * 0 = never, at most 2 GiB (a log file's limit: a write past it fails with ERR_LOG_FULL).
   */
  checkpointBytes?: number;
  /** A checkpoint starts by itself this long after the last one when the log holds newer records; default 0 = never. */
  checkpointMs?: number;
}

/** What store.checkpoint() wrote. */
export interface CheckpointReport {
  startLsn: number;
  records: number;
  bytes: number;
  ms: number;
}

/** What a recovery (a rebuild from the log) did. */
export interface PersistRecovery {
  /** The snapshot loaded first, or null; `skipped`: its records of keys the log after it decides (not loaded). */
  snapshot: { startLsn: number; records: number; skipped: number } | null;
  /** Log records replayed after the snapshot. */
  records: number;
  bytes: number;
  /** Bytes of a torn or damaged tail cut from the log. */
  cutBytes: number;
  /** Why the log's valid prefix ended before the end of the file, or null. */
  reason: string | null;
  ms: number;
}

export interface PersistInfo {
  dir: string;
  sync: PersistSync;
  intervalMs?: number;
  checkpointBytes: number;
  checkpointMs: number;
  /** The log position after the last record written. */
  tail: number;
  /** Everything below this log position is on stable storage. */
  durable: number;
  /** The first log position of the current log file. */
  logStart: number;
  checkpoints: number;
  /** The error of this handle's last automatic checkpoint when it failed, else null. */
  lastCheckpointError: Error | null;
  recovery: PersistRecovery | null;
}

/** One file of persist.inspect(). */
export interface PersistFileReport {
  file: string;
  kind: 'snapshot' | 'log';
  ok: boolean;
  bytes: number;
  error?: string;
  startLsn?: number;
  end?: number;
  records?: number;
  types?: { set: number; delete: number; clear: number; nsCreate: number; nsDrop: number; nsSettings: number };
  geometry?: { totalSize: number; bucketCount: number; maxEntries: number; maxNamespaces: number };
  zeroBytes?: number;
  cutBytes?: number;
  reason?: string | null;
}

/** Reading persistence files without opening the store. */
export declare const persist: {
  inspect(path: string): { dir?: string; files: PersistFileReport[] };
};

/** What store.backup() copied. */
export interface BackupReport {
  files: number;
  bytesCopied: number;
  bytesTotal: number;
  /** The durable log position the backup reaches. */
  end: number;
  ms: number;
}

/** Where Store.restore() creates the store: a segment and a persistence directory, both new. */
export type RestoreTarget = ({ name: string; path?: never } | { path: string | URL; name?: never }) & {
  dir: string;
  /** Permission bits (0 to 0o777, applied exactly) of the restored segment; default the original's, as the backup records it (0o600 for a backup that does not). */
  mode?: number;
  engine?: StoreEngine;
  lockTimeoutMs?: number;
};

export type StoreCreateOptions = StoreOpenOptions & {
  /** The store's default eviction policy; default 'none'. A persisted store keeps it across a rebuild and a restore. */
  eviction?: EvictionPolicy;
  /** Power of two; default near maxEntries / 2. */
  buckets?: number;
  /** Live entries allowed; default (size - entriesOffset) / 128. */
  maxEntries?: number;
  /** Namespaces the store can hold, 1 to 65535 (default 255); sizes the namespace table. */
  maxNamespaces?: number;
} & (
  | { name: string; size: number; path?: never; buffer?: never; persist?: PersistCreateOptions; /** Permissions of the new segment; default 0o600. A persisted store keeps these permission bits, not the owner or group, across a rebuild and a restore. */ mode?: number }
  | { path: string | URL; size: number; name?: never; buffer?: never; persist?: PersistCreateOptions; /** Permissions of the new file; default 0o600. A persisted store keeps these permission bits, not the owner or group, across a rebuild and a restore. */ mode?: number }
  | { buffer: SharedArrayBuffer; size?: never; name?: never; path?: never; persist?: never; mode?: never }
);

/** Store.openOrCreate's options: those of a store created on a named segment or a file. */
export type StoreOpenOrCreateOptions = StoreOpenOptions & {
  eviction?: EvictionPolicy;
  buckets?: number;
  maxEntries?: number;
  maxNamespaces?: number;
  mode?: number;
  persist?: PersistCreateOptions;
} & ({ name: string; size: number; path?: never } | { path: string | URL; size: number; name?: never });

export interface StoreStats {
  engine: StoreEngine;
  entries: number;
  maxEntries: number;
  /** The store's namespace bound (Store.create's maxNamespaces). */
  maxNamespaces: number;
  buckets: number;
  namespaces: number;
  namespaceCounts: Record<string, number>;
  namespaceStats: Record<string, NamespaceStats>;
  eviction: 'none' | 'clock';
  evictionHand: number;
  evictionTurns: number;
  /** The unit where the next compaction step starts. */
  compactionCursor: number;
  compactionSweeps: number;
  compactionSteps: number;
  compactionMoved: number;
  compactionMerged: number;
  bytesTotal: number;
  bytesLive: number;
  bytesFree: number;
  /** Bytes of the blocks on the free lists: a count the allocator keeps (AllocState.listedUnits), no list is walked for it. */
  bytesFreeLists: number;
  bytesTail: number;
  /** The largest contiguous free space (a free large block or the tail): the most one large value can get without eviction. */
  bytesLargestFree: number;
  /** Bytes of the blocks this handle keeps parked for its next writes (counted in bytesLive, not in bytesFree). */
  bytesParked: number;
  /** Allocations of this handle's sets that found no room since it was opened (each followed by making room: evictions and compaction batches). */
  allocationMisses: number;
  fragmentation: number;
  /** Repair passes that completed, run by any handle (wraps at 2^32); a pass that failed part way is not counted. */
  repairs: number;
  reads: number;
  writes: number;
}

export interface CompactOptions {
  /** Stop once the call's windows covered this many bytes of the pool (integer >= 1). */
  maxBytes?: number;
  /** Stop once this much time passed, checked between steps (>= 0; 0: one step). */
  maxMs?: number;
}

export interface CompactReport {
  ms: number;
  bytesFree: number;
  bytesLargestFreeBefore: number;
  bytesLargestFree: number;
  steps: number;
  movedEntries: number;
  movedBytes: number;
  mergedRuns: number;
  /** Blocks in use that were not moved (no hole of their class and no free space below them, blocks being written). */
  obstacles: number;
  /** The unit where the next step starts. */
  cursor: number;
  /** The last step reached the end of the pool. */
  done: boolean;
}

export interface VerifyReport {
  ok: boolean;
  errors: string[];
  entries: number;
  liveUnits: number;
  freeUnits: number;
  leakedUnits: number;
  /** Units of blocks parked by live writers for their next writes (neither live nor free). */
  parkedUnits: number;
}

/** A Map-like view of one namespace. */
export declare class NamespaceView implements Iterable<[string, any]> {
  /** A view of namespace `name` of `store` (what store.namespace(name) returns); it holds no state of its own. */
  constructor(store: Store, name: string);
  readonly store: Store;
  readonly name: string;
  get(key: string): any;
  set(key: string, value: StoreValue, options?: SetOptions): this;
  /** ms until the entry expires, Infinity without expiry, undefined when absent or expired. */
  ttl(key: string): number | undefined;
  has(key: string): boolean;
  /** Whether a live entry was removed (an expired one gives false), as store.delete. */
  delete(key: string): boolean;
  clear(): void;
  readonly size: number;
  keys(): IterableIterator<string>;
  values(): IterableIterator<any>;
  entries(): IterableIterator<[string, any]>;
  forEach(callback: (value: any, key: string, view: this) => void, thisArg?: unknown): void;
  [Symbol.iterator](): IterableIterator<[string, any]>;
}

/** A key-value store in shared memory (docs/format.md), usable from any thread or process. */
export declare class Store {
  static create(options: StoreCreateOptions): Store;
  static open(options: ({ name: string } | { path: string | URL }) & StoreOpenOptions & { persist?: { dir: string } }): Store;
  static attach(buffer: SharedArrayBuffer, options?: StoreOpenOptions): Store;
  /** Creates the store, or opens it as it is when it exists: of several parties calling at once, one creates, the others open. */
  static openOrCreate(options: StoreOpenOrCreateOptions): Store;
  /** Checks a backup completely, then creates and opens the store it holds (its geometry, default eviction policy and sync options). */
  static restore(dir: string, target: RestoreTarget): Store;
  readonly engine: StoreEngine;
  readonly buffer: SharedArrayBuffer;
  readonly closed: boolean;
  set(ns: string, key: string, value: StoreValue, options?: SetOptions): this;
  /** ms until the entry expires, Infinity without expiry, undefined when absent or expired. */
  ttl(ns: string, key: string): number | undefined;
  /** Sets, and resolves once the write is on stable storage. Bad arguments reject with TypeError /
   * RangeError; a store without `persist` then rejects with ERR_NOT_PERSISTED. */
  setDurable(ns: string, key: string, value: StoreValue, options?: SetOptions): Promise<this>;
  /** Resolves once every logged write is on stable storage (at once without `persist`). */
  flush(): Promise<void>;
  /** Writes a snapshot while writers keep writing and removes the log it covers (`persist` only:
   * ERR_NOT_PERSISTED otherwise). */
  checkpoint(): CheckpointReport;
  /** Copies the snapshot and the durable log into dir; later calls copy only what changed
   * (`persist` only: ERR_NOT_PERSISTED otherwise, after dir is checked). ERR_LOCK_TIMEOUT when
   * taking over a dead backup's marker finds dir flocked by another for 10 x lockTimeoutMs. */
  backup(dir: string): BackupReport;
  /** The persistence of this handle, null without `persist`; throws ERR_CLOSED once closed. */
  readonly persistence: PersistInfo | null;
  get(ns: string, key: string): any;
  has(ns: string, key: string): boolean;
  /** Whether a live entry was removed: an expired one not reclaimed yet is removed too, and gives false (counted as an expiration). */
  delete(ns: string, key: string): boolean;
  /** Removes every entry of the namespace; returns how many live ones it removed (those expired when it starts are not counted). */
  clear(ns: string): number;
  /** Removes the namespace, its policy and counters, and frees its id; false when absent. */
  dropNamespace(ns: string): number | false;
  keys(ns: string): string[];
  entries(ns: string): [string, any][];
  count(ns?: string): number;
  namespaces(): string[];
  getMany(ns: string, keys: string[]): any[];
  setMany(ns: string, entries: Iterable<[string, StoreValue]> | Map<string, StoreValue>, options?: SetOptions): number;
  stats(): StoreStats;
  /** progress: kept at [work done, work in all] while the check runs (for another thread to show). */
  verify(options?: { progress?: Int32Array }): VerifyReport;
  repair(): void;
  /**
   * Incremental compaction: steps that move live entries out of a window of the pool and merge its
   * free runs; bounded by maxBytes (pool bytes covered) and maxMs, else one whole sweep.
   */
  compact(options?: CompactOptions): CompactReport;
  namespace(name: string, options?: NamespaceOptions): NamespaceView;
  /** Starts timing this handle's operations (instrumented methods on this instance only). */
  enableLatency(): this;
  /** Stops timing: the instance uses its class's methods again. */
  disableLatency(): this;
  readonly latencyEnabled: boolean;
  /** This handle's histograms as plain data, null when latency is off; reset starts them over. */
  latency(options?: { reset?: boolean }): LatencySnapshot | null;
  /** The snapshot of the union of the values of several snapshots (null entries are skipped). */
  static mergeLatency(snapshots: Array<LatencySnapshot | null>): LatencySnapshot;
  close(): void;
  /** close(), for `using`. */
  [Symbol.dispose](): void;
}

/** Where a Mutex lives: a segment (name or path) or a SharedArrayBuffer, at byteOffset (a multiple of 64). */
export type MutexTarget =
  | { name: string; path?: undefined; buffer?: undefined; byteOffset?: number }
  | { path: string | URL; name?: undefined; buffer?: undefined; byteOffset?: number }
  | { buffer: SharedArrayBuffer; name?: undefined; path?: undefined; byteOffset?: number };

export type MutexCreateOptions =
  | { name: string; path?: undefined; buffer?: undefined; byteOffset?: number; size?: number }
  | { path: string | URL; name?: undefined; buffer?: undefined; byteOffset?: number; size?: number }
  | { buffer: SharedArrayBuffer; name?: undefined; path?: undefined; byteOffset?: number };

/** Where any sync object lives (the same forms as MutexTarget). */
export type SyncTarget = MutexTarget;
/** Creation options of the sync objects without parameters of their own. */
export type SyncCreateOptions = MutexCreateOptions;
/** The options of the async waits of the sync objects. */
export interface SyncWaitOptions {
  signal?: AbortSignal;
}

/** What an acquisition tells: `recovered` is true when a holder was gone (see docs/api.md, Mutex). */
export interface MutexLockResult {
  recovered: boolean;
}

/** A robust mutual-exclusion lock in shared memory (docs/format.md §13). */
export declare class Mutex {
  private constructor();
  /** Bytes of the sync region. */
  static readonly BYTES: number;
  /** The same as BYTES: the room a registry makes for one mutex. */
  static readonly regionBytes: number;
  static create(options: MutexCreateOptions): Mutex;
  static open(options: MutexTarget): Mutex;
  /** Blocks the thread; throws ShmError ERR_LOCK_TIMEOUT after timeoutMs (default Infinity). */
  lock(timeoutMs?: number): MutexLockResult;
  /** The lock if it is free (or its holder is gone), else false. */
  tryLock(): MutexLockResult | false;
  /**
   * Like lock() without blocking the event loop; options.signal aborts it. The pending calls of
   * a handle take the lock in call order (docs/api.md, "Async waits of a handle").
   */
  lockAsync(timeoutMs?: number, options?: SyncWaitOptions): Promise<MutexLockResult>;
  /** Releases the lock; throws ShmError ERR_NOT_OWNER when this handle does not hold it. */
  unlock(): void;
  withLock<T>(fn: (info: MutexLockResult) => Promise<T>): Promise<T>;
  withLock<T>(fn: (info: MutexLockResult) => T): T;
  close(): void;
  [Symbol.dispose](): void;
  readonly held: boolean;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly recoveries: number;
}

/** Members every sync object other than Mutex has. */
interface SyncHandle {
  close(): void;
  [Symbol.dispose](): void;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** A writer-preferring reader-writer lock in shared memory (docs/format.md §13.1). */
export declare class RwLock implements SyncHandle {
  private constructor();
  static readonly BYTES: number;
  static readonly regionBytes: number;
  static create(options: SyncCreateOptions): RwLock;
  static open(options: SyncTarget): RwLock;
  readLock(timeoutMs?: number): MutexLockResult;
  tryReadLock(): MutexLockResult | false;
  readLockAsync(timeoutMs?: number, options?: SyncWaitOptions): Promise<MutexLockResult>;
  readUnlock(): void;
  writeLock(timeoutMs?: number): MutexLockResult;
  tryWriteLock(): MutexLockResult | false;
  writeLockAsync(timeoutMs?: number, options?: SyncWaitOptions): Promise<MutexLockResult>;
  writeUnlock(): void;
  close(): void;
  [Symbol.dispose](): void;
  readonly writing: boolean;
  readonly reading: number;
  readonly recoveries: number;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** What a condition wait tells: notified false when the timeout passed. */
export interface ConditionWaitResult {
  notified: boolean;
  recovered: boolean;
}

/** A condition variable used with a Mutex (docs/format.md §13.2). */
export declare class Condition implements SyncHandle {
  private constructor();
  static readonly BYTES: number;
  static readonly regionBytes: number;
  static create(options: SyncCreateOptions): Condition;
  static open(options: SyncTarget): Condition;
  wait(mutex: Mutex, timeoutMs?: number): ConditionWaitResult;
  waitAsync(mutex: Mutex, timeoutMs?: number, options?: SyncWaitOptions): Promise<ConditionWaitResult>;
  notifyOne(): void;
  notifyAll(): void;
  close(): void;
  [Symbol.dispose](): void;
  readonly waiting: number;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

export type SemaphoreCreateOptions = SyncCreateOptions & { permits?: number };

/** A counting semaphore whose permits come back from a holder that died (docs/format.md §13.3). */
export declare class Semaphore implements SyncHandle {
  private constructor();
  static readonly BYTES: number;
  static readonly regionBytes: number;
  static create(options: SemaphoreCreateOptions): Semaphore;
  static open(options: SyncTarget): Semaphore;
  acquire(n?: number, timeoutMs?: number): MutexLockResult;
  tryAcquire(n?: number): MutexLockResult | false;
  /**
   * The pending calls of a handle take their permits in call order (docs/api.md, "Async waits of a
   * handle"): a call for more permits than the semaphore counts waits for releases that add them,
   * holding back the later calls of its handle until then (or its timeout, or its signal).
   */
  acquireAsync(n?: number, timeoutMs?: number, options?: SyncWaitOptions): Promise<MutexLockResult>;
  release(n?: number): void;
  close(): void;
  [Symbol.dispose](): void;
  readonly permits: number;
  readonly held: number;
  readonly recoveries: number;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

export type BarrierCreateOptions = SyncCreateOptions & { parties: number };

/** What a barrier wait tells: leader is true for the last party of a generation. */
export interface BarrierWaitResult {
  leader: boolean;
}

/** A reusable barrier that a dead party breaks (docs/format.md §13.4). */
export declare class Barrier implements SyncHandle {
  private constructor();
  static readonly BYTES: number;
  static readonly regionBytes: number;
  static create(options: BarrierCreateOptions): Barrier;
  static open(options: SyncTarget): Barrier;
  wait(timeoutMs?: number): BarrierWaitResult;
  waitAsync(timeoutMs?: number, options?: SyncWaitOptions): Promise<BarrierWaitResult>;
  reset(parties?: number): void;
  close(): void;
  [Symbol.dispose](): void;
  readonly parties: number;
  readonly arrived: number;
  readonly broken: boolean;
  readonly generation: number;
  readonly breaks: number;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** A counter of pending tasks to wait for (docs/format.md §13.5). */
export declare class WaitGroup implements SyncHandle {
  private constructor();
  static readonly BYTES: number;
  static readonly regionBytes: number;
  static create(options: SyncCreateOptions): WaitGroup;
  static open(options: SyncTarget): WaitGroup;
  add(n?: number): number;
  done(): number;
  wait(timeoutMs?: number): void;
  waitAsync(timeoutMs?: number, options?: SyncWaitOptions): Promise<void>;
  close(): void;
  [Symbol.dispose](): void;
  readonly count: number;
  readonly closed: boolean;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** Where a Registry lives: a segment (name or path) or a SharedArrayBuffer (threads only). */
export type RegistryTarget = (
  | { name: string; path?: undefined; buffer?: undefined }
  | { path: string | URL; name?: undefined; buffer?: undefined }
  | { buffer: SharedArrayBuffer; name?: undefined; path?: undefined }
) & {
  /** How long an operation waits for the table lock (default 30000 ms), then ERR_LOCK_TIMEOUT. */
  timeoutMs?: number;
};

export type RegistryCreateOptions = RegistryTarget & {
  /** Entries in the table, 1 to 65536 (default 256): the most structures at a time. */
  maxEntries?: number;
} & (
  | { buffer?: undefined; /** Segment size in bytes. */ size: number; /** Default 0o600. */ mode?: number }
  | { buffer: SharedArrayBuffer; size?: undefined; mode?: undefined }
);

/** The kinds of structure a registry hosts: the options of a call that may create (creation
 * and handle options), those of open(), and the handle. */
export interface RegistryKinds {
  mutex: { create: Record<string, never>; open: Record<string, never>; handle: Mutex };
  rwlock: { create: Record<string, never>; open: Record<string, never>; handle: RwLock };
  semaphore: { create: { permits?: number }; open: Record<string, never>; handle: Semaphore };
  barrier: { create: { parties: number }; open: Record<string, never>; handle: Barrier };
  condition: { create: Record<string, never>; open: Record<string, never>; handle: Condition };
  waitgroup: { create: Record<string, never>; open: Record<string, never>; handle: WaitGroup };
  spsc: { create: { capacity: number; elementSize?: number }; open: Record<string, never>; handle: SpscRing };
  mpmc: { create: { capacity: number; messageBytes?: number }; open: Record<string, never>; handle: MpmcQueue };
  channel: { create: { capacity: number; messageBytes?: number }; open: Record<string, never>; handle: Channel };
  store: {
    create: { size: number; buckets?: number; maxEntries?: number; maxNamespaces?: number; mode?: number; engine?: StoreEngine; lockTimeoutMs?: number };
    open: { engine?: StoreEngine; lockTimeoutMs?: number };
    handle: Store;
  };
  bytes: { create: { size: number }; open: Record<string, never>; handle: Uint8Array };
  'buffer-pool': { create: { blockSize: number; blockCount: number }; open: Record<string, never>; handle: BufferPool };
  stack: { create: { capacity: number; messageBytes?: number }; open: Record<string, never>; handle: Stack };
  'priority-queue': {
    create: { capacity: number; messageBytes?: number; order?: 'min' | 'max' };
    open: Record<string, never>;
    handle: PriorityQueue;
  };
  broadcast: { create: { capacity: number; messageBytes?: number }; open: Record<string, never>; handle: Broadcast };
  'object-pool': { create: { recordSize: number; capacity: number }; open: Record<string, never>; handle: ObjectPool };
  'memory-pool': { create: { classes: MemoryPoolClass[] }; open: Record<string, never>; handle: MemoryPool };
}

export type RegistryKind = keyof RegistryKinds;

/** The options of a call that may create: required when the kind has required creation options. */
export type RegistryCreateArgs<K extends RegistryKind> = Record<string, never> extends RegistryKinds[K]['create']
  ? [options?: RegistryKinds[K]['create'] extends Record<string, never> ? RegistryKinds[K]['open'] : RegistryKinds[K]['create']]
  : [options: RegistryKinds[K]['create']];

/** One live structure, as registry.list() shows it. */
export interface RegistryEntry {
  name: string;
  kind: string;
  /** The format version of the kind's bytes. */
  version: number;
  /** Where its block lies in registry.buffer (a multiple of 64), and its length. */
  byteOffset: number;
  byteLength: number;
  /** Its creation options (a store's also names its segment). */
  options: Record<string, unknown>;
}

export interface RegistryStats {
  entries: number;
  maxEntries: number;
  /** Bytes of the data area, free bytes in total, and the largest free run. */
  bytes: number;
  freeBytes: number;
  largestFreeBytes: number;
  freeBlocks: number;
  /** Repair passes run (after a holder died, or damage was found). */
  repairs: number;
  /** Creates and deletes completed. */
  changes: number;
}

/** A table of named structures in one segment or SharedArrayBuffer (docs/format.md §14). */
export declare class Registry {
  private constructor();
  static create(options: RegistryCreateOptions): Registry;
  static open(options: RegistryTarget): Registry;
  /** Creates the structure; ShmError ERR_EXISTS when the name is taken. */
  create<K extends RegistryKind>(kind: K, name: string, ...options: RegistryCreateArgs<K>): RegistryKinds[K]['handle'];
  /** Opens the structure; ERR_NOT_FOUND, ERR_KIND_MISMATCH, ERR_BAD_VERSION. */
  open<K extends RegistryKind>(kind: K, name: string, options?: RegistryKinds[K]['open']): RegistryKinds[K]['handle'];
  /** Opens the structure if it exists, else creates it. */
  openOrCreate<K extends RegistryKind>(kind: K, name: string, ...options: RegistryCreateArgs<K>): RegistryKinds[K]['handle'];
  /** Deletes the structure; ERR_NOT_FOUND, ERR_IN_USE while a handle is open. */
  delete(name: string): void;
  list(): RegistryEntry[];
  stats(): RegistryStats;
  /** Releases every handle this registry returned (a channel's with dispose(): its close() closes the channel), and closes the registry. */
  close(): void;
  [Symbol.dispose](): void;
  readonly buffer: SharedArrayBuffer;
  readonly name: string | null;
  readonly path: string | null;
  readonly maxEntries: number;
  readonly closed: boolean;
}

/** Where a queue lives: a segment (name or path) or a SharedArrayBuffer, at byteOffset (a multiple of 64). */
export type QueueTarget = MutexTarget;

/** A message: a string, bytes, or any JSON value (read back as string, Buffer or the parsed value). */
export type QueueMessage = string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer | number | boolean | null | object;

/** Options of the Promise forms of the queues. */
export interface QueueWaitOptions {
  /** Default Infinity; then the promise rejects with ShmError ERR_QUEUE_TIMEOUT. */
  timeoutMs?: number;
  /** Aborting rejects the promise with the signal's reason. */
  signal?: AbortSignal;
}

export type SpscRingCreateOptions = MutexCreateOptions & {
  /** Data bytes (variable-size messages) or elements (with elementSize): a power of two. */
  capacity: number;
  /** Fixed-size elements of this many bytes (1..65536); 0 or absent: variable-size messages. */
  elementSize?: number;
  /** Test hook: where both position counters start (to test the wrap at 2^32). */
  startPosition?: number;
};

/** A wait-free single-producer single-consumer ring in shared memory (docs/format.md §15). */
export declare class SpscRing implements QueueLatency<SpscRingLatencyOp> {
  private constructor();
  static readonly LATENCY_OPS: readonly SpscRingLatencyOp[];
  static mergeLatency(snapshots: Array<LatencySnapshot<SpscRingLatencyOp> | null>): LatencySnapshot<SpscRingLatencyOp>;
  enableLatency(): this;
  disableLatency(): this;
  readonly latencyEnabled: boolean;
  latency(options?: { reset?: boolean }): LatencySnapshot<SpscRingLatencyOp> | null;
  /** Where the data starts in the region (320). */
  static readonly DATA_OFFSET: number;
  static create(options: SpscRingCreateOptions): SpscRing;
  static open(options: QueueTarget): SpscRing;
  /** Bytes a ring of this shape needs from its byteOffset. */
  static bytesFor(capacity: number, options?: { elementSize?: number }): number;
  /** Throws ERR_IN_USE, changing nothing, when called from a value's toJSON while a batch enqueue of this handle writes. */
  tryEnqueue(value: QueueMessage): boolean;
  /** Throws ERR_IN_USE, changing nothing, when called from a value's toJSON while a batch enqueue of this handle writes. */
  enqueue(value: QueueMessage, timeoutMs?: number): void;
  /**
   * Completes after this handle's pending enqueueAsync() calls: call order within one handle.
   * Throws ERR_IN_USE at once, changing nothing, when called from a value's toJSON while a batch
   * enqueue of this handle writes.
   */
  enqueueAsync(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  /** The next message, or undefined when empty. */
  tryDequeue(): any;
  /** The next message without removing it, after this handle's pending dequeueAsync() calls took theirs; undefined when empty. */
  peek(): any;
  dequeue(timeoutMs?: number): any;
  /** Takes a message after this handle's pending dequeueAsync() and dequeueIntoAsync() calls: call order within one handle. */
  dequeueAsync(options?: QueueWaitOptions): Promise<any>;
  /**
   * Variable-size mode: enqueues the prefix of values that fits now, published together; returns
   * its length. An enqueue of this handle from a value's toJSON throws ERR_IN_USE meanwhile (and
   * so does this, called from there). ERR_CLOSED when a value's toJSON closed the handle, with
   * `enqueued`.
   */
  tryEnqueueBatch(values: QueueMessage[]): number;
  /**
   * Variable-size mode: enqueues every value in order, waiting for room; ERR_QUEUE_TIMEOUT
   * carries `enqueued`, as does ERR_CLOSED when a value's toJSON closed the handle. ERR_IN_USE
   * when called from a value's toJSON while a batch enqueue of this handle writes.
   */
  enqueueBatch(values: QueueMessage[], timeoutMs?: number): void;
  /** Variable-size mode: the messages there are now (at most max), released together; [] when empty. */
  tryDequeueBatch(max?: number): any[];
  /** Like tryDequeueBatch, blocking until at least one message arrives. */
  dequeueBatch(max?: number, timeoutMs?: number): any[];
  /** Element mode: copies up to as many elements as target holds; returns how many. */
  tryDequeueInto(target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number;
  dequeueInto(target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, timeoutMs?: number): number;
  /** Element mode: in call order with this handle's pending dequeueAsync() and dequeueIntoAsync() calls. */
  dequeueIntoAsync(target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, options?: QueueWaitOptions): Promise<number>;
  /**
   * Consumer side: drops every message published up to now (the way on after ERR_CORRUPT with
   * `needsDiscard`); returns how much it dropped, as `size` counts it.
   */
  discard(): number;
  close(): void;
  [Symbol.dispose](): void;
  readonly capacity: number;
  readonly elementSize: number;
  readonly maxMessageBytes: number;
  /** Elements queued, or bytes of records in use. */
  readonly size: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

export type MpmcQueueCreateOptions = MutexCreateOptions & {
  /** Slots: a power of two, 2 to 2^28. */
  capacity: number;
  /** The largest message in bytes (1..1048576); default 248. */
  messageBytes?: number;
  /** Test hook: where the position counters start (to test the wrap at 2^32). */
  startPosition?: number;
};

/** A bounded lock-free multi-producer multi-consumer queue in shared memory (docs/format.md §15). */
export declare class MpmcQueue implements QueueLatency<MpmcQueueLatencyOp> {
  private constructor();
  static readonly LATENCY_OPS: readonly MpmcQueueLatencyOp[];
  static mergeLatency(snapshots: Array<LatencySnapshot<MpmcQueueLatencyOp> | null>): LatencySnapshot<MpmcQueueLatencyOp>;
  enableLatency(): this;
  disableLatency(): this;
  readonly latencyEnabled: boolean;
  latency(options?: { reset?: boolean }): LatencySnapshot<MpmcQueueLatencyOp> | null;
  /** Where the slots start in the region (12864). */
  static readonly SLOTS_OFFSET: number;
  static create(options: MpmcQueueCreateOptions): MpmcQueue;
  static open(options: QueueTarget): MpmcQueue;
  static bytesFor(capacity: number, options?: { messageBytes?: number }): number;
  /**
   * False when full, or when this handle's pending enqueueAsync() calls take the room first.
   * Throws ERR_IN_USE, changing nothing, when called from a value's toJSON while a batch enqueue
   * of this handle prepares its values.
   */
  tryEnqueue(value: QueueMessage): boolean;
  /** Throws ERR_IN_USE, changing nothing, when called from a value's toJSON while a batch enqueue of this handle prepares its values. */
  enqueue(value: QueueMessage, timeoutMs?: number): void;
  /**
   * Completes after this handle's pending enqueueAsync() calls: call order within one handle.
   * Throws ERR_IN_USE at once, changing nothing, when called from a value's toJSON while a batch
   * enqueue of this handle prepares its values.
   */
  enqueueAsync(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  /** The next message, or undefined when empty or when this handle's pending dequeueAsync() calls take it first. */
  tryDequeue(): any;
  dequeue(timeoutMs?: number): any;
  /** Takes a message after this handle's pending dequeueAsync() calls: call order within one handle. */
  dequeueAsync(options?: QueueWaitOptions): Promise<any>;
  /**
   * The message at the head without taking it, after this handle's pending dequeueAsync() calls
   * took theirs; undefined when empty. A snapshot: another consumer may take it first.
   */
  peek(): any;
  /**
   * Enqueues the prefix of `values` there is room for now (claims of up to 64 slots); returns its
   * length. An enqueue of this handle from a value's toJSON throws ERR_IN_USE meanwhile (and so
   * does this, called from there). ERR_CLOSED when a value's toJSON closed the handle, with
   * `enqueued`.
   */
  tryEnqueueBatch(values: QueueMessage[]): number;
  /**
   * Enqueues every value in order, waiting for room; ERR_QUEUE_TIMEOUT carries `enqueued`, as
   * does ERR_CLOSED when a value's toJSON closed the handle. ERR_IN_USE when called from a
   * value's toJSON while a batch enqueue of this handle prepares its values.
   */
  enqueueBatch(values: QueueMessage[], timeoutMs?: number): void;
  /** The messages queued now, at most `max` (default: all), in order; [] when empty. */
  tryDequeueBatch(max?: number): any[];
  /** Like tryDequeueBatch, blocking until at least one message arrives. */
  dequeueBatch(max?: number, timeoutMs?: number): any[];
  close(): void;
  [Symbol.dispose](): void;
  readonly capacity: number;
  readonly messageBytes: number;
  readonly size: number;
  /** Slots finished for gone parties: writes never delivered, reads lost with a dead consumer. */
  readonly skipped: { writes: number; reads: number };
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

export type StackCreateOptions = MutexCreateOptions & {
  /** Nodes: a power of two, 2 to 2^20. */
  capacity: number;
  /** The largest message in bytes (1..1048576); default 240. */
  messageBytes?: number;
};

/** A bounded lock-free LIFO stack in shared memory (docs/format.md §15, "Stack"). */
export declare class Stack {
  private constructor();
  /** Where the nodes start in the region (8768). */
  static readonly NODES_OFFSET: number;
  static create(options: StackCreateOptions): Stack;
  static open(options: QueueTarget): Stack;
  static bytesFor(capacity: number, options?: { messageBytes?: number }): number;
  tryPush(value: QueueMessage): boolean;
  push(value: QueueMessage, timeoutMs?: number): void;
  /** Pushes after this handle's pending pushAsync() calls: call order within one handle. */
  pushAsync(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  /** The top message, or undefined when empty. */
  tryPop(): any;
  pop(timeoutMs?: number): any;
  /** Takes the top after this handle's pending popAsync() calls: call order within one handle. */
  popAsync(options?: QueueWaitOptions): Promise<any>;
  /** The top message without popping it, after this handle's pending popAsync() calls took theirs; undefined when empty. */
  peek(): any;
  /** Gives the nodes held by parties that are gone back; returns how many. */
  reclaim(): number;
  close(): void;
  [Symbol.dispose](): void;
  readonly capacity: number;
  readonly messageBytes: number;
  /** Messages on the stack at one instant during the call (the top node's depth: constant time). */
  readonly size: number;
  /** Messages lost with parties that were gone: pushes never pushed, pops never handed back. */
  readonly lost: { pushes: number; pops: number };
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

export type PriorityQueueCreateOptions = MutexCreateOptions & {
  /** Nodes: a power of two, 2 to 2^20. */
  capacity: number;
  /** The largest message in bytes (1..1048576); default 232. */
  messageBytes?: number;
  /** 'max' (default): the largest priority first; 'min': the smallest first. */
  order?: 'min' | 'max';
};

/** A bounded priority queue (a heap under a robust mutex) in shared memory (docs/format.md §15). */
export declare class PriorityQueue {
  private constructor();
  static create(options: PriorityQueueCreateOptions): PriorityQueue;
  static open(options: QueueTarget): PriorityQueue;
  static bytesFor(capacity: number, options?: { messageBytes?: number; order?: 'min' | 'max' }): number;
  /** `priority`: a number, not NaN nor ±Infinity. */
  tryEnqueue(value: QueueMessage, priority: number): boolean;
  enqueue(value: QueueMessage, priority: number, timeoutMs?: number): void;
  /** Enqueues after this handle's pending enqueueAsync() calls: call order within one handle (FIFO among equal priorities). */
  enqueueAsync(value: QueueMessage, priority: number, options?: QueueWaitOptions): Promise<void>;
  /** The first message (by order, FIFO among equal priorities), or undefined when empty. */
  tryDequeue(): any;
  dequeue(timeoutMs?: number): any;
  /** Takes the first message after this handle's pending dequeueAsync() calls: call order within one handle. */
  dequeueAsync(options?: QueueWaitOptions): Promise<any>;
  /** The first message without removing it, after this handle's pending dequeueAsync() calls took theirs; undefined when empty. */
  peek(): any;
  close(): void;
  [Symbol.dispose](): void;
  readonly capacity: number;
  readonly messageBytes: number;
  readonly order: 'min' | 'max';
  readonly size: number;
  /** How many times the heap was rebuilt after a holder of its mutex died. */
  readonly rebuilds: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

/**
 * Where and how a buffer pool is created (docs/api.md, BufferPool.create): exactly one of name,
 * path or buffer (size only with a segment).
 */
export type BufferPoolCreateOptions = MutexCreateOptions & {
  /** The bytes of one block, 1 to 2^30. */
  blockSize: number;
  /** How many blocks, 1 to 65536. */
  blockCount: number;
};

/** A held block: its handle (a u32, never 0) and the block in place. */
export interface PooledBlock {
  handle: number;
  view: Uint8Array;
}

/** Fixed-size blocks in shared memory for zero-copy hand-offs (docs/api.md, BufferPool). */
export declare class BufferPool {
  private constructor();
  static create(options: BufferPoolCreateOptions): BufferPool;
  static open(options: QueueTarget): BufferPool;
  static bytesFor(blockCount: number, blockSize: number): number;
  /**
   * Blocks the thread until a block is free (default: forever; 0: no wait); ERR_POOL_EXHAUSTED
   * when none became free within timeoutMs (after reclaiming gone holders' blocks).
   */
  acquire(timeoutMs?: number): PooledBlock;
  /**
   * Like acquire() without blocking the event loop. The pending calls of one handle are served in
   * call order by one waiting loop; close() rejects them with ERR_CLOSED at once.
   */
  acquireAsync(options?: PoolWaitOptions): Promise<PooledBlock>;
  tryAcquire(): PooledBlock | null;
  view(handle: number): Uint8Array;
  /** Makes this handle the block's holder; returns its view. */
  take(handle: number): Uint8Array;
  release(handle: number): void;
  /** Frees the blocks whose holder is gone; returns how many. */
  reclaim(): number;
  stats(): { blockCount: number; free: number; held: number; mine: number };
  close(): void;
  [Symbol.dispose](): void;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

/** The options of a pool's Promise form of acquire (docs/api.md, BufferPool.acquireAsync). */
export interface PoolWaitOptions {
  /** Default Infinity; then the promise rejects with ShmError ERR_POOL_EXHAUSTED. */
  timeoutMs?: number;
  /** Aborting rejects the promise with the signal's reason. */
  signal?: AbortSignal;
}

/** Where and how an object pool is created (docs/api.md, ObjectPool.create): as BufferPoolCreateOptions. */
export type ObjectPoolCreateOptions = MutexCreateOptions & {
  /** The bytes of one record, 1 to 2^30. */
  recordSize: number;
  /** How many records, 1 to 65536. */
  capacity: number;
};

/** A held record: its handle, its bytes and a DataView over them, in place. */
export interface PooledRecord {
  handle: number;
  view: Uint8Array;
  data: DataView;
}

/** Fixed-size records in shared memory (docs/api.md, ObjectPool). */
export declare class ObjectPool {
  private constructor();
  static create(options: ObjectPoolCreateOptions): ObjectPool;
  static open(options: QueueTarget): ObjectPool;
  static bytesFor(capacity: number, recordSize: number): number;
  /** Blocks the thread until a record is free (default: forever); ERR_POOL_EXHAUSTED after timeoutMs. */
  acquire(timeoutMs?: number): PooledRecord;
  acquireAsync(options?: PoolWaitOptions): Promise<PooledRecord>;
  tryAcquire(): PooledRecord | null;
  view(handle: number): Uint8Array;
  data(handle: number): DataView;
  take(handle: number): Uint8Array;
  release(handle: number): void;
  reclaim(): number;
  stats(): { capacity: number; free: number; held: number; mine: number };
  close(): void;
  [Symbol.dispose](): void;
  readonly recordSize: number;
  readonly capacity: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

/** One size class of a memory pool: `count` blocks of `size` bytes. */
export interface MemoryPoolClass {
  size: number;
  count: number;
}

/** Where and how a memory pool is created (docs/api.md, MemoryPool.create): as BufferPoolCreateOptions. */
export type MemoryPoolCreateOptions = MutexCreateOptions & {
  /** 1 to 32 classes, sizes strictly growing, at most 65536 blocks in all. */
  classes: MemoryPoolClass[];
};

/** Blocks of several size classes in shared memory (docs/api.md, MemoryPool). */
export declare class MemoryPool {
  private constructor();
  static create(options: MemoryPoolCreateOptions): MemoryPool;
  static open(options: QueueTarget): MemoryPool;
  static bytesFor(classes: MemoryPoolClass[]): number;
  /** Classes of sizes minSize, 2 × minSize, ... up to maxSize, `count` blocks each. */
  static powersOfTwo(minSize: number, maxSize: number, count: number): MemoryPoolClass[];
  /**
   * A block of the smallest fitting class (or a larger one), waiting up to `timeoutMs` (default:
   * forever; 0: not at all) for a fitting block to be freed; ERR_POOL_EXHAUSTED when none was.
   */
  allocate(size: number, timeoutMs?: number): PooledBlock;
  /**
   * Like allocate() without blocking the event loop. The pending calls of one handle are served in
   * call order by one waiting loop (a call that waits holds back the later ones, whatever their
   * sizes); close() rejects them with ERR_CLOSED at once.
   */
  allocateAsync(size: number, options?: PoolWaitOptions): Promise<PooledBlock>;
  tryAllocate(size: number): PooledBlock | null;
  /** The block of a held handle: as many bytes as its allocate asked for. */
  view(handle: number): Uint8Array;
  take(handle: number): Uint8Array;
  free(handle: number): void;
  reclaim(): number;
  stats(): {
    blockCount: number; free: number; held: number; mine: number;
    classes: Array<{ size: number; count: number; free: number; held: number; mine: number }>;
  };
  close(): void;
  [Symbol.dispose](): void;
  readonly classes: MemoryPoolClass[];
  readonly maxSize: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

/** The options of channel.iterate() and subscriber.iterate(). */
export interface ReceiveIterateOptions {
  /** Its abort ends the iteration, also while a receive is pending: the pending next() rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * The async iterator of channel.iterate() and subscriber.iterate() (and of `for await`): return()
 * ends it also while a next() is pending, which then resolves { done: true } (or delivers the
 * message its receive had already taken); no message is lost by stopping.
 */
export interface ReceiveIterator<T> extends AsyncIterableIterator<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  return<R = undefined>(value?: R): Promise<IteratorReturnResult<R>>;
  /** Ends the iteration as return() does, and rejects with `e`. */
  throw(e?: unknown): Promise<IteratorResult<T, undefined>>;
  [Symbol.asyncIterator](): ReceiveIterator<T>;
  /** return(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** An MPMC queue that can be closed, with Go's semantics (docs/api.md, Channel). */
export declare class Channel implements AsyncIterable<any>, QueueLatency<ChannelLatencyOp> {
  static readonly LATENCY_OPS: readonly ChannelLatencyOp[];
  static mergeLatency(snapshots: Array<LatencySnapshot<ChannelLatencyOp> | null>): LatencySnapshot<ChannelLatencyOp>;
  enableLatency(): this;
  disableLatency(): this;
  readonly latencyEnabled: boolean;
  latency(options?: { reset?: boolean }): LatencySnapshot<ChannelLatencyOp> | null;
  private constructor();
  static create(options: MpmcQueueCreateOptions): Channel;
  static open(options: QueueTarget): Channel;
  static bytesFor(capacity: number, options?: { messageBytes?: number }): number;
  /** Completes after this handle's pending send() and sendBatch() calls: call order within one handle. */
  send(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  sendSync(value: QueueMessage, timeoutMs?: number): void;
  /** False when full, or when this handle's pending send() calls take the room first. */
  trySend(value: QueueMessage): boolean;
  /** Takes a message after this handle's pending receive() and receiveBatch() calls: call order within one handle. */
  receive(options?: QueueWaitOptions): Promise<any>;
  receiveSync(timeoutMs?: number): any;
  /**
   * The next message, or undefined when none is queued now (or this handle's pending receive()
   * calls take it first): not the end, even once closed (a sender that claimed its slot before
   * close() may still publish); receiveSync(0) tells the end.
   */
  tryReceive(): any;
  /**
   * Sends every value in order, claiming the free slots at once and waiting only while none is
   * free; resolves how many were sent. ERR_QUEUE_TIMEOUT and ERR_CHANNEL_CLOSED carry `sent`,
   * as does the TypeError of bytes detached or shrunk before the channel took them. An abort of
   * `signal` rejects with ERR_ABORTED carrying `sent` (0 or more), its `cause` the signal's reason.
   */
  sendBatch(values: QueueMessage[], options?: QueueWaitOptions): Promise<number>;
  /** At least one message, at most max (what is queued). */
  receiveBatch(max: number, options?: QueueWaitOptions): Promise<any[]>;
  /** Every message until the channel is closed and drained; stoppable while a receive is pending (return(), or an abort of `signal`). */
  iterate(options?: ReceiveIterateOptions): ReceiveIterator<any>;
  /** iterate(). */
  [Symbol.asyncIterator](): ReceiveIterator<any>;
  /** Closes the channel for every party; throws ERR_CHANNEL_CLOSED when it is closed already. */
  close(): void;
  /** Releases this handle. */
  dispose(): void;
  [Symbol.dispose](): void;
  readonly closed: boolean;
  readonly capacity: number;
  readonly messageBytes: number;
  readonly size: number;
  readonly skipped: { writes: number; reads: number };
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** The options of Broadcast.create: where, and the shape. */
export type BroadcastCreateOptions = MutexCreateOptions & {
  /** Records in the ring: a power of two, 2 to 2^28. */
  capacity: number;
  /** The largest message in bytes (1..1048576); default 248. */
  messageBytes?: number;
  /** Test hook: where the publish position starts (to test the wrap at 2^32). */
  startPosition?: number;
};

/** A message as a subscriber receives it: the value, and how many were overwritten unread just before it. */
export interface BroadcastMessage {
  value: any;
  missed: number;
}

/** A broadcast channel: every subscriber receives every message published after it joined (docs/api.md, Broadcast). */
export declare class Broadcast {
  private constructor();
  static create(options: BroadcastCreateOptions): Broadcast;
  static open(options: QueueTarget): Broadcast;
  static bytesFor(capacity: number, options?: { messageBytes?: number }): number;
  /** Never waits for subscribers: the oldest record is overwritten. */
  publish(value: QueueMessage): void;
  subscribe(): Subscriber;
  /** Closes this handle and its subscribers; the channel stays. */
  close(): void;
  [Symbol.dispose](): void;
  /** Live subscribers of every process (gone ones are dropped first). */
  readonly subscribers: number;
  /** How far the slowest live subscriber is behind (gone ones are dropped first, at most once per 50 ms per handle). */
  readonly maxLag: number;
  /** Publications given up because their publisher died while writing them. */
  readonly skipped: number;
  readonly capacity: number;
  readonly messageBytes: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly closed: boolean;
}

/** A subscriber of a Broadcast (broadcast.subscribe()). */
export declare class Subscriber implements AsyncIterable<BroadcastMessage> {
  private constructor();
  /** The next message after this subscriber's pending receive() calls: consecutive messages in call order. */
  receive(options?: QueueWaitOptions): Promise<BroadcastMessage>;
  receiveSync(timeoutMs?: number): BroadcastMessage;
  /** The next message, or undefined when none is published yet. */
  tryReceive(): BroadcastMessage | undefined;
  /** Every message until close(); stoppable while a receive is pending (return(), or an abort of `signal`). */
  iterate(options?: ReceiveIterateOptions): ReceiveIterator<BroadcastMessage>;
  /** iterate(). */
  [Symbol.asyncIterator](): ReceiveIterator<BroadcastMessage>;
  /** Unsubscribes. */
  close(): void;
  [Symbol.dispose](): void;
  /** Its owner record in the channel. */
  readonly id: number;
  readonly received: number;
  readonly missed: number;
  readonly lag: number;
  readonly closed: boolean;
}
/** The same class by the name of what it subscribes to (a type only: index.js exports `Subscriber`). */
export type BroadcastSubscriber = Subscriber;
