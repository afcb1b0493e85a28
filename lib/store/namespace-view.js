'use strict';
// A Map-like view of one namespace of a store. It holds no state of its own: every call goes to
// the store, so views in different threads or processes see the same entries.
const { invalidType } = require('../base/validate');

class NamespaceView {
  constructor(store, name) {
    // Required here, not at the top: store.js requires this file (store.namespace()).
    const { Store, checkNsName } = require('./store');
    if (!(store instanceof Store)) throw invalidType('store', 'a Store', store);
    checkNsName(name);
    this.store = store;
    this.name = name;
  }

  get(key) {
    return this.store.get(this.name, key);
  }

  set(key, value, opts) {
    this.store.set(this.name, key, value, opts);
    return this;
  }

  ttl(key) {
    return this.store.ttl(this.name, key);
  }

  has(key) {
    return this.store.has(this.name, key);
  }

  delete(key) {
    return this.store.delete(this.name, key);
  }

  clear() {
    this.store.clear(this.name);
  }

  get size() {
    return this.store.count(this.name);
  }

  keys() {
    return this.store.keys(this.name)[Symbol.iterator]();
  }

  values() {
    return this.store.entries(this.name).map((e) => e[1])[Symbol.iterator]();
  }

  entries() {
    return this.store.entries(this.name)[Symbol.iterator]();
  }

  forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw invalidType('callback', 'a function', callback);
    for (const [k, v] of this.store.entries(this.name)) callback.call(thisArg, v, k, this);
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  get [Symbol.toStringTag]() {
    return 'NamespaceView';
  }
}

module.exports = { NamespaceView };
