// Type declarations of require('shmstore/langgraph') (lib/adapters/langgraph/, docs/api.md LangGraph).
import type { RunnableConfig } from '@langchain/core/runnables';
import type {
  BaseCheckpointSaver, BaseStore, ChannelVersions, Checkpoint, CheckpointListOptions, CheckpointMetadata,
  CheckpointTuple, Operation, OperationResults, PendingWrite, SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import type { Store, StoreOpenOptions, StoreOpenOrCreateOptions } from './index';

/**
 * The store an adapter works on: an open Store (never closed by the adapter), or options that
 * reach one (closed by the adapter's close()): by name or path with Store.open's options, with
 * `size` those of Store.openOrCreate (created when missing), or the store in a SharedArrayBuffer.
 */
export type AdapterStoreTarget =
  | Store
  | StoreOpenOrCreateOptions
  | (({ name: string; path?: undefined } | { path: string; name?: undefined }) & StoreOpenOptions & { persist?: { dir: string } } & {
      // Without `size` the store is opened: the options only Store.create takes are refused.
      size?: undefined; eviction?: never; buckets?: never; maxEntries?: never; maxNamespaces?: never; mode?: never;
    })
  | ({ buffer: SharedArrayBuffer } & StoreOpenOptions);

export interface ShmstoreSaverOptions {
  /** Prefix of the store namespaces used (`<prefix>.checkpoints`, ...): 1 to 243 UTF-8 bytes, default 'langgraph'. */
  prefix?: string;
  /** The serializer of checkpoints and writes (default LangGraph's JsonPlusSerializer). */
  serde?: SerializerProtocol;
}

/** A LangGraph checkpointer over a shmstore Store, shared by every thread and process using it. */
export declare class ShmstoreSaver extends BaseCheckpointSaver {
  constructor(store: AdapterStoreTarget, options?: ShmstoreSaverOptions);
  /** The store the checkpoints live in. */
  readonly store: Store;
  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined>;
  /**
   * Checkpoints newest first. `options.limit`: an integer >= 0 or undefined (no limit); anything
   * else rejects with a RangeError or TypeError, code 'ERR_INVALID_ARG'.
   */
  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple>;
  put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig>;
  /** `taskPath`: a string ('' when omitted or null); another type rejects with a TypeError, code 'ERR_INVALID_ARG'. */
  putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string | null): Promise<void>;
  deleteThread(threadId: string): Promise<void>;
  /** Closes the store if the saver opened it (not a Store passed in). */
  close(): void;
}

export interface ShmstoreStoreOptions {
  /** Prefix of the store namespaces used (`<prefix>.items`, `<prefix>.chunks`): 1 to 248 UTF-8 bytes, default 'langgraph'. */
  prefix?: string;
}

/**
 * LangGraph long-term memory (BaseStore) over a shmstore Store, shared by every thread and process using it.
 * Every bad argument rejects with code 'ERR_INVALID_ARG': LangGraph's InvalidNamespaceError for a
 * path its check refuses, otherwise a TypeError (wrong type) or a RangeError (limit, offset, maxDepth).
 */
export declare class ShmstoreStore extends BaseStore {
  constructor(store: AdapterStoreTarget, options?: ShmstoreStoreOptions);
  /** The store the items live in. */
  readonly store: Store;
  batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>>;
  /** Closes the store if this object opened it (not a Store passed in). */
  close(): void;
}
