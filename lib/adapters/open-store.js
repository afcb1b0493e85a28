'use strict';
// The store an adapter works on: an open Store (borrowed: the adapter never closes it), or the
// options to reach one (owned: closed with the adapter):
//   { name | path, ...Store.open options }           opens the store (Store.open);
//   { name | path, size, ...Store.create options }   opens the store, or creates it when it does
//                                                     not exist (Store.openOrCreate: an opener's
//                                                     handle takes engine, lockTimeoutMs, latency
//                                                     and readCache);
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

function openStore(target, what) {
  if (target instanceof StoreFacade) return { store: target, owned: false };
  if (target === null || typeof target !== 'object') throw v.invalidType(what, 'a Store or store options', target);
  // An option given as undefined is an option not given (`size: config.size` with none set).
  const given = Object.fromEntries(Object.entries(target).filter(([, value]) => value !== undefined));
  if (given.buffer !== undefined) {
    const rest = { ...given };
    delete rest.buffer;
    return { store: Store.attach(given.buffer, rest), owned: true };
  }
  // Every option reaches the call that checks it: Store.open refuses what it does not take (a
  // misspelt option, name and path both, a create option without size) as it does when called
  // directly, instead of the adapter dropping it and opening something the caller did not ask for.
  if (given.size === undefined) {
    if (given.persist !== undefined) given.persist = persistOfOpener(given.persist);
    return { store: Store.open(given), owned: true };
  }
  // Create-or-open: of processes starting at once, one creates the store and the others open it,
  // waiting for its creator to finish (Store.openOrCreate, which gives an opener the options of
  // its handle and the persistence directory alone).
  return { store: Store.openOrCreate(given), owned: true };
}

module.exports = { openStore };
