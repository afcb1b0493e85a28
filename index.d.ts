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
  | 'ERR_UNKNOWN';

/** The one error class of shmstore. */
export declare class ShmError extends Error {
  constructor(code: ShmErrorCode | string, message: string, extra?: { errno?: number; syscall?: string; cause?: unknown });
  readonly name: 'ShmError';
  /** Stable code: branch on this, not on the message. */
  code: ShmErrorCode | string;
  /** POSIX errno (positive) when a system call failed. */
  errno?: number;
  /** The system call that failed ('shm_open', 'mmap', ...). */
  syscall?: string;
}

/** The binary layout (generated from scripts/layout-spec.js). */
export declare const layout: {
  C: Readonly<Record<string, number>>;
  S: Readonly<Record<string, Readonly<Record<string, number>>>>;
  SIZE_CLASSES: readonly number[];
  STATUS: Readonly<Record<string, number>>;
  STATUS_CODE: readonly string[];
};
