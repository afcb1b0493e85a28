// Compiled by `npm run check:types`: the declarations of the subpath exports (metrics.d.ts,
// langgraph.d.ts) accept every documented use and reject the misuses marked @ts-expect-error.
import { Registry } from 'prom-client';
import { Store } from '../../index';
import { storeMetrics, StoreMetrics } from '../../metrics';

const store = Store.create({ buffer: new SharedArrayBuffer(1 << 20) });
const registry = new Registry();
const m: StoreMetrics = storeMetrics(store, { registry, prefix: 'app_', name: 'cache' });
m.unregister();
storeMetrics({ cache: store }, { registry });
storeMetrics(new Map([['cache', store]]));
// @ts-expect-error a registry must be a prom-client Registry
storeMetrics(store, { registry: {} });
// @ts-expect-error the stores are Stores
storeMetrics({ cache: 1 });
const timed = Store.create({ buffer: new SharedArrayBuffer(1 << 20), latency: true });
storeMetrics(timed, { registry, latency: (label: string) => (label === 'default' ? [timed.latency()] : null) });
// @ts-expect-error options.latency is a function returning snapshots
storeMetrics(timed, { latency: [timed.latency()] });

import { ShmstoreSaver, ShmstoreStore } from '../../langgraph';
import { BaseCheckpointSaver, BaseStore, emptyCheckpoint } from '@langchain/langgraph-checkpoint';

async function langgraph(): Promise<void> {
  const saver: BaseCheckpointSaver = new ShmstoreSaver(store, { prefix: 'agents' });
  const owned = new ShmstoreSaver({ name: 'lg', size: 64 << 20 });
  owned.close();
  new ShmstoreSaver({ buffer: store.buffer, engine: 'js' }).close();
  new ShmstoreSaver({ name: 'lg-p', persist: { dir: '/var/lib/agents' } }).close();
  new ShmstoreSaver({ name: 'lg-p', size: 64 << 20, persist: { dir: '/var/lib/agents', sync: 'interval' } }).close();
  const config = await saver.put({ configurable: { thread_id: 't' } }, emptyCheckpoint(), { source: 'input', step: -1, parents: {} }, {});
  await saver.putWrites(config, [['channel', 1]], 'task');
  const tuple = await saver.getTuple(config);
  if (tuple) console.log(tuple.checkpoint.id, tuple.pendingWrites);
  for await (const t of saver.list({ configurable: { thread_id: 't' } }, { limit: 5, filter: { source: 'input' } })) console.log(t.config);
  await saver.deleteThread('t');

  const memory: BaseStore = new ShmstoreStore(store);
  const lt = new ShmstoreStore({ path: '/var/lib/app/memory.shm' }, { prefix: 'memory' });
  await lt.put(['users', '42'], 'likes', { food: 'pizza' });
  const item = await lt.get(['users', '42'], 'likes');
  if (item) console.log(item.value, item.createdAt.getTime());
  const found = await lt.search(['users'], { filter: { food: { $eq: 'pizza' } }, limit: 5, offset: 0 });
  console.log(found.map((i) => i.score));
  const spaces: string[][] = await memory.listNamespaces({ prefix: ['users'], maxDepth: 2 });
  console.log(spaces, lt.store.engine);
  lt.close();
  // @ts-expect-error a store or store options
  new ShmstoreStore(42);
  // @ts-expect-error unknown option
  new ShmstoreSaver(store, { namespace: 'x' });
  // @ts-expect-error without size the options are Store.open's: no create option
  new ShmstoreSaver({ name: 'lg', eviction: 'auto' });
}
void langgraph;
