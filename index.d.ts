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

export type StoreCreateOptions = StoreOpenOptions & {
  /** Power of two; default near maxEntries / 2. */
  buckets?: number;
  /** Live entries allowed; default (size - entriesOffset) / 128. */
  maxEntries?: number;
  /** Permissions of a new segment or file; default 0o600. */
  mode?: number;
} & (
  | { name: string; size: number; path?: never; buffer?: never }
  | { path: string; size: number; name?: never; buffer?: never }
  | { buffer: SharedArrayBuffer; size?: number; name?: never; path?: never }
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
  static open(options: ({ name: string } | { path: string }) & StoreOpenOptions): Store;
  static attach(buffer: SharedArrayBuffer, options?: StoreOpenOptions): Store;
  readonly engine: StoreEngine;
  readonly buffer: SharedArrayBuffer;
  readonly closed: boolean;
  set(ns: string, key: string, value: StoreValue): this;
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
export declare class SpscRing {
  private constructor();
  /** Where the data starts in the region (320). */
  static readonly DATA_OFFSET: number;
  static create(options: SpscRingCreateOptions): SpscRing;
  static open(options: QueueTarget): SpscRing;
  /** Bytes a ring of this shape needs from its byteOffset. */
  static bytesFor(capacity: number, options?: { elementSize?: number }): number;
  tryEnqueue(value: QueueMessage): boolean;
  enqueue(value: QueueMessage, timeoutMs?: number): void;
  enqueueAsync(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  /** The next message, or undefined when empty. */
  tryDequeue(): any;
  peek(): any;
  dequeue(timeoutMs?: number): any;
  dequeueAsync(options?: QueueWaitOptions): Promise<any>;
  /** Element mode: copies up to as many elements as target holds; returns how many. */
  tryDequeueInto(target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number;
  dequeueInto(target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, timeoutMs?: number): number;
  dequeueIntoAsync(target: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, options?: QueueWaitOptions): Promise<number>;
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
export declare class MpmcQueue {
  private constructor();
  /** Where the slots start in the region (12864). */
  static readonly SLOTS_OFFSET: number;
  static create(options: MpmcQueueCreateOptions): MpmcQueue;
  static open(options: QueueTarget): MpmcQueue;
  static bytesFor(capacity: number, options?: { messageBytes?: number }): number;
  tryEnqueue(value: QueueMessage): boolean;
  enqueue(value: QueueMessage, timeoutMs?: number): void;
  enqueueAsync(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  /** The next message, or undefined when empty. */
  tryDequeue(): any;
  dequeue(timeoutMs?: number): any;
  dequeueAsync(options?: QueueWaitOptions): Promise<any>;
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

/** An MPMC queue that can be closed, with Go's semantics (docs/api.md, Channel). */
export declare class Channel implements AsyncIterable<any> {
  private constructor();
  static create(options: MpmcQueueCreateOptions): Channel;
  static open(options: QueueTarget): Channel;
  static bytesFor(capacity: number, options?: { messageBytes?: number }): number;
  send(value: QueueMessage, options?: QueueWaitOptions): Promise<void>;
  sendSync(value: QueueMessage, timeoutMs?: number): void;
  trySend(value: QueueMessage): boolean;
  receive(options?: QueueWaitOptions): Promise<any>;
  receiveSync(timeoutMs?: number): any;
  /** The next message, or undefined when none is queued. */
  tryReceive(): any;
  /** Sends every value in order; resolves how many were sent. */
  sendBatch(values: QueueMessage[], options?: QueueWaitOptions): Promise<number>;
  /** At least one message, at most max (what is queued). */
  receiveBatch(max: number, options?: QueueWaitOptions): Promise<any[]>;
  [Symbol.asyncIterator](): AsyncIterator<any>;
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
