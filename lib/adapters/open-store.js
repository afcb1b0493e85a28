'use strict';
// The store an adapter works on: an open Store (borrowed: the adapter never closes it), or the
// options to reach one (owned: closed with the adapter):
//   { name | path, size?, ...Store.create options }  opens the store, or creates it when it does
//                                                     not exist and `size` is given;
//   { buffer, engine?, lockTimeoutMs? }               attaches to the store in a SharedArrayBuffer.
const { Store } = require('../store/store'); // the facade: a persisted Store is one too
const v = require('../base/validate');

// How many 10 ms naps an opener waits for a creator to finish writing a new store's header.
const CREATE_WAITS = 500;
const BEING_CREATED = new Set(['ERR_BAD_SIZE', 'ERR_BAD_MAGIC']);
const nap = new Int32Array(new SharedArrayBuffer(4));

function openStore(target, what) {
  if (target instanceof Store) return { store: target, owned: false };
  if (target === null || typeof target !== 'object') throw v.invalidType(what, 'a Store or store options', target);
  const { name, path, buffer, engine, lockTimeoutMs } = target;
  if (buffer !== undefined) {
    const rest = { ...target };
    delete rest.buffer;
    return { store: Store.attach(buffer, rest), owned: true };
  }
  const reach = name !== undefined ? { name } : { path };
  const openOptions = { ...reach };
  if (engine !== undefined) openOptions.engine = engine;
  if (lockTimeoutMs !== undefined) openOptions.lockTimeoutMs = lockTimeoutMs;
  if (target.size === undefined) return { store: Store.open(openOptions), owned: true };
  // Create-or-open. Two processes starting at once: one creates, the other's exclusive create
  // fails with ERR_SHM_EXISTS and it opens the store the first one made. Until the creator has
  // sized the segment and written the header (the magic last) an opener sees ERR_BAD_SIZE or
  // ERR_BAD_MAGIC: it waits for that to pass (bounded), then reports what it still sees.
  for (let attempt = 0; ; attempt++) {
    try {
      return { store: Store.open(openOptions), owned: true };
    } catch (err) {
      if (err.code === 'ERR_SHM_NOT_FOUND') {
        try {
          return { store: Store.create(target), owned: true };
        } catch (e) {
          if (e.code !== 'ERR_SHM_EXISTS' || attempt >= CREATE_WAITS) throw e;
        }
      } else if (!BEING_CREATED.has(err.code) || attempt >= CREATE_WAITS) {
        throw err;
      }
    }
    Atomics.wait(nap, 0, 0, 10);
  }
}

module.exports = { openStore };
