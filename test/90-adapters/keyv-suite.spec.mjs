// The published Keyv storage-adapter suite (@keyv/test-suite), run by vitest (`npm run test:keyv`)
// because the suite is written against vitest's `it`/`expect`. Every exported group runs under
// keyv 5 (what cache-manager 7 and cacheable 2 use) and keyv 6, on both engines.
import * as test from 'vitest';
import keyvTestSuite, {
  keyvApiTests, keyvValueTests, keyvNamespaceTest, keyvIteratorTests,
} from '@keyv/test-suite';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const { Store } = require('../../index.js');
const KeyvShmstore = require('../../keyv.js');
const { Keyv: Keyv5 } = require('keyv');
const { Keyv: Keyv6 } = require('keyv6');

// keyv 5 wires `Keyv#iterator` only for stores whose `opts.dialect` names one of its own
// adapters, so the iterator group runs on a Keyv 5 that calls enableKeyv5Iterator (the documented
// way to iterate a KeyvShmstore under keyv 5); everything else of the iteration is keyv 5's own.
class Keyv5Iterable extends Keyv5 {
  constructor(...args) {
    super(...args);
    KeyvShmstore.enableKeyv5Iterator(this);
  }
}

// @keyv/test-suite 2 is written for keyv 5 (its peer dependency). One of its tests asserts keyv 5's
// `Keyv#delete([keys])` result (one boolean); keyv 6 documents one boolean per key for it, for every
// store. Under keyv 6 that single test is therefore replaced by the same steps asserting the
// keyv 6 result; all the others run as published.
const KEYV6_CONTRACT = '.deleteMany([keys]) with nonexistent keys resolves to false';
const keyv6Test = {
  ...test,
  it(name, fn) {
    if (name !== KEYV6_CONTRACT) return test.it(name, fn);
    test.it.skip(`${name} (keyv 5 result; keyv 6 form below)`, fn);
    return test.it('.deleteMany([keys]) with nonexistent keys resolves to [false, false, false] (keyv 6)', async (t) => {
      const keyv = new Keyv6({ store: factory6() });
      t.expect(await keyv.delete(['foo', 'foo1', 'foo2'])).toEqual([false, false, false]);
    });
  },
};
let factory6 = null;

const STORE_BYTES = 4 << 20;
const engines = ['native', 'js'];

for (const engine of engines) {
  const store = Store.create({ buffer: new SharedArrayBuffer(STORE_BYTES), engine });
  const factory = () => new KeyvShmstore(store);

  test.describe(`@keyv/test-suite, keyv 5, ${engine} engine`, () => {
    test.afterAll(() => {
      test.expect(store.verify().ok).toBe(true);
    });
    test.describe('keyvTestSuite (api, values, namespaces)', () => {
      keyvTestSuite(test, Keyv5, factory);
    });
    test.describe('keyvIteratorTests', () => {
      keyvIteratorTests(test, Keyv5Iterable, factory);
    });
  });

  test.describe(`@keyv/test-suite, keyv 6, ${engine} engine`, () => {
    test.beforeAll(() => {
      factory6 = factory;
    });
    test.describe('keyvApiTests', () => keyvApiTests(keyv6Test, Keyv6, factory));
    test.describe('keyvValueTests', () => keyvValueTests(test, Keyv6, factory));
    test.describe('keyvNamespaceTest', () => keyvNamespaceTest(test, Keyv6, factory));
    test.describe('keyvIteratorTests', () => keyvIteratorTests(test, Keyv6, factory));
  });
}
