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
