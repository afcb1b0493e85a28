'use strict';
// ShmstoreSaver: a LangGraph checkpointer (BaseCheckpointSaver) over a shmstore Store, shared by
// every thread and process that opens the same store. Five store namespaces, named after a
// prefix (default 'langgraph'), hold it; `<prefix>.chunks` holds the parts of values too large
// for one entry (lib/adapters/chunked.js):
//
//   <prefix>.checkpoints  thread · ns · checkpoint id             → { parent } [checkpoint, metadata]
//   <prefix>.blobs        thread · ns · channel · version         → [value]
//   <prefix>.writes       thread · ns · checkpoint id · task · idx → { task, channel, path, idx } [value]
//   <prefix>.latest       thread · ns                             → the greatest checkpoint id
//   <prefix>.windex       thread · ns · checkpoint id             → JSON ['task · idx', ...]
//
// (· is a NUL character; records.js has the record bytes.) A checkpoint is stored without its
// channel values: each channel named in `newVersions` is stored once as a blob of its version, and
// a checkpoint read back takes the value of each channel at the version it names, so a channel
// that did not change is stored once however many checkpoints carry it.
//
// The last two are indexes, so that getTuple reads only its own entries. They are read, updated
// and written back by the writer (the store has no conditional write): each is written by one
// caller at a time as long as one thread (conversation) has one writer at a time, which is how
// LangGraph runs a thread. Two processes writing the same thread at the same moment can lose
// an index update (a pending write getTuple does not show, or a latest pointer behind by one).
// Every write happens after the data it indexes, so a crash leaves at worst data that no index
// names yet: a put or putWrites that did not happen, for getTuple.
//
// list and deleteThread walk the keys of a namespace: their cost grows with the number of
// checkpoints in the store, not with those of one thread (the store has no ordered index).
const { isDeepStrictEqual } = require('util');
const v = require('../../base/validate');
const { openStore } = require('../open-store');
const { ChunkedValues } = require('../chunked');
const { encodeRecord, decodeRecord, fieldOf, keyOf, splitKey, SEP } = require('./records');
const { prefixOf } = require('./names');
const { ownBytes } = require('../bytes');

const OPTION_KEYS = ['prefix', 'serde'];

// The class is made from the @langchain/langgraph-checkpoint module it extends: require() gives
// the CommonJS build, import the ES module build, and a saver must extend the BaseCheckpointSaver
// (and use the serializer) of the copy the application's graph uses (index.js, index.mjs).
function defineSaver(lg) {
  const { BaseCheckpointSaver, WRITES_IDX_MAP, TASKS, copyCheckpoint, maxChannelVersion } = lg;
  const { compareWritesSortKeys, writesSortKey } = lg;

  return class ShmstoreSaver extends BaseCheckpointSaver {
    // `target`: an open Store (never closed by the saver) or store options (lib/adapters/open-store.js).
    constructor(target, options = {}) {
      if (options === null || typeof options !== 'object') throw v.typeError('The "options" argument must be an object');
      v.validateGivenKeys(options, 'options', OPTION_KEYS);
      super(options.serde);
      const prefix = prefixOf(options.prefix, '.checkpoints');
      const { store, owned } = openStore(target, 'store');
      this.store = store;
      this._owned = owned;
      this._ns = {
        cp: `${prefix}.checkpoints`, blobs: `${prefix}.blobs`, writes: `${prefix}.writes`,
        latest: `${prefix}.latest`, windex: `${prefix}.windex`,
      };
      this._values = new ChunkedValues(store, `${prefix}.chunks`);
    }

    // Keys of `ns` that start with the given fields, split into fields. store.keys() gives keys
    // as the store keeps them, a lone surrogate as U+FFFD (the one key that get and set reach with
    // either form): the fields are compared in that form.
    _scan(ns, ...fields) {
      const start = fields.length ? keyOf(...fields).toWellFormed() + SEP : '';
      const out = [];
      for (const k of this.store.keys(ns)) if (k.startsWith(start)) out.push(splitKey(k));
      return out;
    }

    // A value the serializer wrote as no JSON bytes at all (undefined, a function, a symbol: what
    // JSON.stringify leaves out) reads back as undefined, as JSON leaves it out of an object,
    // instead of a parse error that every later read of the thread, and list(), would meet.
    // The part bytes are a slice of the record read from the store: a value the serializer hands
    // back as those bytes themselves (LangGraph's 'bytes' type, a Uint8Array channel value) is
    // returned owning its ArrayBuffer whole (lib/adapters/bytes.js).
    async _load(type, bytes) {
      if (type === 'json' && bytes.length === 0) return undefined;
      return ownBytes(await this.serde.loadsTyped(type, bytes));
    }

    async _dump(value) {
      const [type, bytes] = await this.serde.dumpsTyped(value);
      return [type, bytes instanceof Uint8Array ? bytes : Buffer.from(bytes)];
    }

    // The write keys of one checkpoint, from its index entry ('task·idx' strings).
    _writeIndex(thread, ns, id) {
      const buf = this._values.read(this._ns.windex, keyOf(thread, ns, id));
      return buf === undefined ? [] : JSON.parse(buf.toString('utf8'));
    }

    // The pending writes of one checkpoint as [taskId, channel, value], in writesSortKey order
    // (the order LangGraph applies them).
    async _pendingWrites(thread, ns, id) {
      const found = [];
      for (const sub of this._writeIndex(thread, ns, id)) {
        const buf = this._values.read(this._ns.writes, keyOf(thread, ns, id) + SEP + sub);
        if (buf === undefined) continue; // deleted since
        const { fields, parts } = decodeRecord(buf);
        found.push({ sortKey: writesSortKey(fields.path, fields.task, fields.idx), fields, part: parts[0] });
      }
      found.sort((a, b) => compareWritesSortKeys(a.sortKey, b.sortKey));
      return Promise.all(found.map(async ({ fields, part }) => [fields.task, fields.channel, await this._load(...part)]));
    }

    // Checkpoints before format version 4 kept pending sends as writes to TASKS of their parent.
    async _migratePendingSends(checkpoint, thread, ns, parentId) {
      const sends = (await this._pendingWrites(thread, ns, parentId)).filter(([, ch]) => ch === TASKS).map(([, , v]) => v);
      checkpoint.channel_values[TASKS] = sends;
      const versions = Object.values(checkpoint.channel_versions);
      checkpoint.channel_versions[TASKS] = versions.length ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
    }

    // The tuple of a stored checkpoint record, or undefined when `filter` rejects its metadata.
    async _tuple(thread, ns, id, buf, filter) {
      const { fields, parts } = decodeRecord(buf);
      const metadata = await this._load(...parts[1]);
      if (filter && !matchesMetadata(metadata, filter)) return undefined;
      const checkpoint = await this._load(...parts[0]);
      const values = {};
      for (const [channel, version] of Object.entries(checkpoint.channel_versions || {})) {
        const blob = this._values.read(this._ns.blobs, keyOf(thread, ns, channel, String(version)));
        if (blob !== undefined) values[channel] = await this._load(...decodeRecord(blob).parts[0]);
      }
      checkpoint.channel_values = values;
      if (checkpoint.v < 4 && fields.parent !== undefined) await this._migratePendingSends(checkpoint, thread, ns, fields.parent);
      const tuple = {
        config: { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: id } },
        checkpoint,
        metadata,
        pendingWrites: await this._pendingWrites(thread, ns, id),
      };
      if (fields.parent !== undefined) {
        tuple.parentConfig = { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: fields.parent } };
      }
      return tuple;
    }

    async getTuple(config) {
      const c = (config && config.configurable) || {};
      if (c.thread_id === undefined) return undefined;
      const thread = fieldOf(c.thread_id, 'thread_id');
      const ns = fieldOf(c.checkpoint_ns === undefined ? '' : c.checkpoint_ns, 'checkpoint_ns', { allowEmpty: true });
      let id = c.checkpoint_id === undefined || c.checkpoint_id === '' ? undefined : fieldOf(c.checkpoint_id, 'checkpoint_id');
      if (id === undefined) {
        id = this.store.get(this._ns.latest, keyOf(thread, ns));
        if (id === undefined) return undefined;
      }
      const buf = this._values.read(this._ns.cp, keyOf(thread, ns, id));
      return buf === undefined ? undefined : this._tuple(thread, ns, id, buf);
    }

    async *list(config, options = {}) {
      const c = (config && config.configurable) || {};
      const { filter, before } = options || {};
      let { limit } = options || {};
      // undefined is no limit; anything else must be a count (0 lists nothing). NaN, a fraction
      // or a string would otherwise be compared as no limit or cut the walk at a surprise place.
      if (limit !== undefined) v.validateInteger(limit, 'options.limit', 0);
      const thread = c.thread_id === undefined ? undefined : fieldOf(c.thread_id, 'thread_id');
      const ns = c.checkpoint_ns === undefined ? undefined : fieldOf(c.checkpoint_ns, 'checkpoint_ns', { allowEmpty: true });
      const only = c.checkpoint_id ? fieldOf(c.checkpoint_id, 'checkpoint_id') : undefined;
      const beforeId = before && before.configurable && before.configurable.checkpoint_id;
      // Compared with the fields of listed keys, which have the store's form (see _scan).
      const wellFormed = (s) => (typeof s === 'string' ? s.toWellFormed() : s);
      const [nsKey, onlyKey, beforeKey] = [ns, only, beforeId].map(wellFormed);
      const found = (thread === undefined ? this._scan(this._ns.cp) : this._scan(this._ns.cp, thread))
        .filter((f) => (nsKey === undefined || f[1] === nsKey) && (onlyKey === undefined || f[2] === onlyKey) &&
          (!beforeKey || f[2] < beforeKey));
      // Newest first; ties (the same id in two threads or namespaces) in key order.
      found.sort((a, b) => (a[2] !== b[2] ? (a[2] < b[2] ? 1 : -1) : (keyOf(...a) < keyOf(...b) ? -1 : 1)));
      if (limit !== undefined && limit <= 0) return;
      for (const [t, n, id] of found) {
        const buf = this._values.read(this._ns.cp, keyOf(t, n, id));
        if (buf === undefined) continue; // deleted since the walk
        const tuple = await this._tuple(t, n, id, buf, filter);
        if (tuple === undefined) continue;
        yield tuple;
        if (limit !== undefined && --limit <= 0) return;
      }
    }

    async put(config, checkpoint, metadata, newVersions = {}) {
      const c = config && config.configurable;
      if (!c) throw v.typeError('The config has no "configurable" property');
      if (c.thread_id === undefined) throw v.typeError('The config has no "configurable.thread_id": a checkpointer needs a thread id');
      const thread = fieldOf(c.thread_id, 'thread_id');
      const ns = fieldOf(c.checkpoint_ns === undefined ? '' : c.checkpoint_ns, 'checkpoint_ns', { allowEmpty: true });
      const id = fieldOf(checkpoint && checkpoint.id, 'checkpoint.id');
      const parent = c.checkpoint_id ? fieldOf(c.checkpoint_id, 'checkpoint_id') : undefined;
      const copy = copyCheckpoint(checkpoint);
      const values = copy.channel_values;
      copy.channel_values = {};
      // Every part is serialized before anything is written: a value the serializer refuses
      // leaves the store as it was.
      const blobs = [];
      for (const [channel, version] of Object.entries(newVersions || {})) {
        if (!Object.prototype.hasOwnProperty.call(values, channel)) continue;
        const key = keyOf(thread, ns, fieldOf(channel, 'channel'), fieldOf(version, 'version'));
        blobs.push([key, encodeRecord({}, [await this._dump(values[channel])])]);
      }
      const record = encodeRecord(parent === undefined ? {} : { parent }, [await this._dump(copy), await this._dump(metadata)]);
      // Blobs first: a checkpoint is never visible before the channel values it names.
      for (const [key, buf] of blobs) this._values.write(this._ns.blobs, key, buf);
      this._values.write(this._ns.cp, keyOf(thread, ns, id), record);
      // The latest checkpoint of the thread is the greatest id (uuid6 ids are ordered by time);
      // a put cut short before this line is a put that did not happen for getTuple.
      const latestKey = keyOf(thread, ns);
      const latest = this.store.get(this._ns.latest, latestKey);
      if (latest === undefined || id > latest) {
        this._values.pin(this._ns.latest); // as every namespace written through this._values
        this.store.set(this._ns.latest, latestKey, id);
      }
      return { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: id } };
    }

    async putWrites(config, writes, taskId, taskPath = '') {
      const c = (config && config.configurable) || {};
      if (c.thread_id === undefined) throw v.typeError('The config has no "configurable.thread_id"');
      if (!c.checkpoint_id) throw v.typeError('The config has no "configurable.checkpoint_id"');
      const thread = fieldOf(c.thread_id, 'thread_id');
      const ns = fieldOf(c.checkpoint_ns === undefined ? '' : c.checkpoint_ns, 'checkpoint_ns', { allowEmpty: true });
      const id = fieldOf(c.checkpoint_id, 'checkpoint_id');
      const task = fieldOf(taskId, 'task_id');
      // The path orders the pending writes (LangGraph's writesSortKey compares it as a string):
      // one of another type, once stored, would make every later read of the checkpoint throw.
      // null, as undefined, is no path.
      const path = taskPath === null ? '' : taskPath;
      if (typeof path !== 'string') throw v.invalidType('taskPath', 'a string', taskPath);
      if (!Array.isArray(writes)) throw v.typeError('The "writes" argument must be an array of [channel, value] pairs');
      const records = [];
      for (let i = 0; i < writes.length; i++) {
        // A write that is no pair would otherwise be destructured as whatever it iterates to (a
        // string's characters) or fail with the engine's TypeError, which has no code.
        if (!Array.isArray(writes[i]) || writes[i].length !== 2) {
          throw v.typeError(`The "writes[${i}]" argument must be a [channel, value] pair`);
        }
        const [channel, value] = writes[i];
        // Special channels (errors, interrupts, ...) have a fixed negative index and replace the
        // previous write; ordinary writes keep the first one stored (a retried task).
        const idx = WRITES_IDX_MAP[channel] !== undefined ? WRITES_IDX_MAP[channel] : i;
        records.push([keyOf(task, String(idx)), idx, encodeRecord({ task, channel: fieldOf(channel, 'channel'), path, idx }, [await this._dump(value)])]);
      }
      // From here to the end, no await: the index is read, extended and written back with no
      // other call of this thread in between (one writer per thread of LangGraph at a time).
      const indexKey = keyOf(thread, ns, id);
      const index = this._writeIndex(thread, ns, id);
      const indexed = new Set(index);
      let changed = false;
      for (const [sub, idx, buf] of records) {
        // A write is stored once it is indexed: a record left unindexed by a crash is rewritten.
        if (idx >= 0 && indexed.has(sub)) continue;
        this._values.write(this._ns.writes, indexKey + SEP + sub, buf);
        if (!indexed.has(sub)) {
          indexed.add(sub);
          index.push(sub);
          changed = true;
        }
      }
      if (changed) this._values.write(this._ns.windex, indexKey, Buffer.from(JSON.stringify(index)));
    }

    async deleteThread(threadId) {
      const thread = fieldOf(threadId, 'thread_id');
      // The latest pointers and the checkpoints first: a deletion cut short by a crash leaves a
      // thread that getTuple and list no longer show, and leftovers nothing reads.
      for (const ns of [this._ns.latest, this._ns.cp, this._ns.windex, this._ns.writes, this._ns.blobs]) {
        for (const f of this._scan(ns, thread)) this._values.remove(ns, keyOf(...f));
      }
    }

    // Closes the store when the saver opened it (not a Store that was passed in).
    close() {
      if (this._owned) this.store.close();
    }
  };
}

// Every key of the filter equals the metadata's value (deep equality for objects and arrays).
function matchesMetadata(metadata, filter) {
  return Object.entries(filter).every(([k, v]) => isDeepStrictEqual(metadata ? metadata[k] : undefined, v));
}

module.exports = { defineSaver };
