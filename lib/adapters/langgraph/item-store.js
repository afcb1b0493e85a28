'use strict';
// ShmstoreStore: LangGraph's long-term memory store (BaseStore) over a shmstore Store, shared by
// every thread and process that opens the same store.
//
// Mapping. A LangGraph namespace is a path of labels (['users', '42', 'memories']). Every item of
// every path lives in ONE store namespace, `<prefix>.items` (default 'langgraph.items'), under
// the key `<labels joined by ':'>` NUL `<item key>`; values too large for one entry go to
// `<prefix>.chunks` (lib/adapters/chunked.js). So the store's limits on namespaces (a bounded
// number of names of at most 255 bytes) never constrain LangGraph paths: any number of paths of any depth fit,
// and a path prefix is a key prefix. Labels are the ones LangGraph allows (non-empty, without
// '.', ':' or NUL), so the encoding is unambiguous; path + ':' + key must stay within the
// store's 1024-byte keys (ERR_KEY_TOO_LONG otherwise).
//
// Each item is the JSON text { v: value, c: createdAt, u: updatedAt } (milliseconds).
// search and listNamespaces walk the keys of `<prefix>.items` once (the store has no ordered
// index), read the items under the prefix and filter them: their cost grows with the items of
// the whole adapter namespace. There is no vector index: a `query` does not rank (score is
// undefined) and the `index` argument of put is accepted and ignored.
const { isDeepStrictEqual } = require('util');
const { typeError, rangeError, validateObject, validateGivenKeys, jsonText } = require('../../base/validate');
const { openStore } = require('../open-store');
const { ChunkedValues } = require('../chunked');
const { prefixOf } = require('./names');

const SEP = '\u0000';
const LABEL_SEP = ':';
const OPTION_KEYS = ['prefix'];
// The options of search() and listNamespaces(): BaseStore drops any other, so that a misspelt
// one (`{ limt: 5 }`) would silently give the default.
const SEARCH_KEYS = ['filter', 'limit', 'offset', 'query'];
const LIST_KEYS = ['prefix', 'suffix', 'maxDepth', 'limit', 'offset'];

// A namespace path this store refuses (one that is not an array, an empty path for a get or a
// delete, a bad label given to batch() directly): a TypeError with the code every bad argument of
// shmstore carries. The paths that BaseStore's own check refuses first keep LangGraph's
// InvalidNamespaceError (see checked() below).
class InvalidNamespace extends TypeError {
  constructor(message) {
    super(message);
    this.code = 'ERR_INVALID_ARG';
  }
}

// Labels: non-empty strings without '.', ':' or NUL (LangGraph's rule; ':' and NUL also keep the
// key encoding unambiguous). `what` names the argument in the message.
function pathOf(namespace, what, allowEmpty) {
  if (!Array.isArray(namespace)) throw new InvalidNamespace(`The "${what}" must be an array of strings`);
  if (namespace.length === 0 && !allowEmpty) throw new InvalidNamespace(`The "${what}" must not be empty`);
  for (const label of namespace) {
    if (typeof label !== 'string' || label === '' || label.includes('.') || label.includes(LABEL_SEP) || label.includes(SEP)) {
      throw new InvalidNamespace(`Invalid ${what} label ${JSON.stringify(label)}: labels are non-empty strings without '.', ':' or NUL`);
    }
  }
  return namespace.join(LABEL_SEP);
}

function keyOf(path, key) {
  if (typeof key !== 'string') throw typeError(`The item key must be a string. Received ${typeof key}`);
  return path + SEP + key;
}

// [path, key] of a stored key. Paths have no NUL, so the first one ends the path.
function splitKey(k) {
  const i = k.indexOf(SEP);
  return [k.slice(0, i), k.slice(i + 1)];
}

const FILTER_OPS = {
  $eq: (a, b) => isDeepStrictEqual(a, b),
  $ne: (a, b) => !isDeepStrictEqual(a, b),
  $gt: (a, b) => Number(a) > Number(b),
  $gte: (a, b) => Number(a) >= Number(b),
  $lt: (a, b) => Number(a) < Number(b),
  $lte: (a, b) => Number(a) <= Number(b),
  $in: (a, b) => Array.isArray(b) && b.some((x) => isDeepStrictEqual(a, x)),
  $nin: (a, b) => !Array.isArray(b) || !b.some((x) => isDeepStrictEqual(a, x)),
};

// A filter maps a top-level field of the value to a value (deep equality) or to operators
// { $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin } that must all hold.
function matches(value, filter) {
  return Object.entries(filter).every(([field, want]) => {
    const have = value !== null && typeof value === 'object' ? value[field] : undefined;
    const ops = want !== null && typeof want === 'object' && !Array.isArray(want) ? Object.keys(want) : [];
    if (ops.length && ops.every((op) => op in FILTER_OPS)) return ops.every((op) => FILTER_OPS[op](have, want[op]));
    return isDeepStrictEqual(have, want);
  });
}

// Does `labels` match a prefix or suffix condition ('*' matches any one label)?
function conditionHolds({ matchType, path }, labels) {
  if (path.length > labels.length) return false;
  const at = matchType === 'suffix' ? labels.length - path.length : 0;
  return path.every((p, i) => p === '*' || p === labels[at + i]);
}

function pageOf(list, offset = 0, limit = undefined) {
  if (!Number.isInteger(offset) || offset < 0) throw rangeError(`The "offset" must be a non-negative integer. Received ${offset}`);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw rangeError(`The "limit" must be a non-negative integer. Received ${limit}`);
  return list.slice(offset, limit === undefined ? undefined : offset + limit);
}

// Made from the @langchain/langgraph-checkpoint module it extends (see defineSaver in saver.js).
function defineStore(lg) {
  // BaseStore's get, put, delete, search and listNamespaces check namespace paths before they
  // reach batch(): with LangGraph's InvalidNamespaceError, which keeps its class and gains the code
  // of every other bad argument here, or, for a path that is not an array at all, with whatever
  // its walk of the value meets (a TypeError of the engine): refused first, as InvalidNamespace.
  async function checked(paths, call) {
    for (const [path, what] of paths) {
      if (!Array.isArray(path)) throw new InvalidNamespace(`The "${what}" must be an array of strings`);
    }
    try {
      return await call();
    } catch (err) {
      if (err instanceof lg.InvalidNamespaceError && err.code === undefined) err.code = 'ERR_INVALID_ARG';
      throw err;
    }
  }

  return class ShmstoreStore extends lg.BaseStore {
    // `target`: an open Store (never closed by this object) or store options (open-store.js).
    constructor(target, options = {}) {
      super();
      if (options === null || typeof options !== 'object') throw typeError('The "options" argument must be an object');
      validateGivenKeys(options, 'options', OPTION_KEYS);
      const prefix = prefixOf(options.prefix, '.chunks');
      const { store, owned } = openStore(target, 'store');
      this.store = store;
      this._owned = owned;
      this._ns = `${prefix}.items`;
      this._values = new ChunkedValues(store, `${prefix}.chunks`);
    }

    async get(namespace, key) {
      return checked([[namespace, 'namespace']], () => super.get(namespace, key));
    }

    async put(namespace, key, value, index) {
      return checked([[namespace, 'namespace']], () => super.put(namespace, key, value, index));
    }

    async delete(namespace, key) {
      return checked([[namespace, 'namespace']], () => super.delete(namespace, key));
    }

    async search(namespacePrefix, options) {
      if (options !== undefined) {
        validateObject(options, 'options');
        validateGivenKeys(options, 'options', SEARCH_KEYS);
      }
      return checked([[namespacePrefix, 'namespacePrefix']], () => super.search(namespacePrefix, options));
    }

    // BaseStore leaves out a prefix or suffix that is falsy (no condition).
    async listNamespaces(options = {}) {
      validateObject(options, 'options');
      validateGivenKeys(options, 'options', LIST_KEYS);
      const { prefix, suffix } = options;
      const paths = [[prefix, 'prefix'], [suffix, 'suffix']].filter(([p]) => p);
      return checked(paths, () => super.listNamespaces(options));
    }

    // Runs the operations in order (a get after a put in the same batch sees the put) and
    // returns one result each: an item or null for a get, the items of a search, the paths of a
    // listNamespaces, null for a put or delete.
    async batch(operations) {
      if (!Array.isArray(operations)) throw typeError('The "operations" argument must be an array');
      return operations.map((op) => this._run(op));
    }

    _run(op) {
      if (op === null || typeof op !== 'object') throw typeError('An operation must be an object');
      if ('namespacePrefix' in op) return this._search(op);
      if ('matchConditions' in op || !('namespace' in op)) return this._listNamespaces(op);
      if ('value' in op) {
        this._put(op);
        return null;
      }
      return this._get(op.namespace, op.key);
    }

    _read(k) {
      const buf = this._values.read(this._ns, k);
      return buf === undefined ? undefined : JSON.parse(buf.toString('utf8'));
    }

    _item(namespace, key, rec) {
      return { namespace, key, value: rec.v, createdAt: new Date(rec.c), updatedAt: new Date(rec.u) };
    }

    _get(namespace, key) {
      const k = keyOf(pathOf(namespace, 'namespace', false), key);
      const rec = this._read(k);
      return rec === undefined ? null : this._item([...namespace], key, rec);
    }

    _put({ namespace, key, value }) {
      const k = keyOf(pathOf(namespace, 'namespace', false), key);
      if (value === null) {
        this._values.remove(this._ns, k);
        return;
      }
      if (typeof value !== 'object' || Array.isArray(value)) throw typeError('An item value must be an object (or null to delete)');
      // Refuses cycles, bigints and nesting too deep before anything is read.
      const text = jsonText(value, 'An item value must be representable as JSON');
      // An object whose toJSON gives no object (undefined, a function, a string) would be a record
      // that no read, and no search over its path, could parse.
      if (typeof text !== 'string' || text[0] !== '{') throw typeError('An item value must be a JSON object (its toJSON gives none)');
      const now = Date.now();
      const old = this._read(k);
      const rec = `{"v":${text},"c":${old ? old.c : now},"u":${now}}`;
      this._values.write(this._ns, k, Buffer.from(rec));
    }

    _search({ namespacePrefix, filter, limit = 10, offset = 0 }) {
      // Compared with listed keys, which have the store's form: a lone surrogate as U+FFFD (the
      // one key that get and put reach with either form).
      const path = pathOf(namespacePrefix, 'namespacePrefix', true).toWellFormed();
      const found = [];
      for (const k of this.store.keys(this._ns)) {
        const [p, key] = splitKey(k);
        if (path !== '' && p !== path && !p.startsWith(path + LABEL_SEP)) continue;
        const rec = this._read(k);
        if (rec === undefined || (filter && !matches(rec.v, filter))) continue;
        found.push([p, key, rec]);
      }
      // Most recently updated first; then by path and key, so that pages are stable.
      found.sort((a, b) => b[2].u - a[2].u || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
      return pageOf(found, offset, limit).map(([p, key, rec]) => ({ ...this._item(p.split(LABEL_SEP), key, rec), score: undefined }));
    }

    _listNamespaces({ matchConditions, maxDepth, limit, offset = 0 }) {
      if (maxDepth !== undefined && (!Number.isInteger(maxDepth) || maxDepth < 1)) {
        throw rangeError(`The "maxDepth" must be a positive integer. Received ${maxDepth}`);
      }
      // The labels of listed keys have the store's form (see _search): the conditions' labels are
      // compared in that form.
      const conditions = (matchConditions || []).map((c) => {
        if (c.matchType !== 'prefix' && c.matchType !== 'suffix') throw typeError(`Unknown match type ${JSON.stringify(c.matchType)}`);
        pathOf(c.path, `${c.matchType} path`, true);
        return { matchType: c.matchType, path: c.path.map((label) => label.toWellFormed()) };
      });
      const paths = new Set();
      for (const k of this.store.keys(this._ns)) {
        let labels = splitKey(k)[0].split(LABEL_SEP);
        if (!conditions.every((c) => conditionHolds(c, labels))) continue;
        if (maxDepth !== undefined) labels = labels.slice(0, maxDepth);
        paths.add(labels.join(LABEL_SEP));
      }
      const sorted = [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return pageOf(sorted, offset, limit).map((p) => p.split(LABEL_SEP));
    }

    // Closes the store when this object opened it (not a Store that was passed in).
    close() {
      if (this._owned) this.store.close();
    }
  };
}

module.exports = { defineStore };
