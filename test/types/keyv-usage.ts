// Compiled by `npm run check:types`: the declarations of `shmstore/keyv` (keyv.d.ts).
import KeyvShmstore = require('../../keyv');
import { Store } from '../../index';

const byName = new KeyvShmstore({ name: 'types-keyv', size: 1 << 20, eviction: 'auto' }, { namespace: 'cache' });
const byStore = new KeyvShmstore(Store.create({ name: 'types-keyv-2', size: 1 << 20 }), { keyv: 6 });
const opened = new KeyvShmstore({ name: 'types-keyv' });
new KeyvShmstore({ name: 'types-keyv-p', size: 1 << 20, persist: { dir: '/var/lib/app', sync: 'none' } });
new KeyvShmstore({ name: 'types-keyv-p', persist: { dir: '/var/lib/app' } });
new KeyvShmstore({ name: 'types-keyv', latency: true, readCache: false });
const store: Store = byName.store;
byName.namespace = 'sessions';
const expiresSupported: true = byStore.capabilities.expires;
const asyncGet: boolean = byStore.capabilities.methods.get.exists;
async function use(): Promise<void> {
  const v: unknown = await byName.get('k');
  const ok: boolean = await byName.set('k', 'v', 1000);
  const all: boolean[] = await byName.setMany([{ key: 'a', value: '1', ttl: 10 }, { key: 'b', value: '2', expires: Date.now() + 10 }]);
  const values: unknown[] = await byName.getMany(['a', 'b']);
  const hits: boolean[] = await byName.hasMany(['a']);
  const gone: boolean[] | boolean = await byName.deleteMany(['a']);
  await byName.clear();
  for await (const [key, raw] of byName.iterator('cache')) console.log(key, raw);
  await opened.disconnect();
  console.log(v, ok, all, values, hits, gone, store, expiresSupported, asyncGet);
}
void use;
const same: typeof KeyvShmstore = KeyvShmstore.KeyvShmstore;
void same;
const withIterator: { opts: object } = KeyvShmstore.enableKeyv5Iterator({ opts: {} });
void withIterator;
// @ts-expect-error the contract is 5 or 6
new KeyvShmstore({ name: 'x' }, { keyv: 4 });
// @ts-expect-error the store target needs a name, a path or a Store
new KeyvShmstore({ size: 1 << 20 });
// @ts-expect-error a buffer is refused: pass Store.attach(buffer)
new KeyvShmstore({ buffer: new SharedArrayBuffer(1 << 20) });
// @ts-expect-error without size the options are Store.open's: no create option
new KeyvShmstore({ name: 'x', eviction: 'auto' });
