// Type declarations of require('shmstore/metrics') (lib/adapters/metrics/, docs/api.md Metrics).
import type { Registry, Counter, Gauge } from 'prom-client';
import type { Store, LatencySnapshot } from './index';

export interface StoreMetricsOptions {
  /** The registry to register in; prom-client's default registry when omitted. */
  registry?: Registry;
  /** Prefix of every metric name (default 'shmstore_'). */
  prefix?: string;
  /** The `store` label of a single store (default 'default'). */
  name?: string;
  /**
   * Snapshots to merge, on each scrape, with the histograms of the store handle of `label`
   * (for example those other processes published); undefined or null for none.
   */
  latency?: (label: string) => Array<LatencySnapshot | null> | null | undefined;
  /**
   * Which namespaces get the per-namespace series (namespace_entries, namespace_hits_total, ...):
   * every one (true, the default), none (false: those series are not registered), or the names
   * the function accepts, asked on every scrape.
   */
  namespaces?: boolean | ((name: string) => boolean);
}

export interface StoreMetrics {
  /** The registered metrics, one per series kind. */
  metrics: Array<
    | Counter<'store'> | Gauge<'store'>
    | Counter<'store' | 'namespace'> | Gauge<'store' | 'namespace'>
    | Counter<'store' | 'code'>
    | Gauge<'store' | 'op' | 'quantile'> | Gauge<'store' | 'op'> | Counter<'store' | 'op'>
  >;
  /** Removes every series of this call from its registry (and nothing else: a second call does nothing). */
  unregister(): void;
}

/**
 * Exports store.stats() of one store, or of several keyed by their `store` label, on every scrape.
 * All or nothing: when a metric name is already registered in the registry, it throws a RangeError
 * (code 'ERR_INVALID_ARG') and registers none of its metrics.
 */
export declare function storeMetrics(
  stores: Store | Map<string, Store> | Record<string, Store>,
  options?: StoreMetricsOptions,
): StoreMetrics;
