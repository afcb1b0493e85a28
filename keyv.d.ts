// Types of `require('shmstore/keyv')`: the Keyv storage adapter (docs/api.md, "Keyv adapter").
import { EventEmitter } from 'events';
import { Store, StoreOpenOptions, StoreOpenOrCreateOptions } from './index';

declare namespace KeyvShmstore {
  /**
   * Store.open options (by name or path), or Store.openOrCreate options (with size: created when
   * missing); with `persist`, the persisted store (opened with its directory). A `buffer` is
   * refused: pass `Store.attach(buffer)`.
   */
  type StoreTarget =
    | StoreOpenOrCreateOptions
    | ({ name: string; path?: never } | { path: string; name?: never }) & StoreOpenOptions & { persist?: { dir: string } } & NoCreateOptions;

  /** Without `size` the store is opened: the options only Store.create takes are refused. */
  interface NoCreateOptions {
    size?: undefined;
    eviction?: never;
    buckets?: never;
    maxEntries?: never;
    maxNamespaces?: never;
    mode?: never;
  }

  interface Options {
    /** Store namespace used while Keyv sets none (1-255 UTF-8 bytes); default 'keyv'. */
    namespace?: string;
    /**
     * Fix the Keyv contract instead of detecting it (keyv 6 reads `capabilities`, keyv 5 never does).
     * An expiry only the other major hands is refused with ShmError ERR_INVALID_ARG (docs/api.md,
     * "One major per adapter").
     */
    keyv?: 5 | 6;
  }

  interface MethodCapability {
    exists: boolean;
    methodType: 'async' | 'sync' | 'none';
  }

  interface Capabilities {
    compatible: true;
    store: 'keyvStorage';
    methods: Record<
      'get' | 'getMany' | 'has' | 'hasMany' | 'set' | 'setMany' | 'delete' | 'deleteMany' | 'clear' | 'disconnect' | 'iterator',
      MethodCapability
    >;
    expires: true;
  }

  interface Entry {
    key: string;
    value: unknown;
    /** keyv 5: ms from now (0: no expiry). An entry with `ttl` and no `expires` is refused in keyv 6's contract. */
    ttl?: number;
    /** keyv 6: ms since the epoch. An entry with `expires` and no `ttl` is refused in keyv 5's contract. */
    expires?: number;
  }

  type KeyvShmstore = KeyvShmstoreClass;
}

declare class KeyvShmstoreClass extends EventEmitter {
  constructor(store: Store | KeyvShmstore.StoreTarget, options?: KeyvShmstore.Options);
  /** The store the adapter reads and writes. */
  readonly store: Store;
  /** The Keyv namespace, set by Keyv; entries live in the store namespace of that name. */
  namespace: string | undefined;
  /** Read by keyv 5: `{ dialect: 'shmstore', url }`. */
  opts: { dialect: 'shmstore'; url: string; [key: string]: unknown };
  /** What keyv 6 reads; reading it selects the keyv 6 contract unless `options.keyv` is given. */
  readonly capabilities: KeyvShmstore.Capabilities;
  get(key: string): Promise<unknown>;
  getMany(keys: string[]): Promise<unknown[]>;
  has(key: string): Promise<boolean>;
  hasMany(keys: string[]): Promise<boolean[]>;
  /**
   * keyv 5: relative TTL in ms (0: no expiry; below 0: deletes the key); keyv 6: absolute expiry in
   * ms since the epoch. Rejects with ShmError ERR_INVALID_ARG a value only the other major hands:
   * in keyv 6's contract an expiry above 0 and below 2^40 ms; in keyv 5's, once `capabilities` was
   * read, a TTL from 2^40 ms up to short of the store's latest expiry (2^53 - 1 ms since the epoch).
   */
  set(key: string, value: unknown, ttlOrExpires?: number): Promise<boolean>;
  setMany(entries: KeyvShmstore.Entry[]): Promise<boolean[]>;
  delete(key: string): Promise<boolean>;
  /** keyv 6: one boolean per key; keyv 5: whether every key existed. */
  deleteMany(keys: string[]): Promise<boolean[] | boolean>;
  /** Removes the entries of this adapter's namespace only. */
  clear(): Promise<void>;
  /** The live entries of a namespace: its keys listed at the start, their values read 100 at a time as the loop reaches them. */
  iterator(namespace?: string): AsyncGenerator<[string, unknown], void, undefined>;
  /** Closes the store if the adapter opened it. */
  disconnect(): Promise<void>;
  /** Gives a keyv 5 instance over a KeyvShmstore its `iterator()`. */
  static enableKeyv5Iterator<K extends object>(keyv: K): K;
  static KeyvShmstore: typeof KeyvShmstoreClass;
}

declare const KeyvShmstore: typeof KeyvShmstoreClass;
export = KeyvShmstore;
