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
  /** Allocate the space now with posix_fallocate (default true), so that a full /dev/shm or
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
  /** Idempotent. Closes the descriptor; see docs/api.md for what happens to the memory. */
  close(): void;
  /** Removes this segment's name or file (allowed before or after close()). */
  unlink(): void;
}

export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Cross-process futex on one 32-bit word of a SharedArrayBuffer. */
export declare const futex: {
  /** Blocks while int32Array[index] === expected, until woken or timeoutMs (default: forever). */
  wait(int32Array: Int32Array, index: number, expected: number, timeoutMs?: number): FutexWaitResult;
  /** Like wait() without blocking the event loop. */
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
}

/** The binary layout (generated from scripts/layout-spec.js). */
export declare const layout: {
  C: Readonly<Record<string, number>>;
  S: Readonly<Record<string, Readonly<Record<string, number>>>>;
  SIZE_CLASSES: readonly number[];
  STATUS: Readonly<Record<string, number>>;
  STATUS_CODE: readonly string[];
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
  /** A checkpoint starts by itself once the log file holds this many bytes; default 64 MiB, 0 = never. */
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
  /** The snapshot loaded first, or null. */
  snapshot: { startLsn: number; records: number } | null;
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
  types?: { set: number; delete: number; clear: number; nsCreate: number; nsDrop: number };
  geometry?: { totalSize: number; bucketCount: number; maxEntries: number };
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
export type RestoreTarget = ({ name: string; path?: never } | { path: string; name?: never }) & {
  dir: string;
  engine?: StoreEngine;
  lockTimeoutMs?: number;
};

/** Options of a set: the value's expiry, recorded in the log. */
export type SetOptions = { ttl: number; expiresAt?: never } | { expiresAt: number; ttl?: never };

export type StoreCreateOptions = StoreOpenOptions & {
  /** Power of two; default near maxEntries / 2. */
  buckets?: number;
  /** Live entries allowed; default (size - entriesOffset) / 128. */
  maxEntries?: number;
  /** Permissions of a new segment or file; default 0o600. */
  mode?: number;
} & (
  | { name: string; size: number; path?: never; buffer?: never; persist?: PersistCreateOptions }
  | { path: string; size: number; name?: never; buffer?: never; persist?: PersistCreateOptions }
  | { buffer: SharedArrayBuffer; size?: number; name?: never; path?: never; persist?: never }
);

export interface StoreStats {
  engine: StoreEngine;
  entries: number;
  maxEntries: number;
  buckets: number;
  namespaces: number;
  namespaceCounts: Record<string, number>;
  bytesTotal: number;
  bytesLive: number;
  bytesFree: number;
  bytesFreeLists: number;
  bytesTail: number;
  fragmentation: number;
  repairs: number;
  reads: number;
  writes: number;
}

export interface VerifyReport {
  ok: boolean;
  errors: string[];
  entries: number;
  liveUnits: number;
  freeUnits: number;
  leakedUnits: number;
}

/** A Map-like view of one namespace. */
export declare class NamespaceView implements Iterable<[string, any]> {
  readonly store: Store;
  readonly name: string;
  get(key: string): any;
  set(key: string, value: StoreValue): this;
  has(key: string): boolean;
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
  static open(options: ({ name: string } | { path: string }) & StoreOpenOptions & { persist?: { dir: string } }): Store;
  static attach(buffer: SharedArrayBuffer, options?: StoreOpenOptions): Store;
  /** Checks a backup completely, then creates and opens the store it holds. */
  static restore(dir: string, target: RestoreTarget): Store;
  readonly engine: StoreEngine;
  readonly buffer: SharedArrayBuffer;
  readonly closed: boolean;
  set(ns: string, key: string, value: StoreValue, options?: SetOptions): this;
  /** Sets, and resolves once the write is on stable storage (a store with `persist` only). */
  setDurable(ns: string, key: string, value: StoreValue, options?: SetOptions): Promise<this>;
  /** Resolves once every logged write is on stable storage (at once without `persist`). */
  flush(): Promise<void>;
  /** Writes a snapshot while writers keep writing and removes the log it covers (`persist` only). */
  checkpoint(): CheckpointReport;
  /** Copies the snapshot and the durable log into dir; later calls copy only what changed. */
  backup(dir: string): BackupReport;
  /** The persistence of this handle, null without `persist`. */
  readonly persistence: PersistInfo | null;
  get(ns: string, key: string): any;
  has(ns: string, key: string): boolean;
  delete(ns: string, key: string): boolean;
  clear(ns: string): number;
  keys(ns: string): string[];
  entries(ns: string): [string, any][];
  count(ns?: string): number;
  namespaces(): string[];
  getMany(ns: string, keys: string[]): any[];
  setMany(ns: string, entries: Iterable<[string, StoreValue]> | Map<string, StoreValue>): number;
  stats(): StoreStats;
  verify(): VerifyReport;
  repair(): void;
  namespace(name: string): NamespaceView;
  close(): void;
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

/** What an acquisition tells: `recovered` is true when a holder was gone (see docs/api.md, Mutex). */
export interface MutexLockResult {
  recovered: boolean;
}

/** A robust mutual-exclusion lock in shared memory (docs/format.md §13). */
export declare class Mutex {
  private constructor();
  /** Bytes of the sync region. */
  static readonly BYTES: number;
  static create(options: MutexCreateOptions): Mutex;
  static open(options: MutexTarget): Mutex;
  /** Blocks the thread; throws ShmError ERR_LOCK_TIMEOUT after timeoutMs (default Infinity). */
  lock(timeoutMs?: number): MutexLockResult;
  /** The lock if it is free (or its holder is gone), else false. */
  tryLock(): MutexLockResult | false;
  /** Like lock() without blocking the event loop. */
  lockAsync(timeoutMs?: number): Promise<MutexLockResult>;
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
