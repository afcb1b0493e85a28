'use strict';
// The store an adapter works on: an open Store (borrowed: the adapter never closes it), or the
// options to reach one (owned: closed with the adapter):
//   { name | path, size?, ...Store.create options }  opens the store, or creates it when it does
//                                                     not exist and `size` is given (an opener's
//                                                     handle takes engine, lockTimeoutMs, latency
//                                                     and readCache, as Store.openOrCreate's does);
//   { buffer, engine?, lockTimeoutMs? }               attaches to the store in a SharedArrayBuffer.
// With `persist`, the store is the persisted one of those options (its writes logged in
// persist.dir): created with them, opened with their directory (rebuilt from it when its
// segment is gone), as Store.create / Store.open / Store.openOrCreate of the public Store do.
const { Store: StoreFacade } = require('../store/store'); // a persisted Store is one too
const { Store } = require('../persist/store'); // the public Store: the facade plus `persist`
const v = require('../base/validate');

// The persist option of an opener: the directory alone (the sync mode is the creator's), or the
// value as given when it is no object, for Store.open to refuse with its own error.
function persistOfOpener(persist) {
  return persist !== null && typeof persist === 'object' ? { dir: persist.dir } : persist;
}

// The options of Store.open besides name and path: they set up the handle, not the store.
const HANDLE_KEYS = ['engine', 'lockTimeoutMs', 'latency', 'readCache'];

function openStore(target, what) {
  if (target instanceof StoreFacade) return { store: target, owned: false };
  if (target === null || typeof target !== 'object') throw v.invalidType(what, 'a Store or store options', target);
  const { name, path, buffer } = target;
  if (buffer !== undefined) {
    const rest = { ...target };
    delete rest.buffer;
    return { store: Store.attach(buffer, rest), owned: true };
  }
  const reach = name !== undefined ? { name } : { path };
  const openOptions = { ...reach };
  // The options of this handle (Store.open's), as Store.openOrCreate hands them to an opener.
  for (const k of HANDLE_KEYS) if (target[k] !== undefined) openOptions[k] = target[k];
  if (target.persist !== undefined) openOptions.persist = persistOfOpener(target.persist);
  if (target.size === undefined) return { store: Store.open(openOptions), owned: true };
  // Create-or-open: of processes starting at once, one creates the store and the others open it,
  // waiting for its creator to finish (Store.openOrCreate).
  return { store: Store.openOrCreate(target), owned: true };
}

module.exports = { openStore };
