'use strict';
// Values of any size over a Store, whose entries hold at most C.MAX_INLINE_VALUE_BYTES bytes. The entry
// under the value's key (the head) tells by its encoding which form it has:
//
//   bytes (a Buffer):  the value itself, when it fits one entry;
//   a string:          `chunks:<id>:<count>:<length>` (decimal; the id is 16 hex digits, random):
//                      the value is the concatenation of `count` entries of the chunk namespace,
//                      keys `<id>:0` ... `<id>:<count - 1>`, each CHUNK bytes (below) but the
//                      last, `length` bytes in all.
//
// Invariants. A writer stores every chunk before the head that names them, and removes the
// chunks of the head it replaced only after its own head is stored: a reader that finds a chunk
// missing has read a head that was replaced since, and reads again; the same head (the same
// random id) with a chunk missing is damage (ERR_CORRUPT). Chunk keys carry a fresh id, so two
// writers never write the same chunk. What this cannot promise without a compare-and-swap in
// the store: when two writers replace the same large value at the same moment, or a process dies
// between writing chunks and its head, chunks can be left that no head names (space, never a
// wrong value); the writer that finds its head already replaced removes its own chunks.
//
// The namespaces written through this are pinned (eviction 'none') before this handle first
// writes them: in a store whose default is to evict (a cache shared with the Keyv adapter), the
// CLOCK hand would otherwise take single chunks of a live value (a read then finds it damaged),
// or single records of a structure built of several (a checkpoint without the channel values it
// names), instead of refusing the write with ERR_STORE_FULL.
const crypto = require('crypto');
const { C, STATUS, SIZE_CLASSES } = require('../layout/layout');
const { ShmError } = require('../base/errors');

const INLINE_MAX = C.MAX_INLINE_VALUE_BYTES;
// Chunk keys are `<16 hex digits>:<index>`: at most this many bytes.
const CHUNK_KEY_ROOM = 32;
// A chunk fills the largest block of the allocator (format.md §8) that holds a value the store
// accepts, with its entry header and key: a chunk of C.MAX_INLINE_VALUE_BYTES would need the next,
// a quarter larger, class and leave a fifth of each block unused.
const CHUNK_UNITS = Math.max(...SIZE_CLASSES.filter((u) => u * C.BLOCK_UNIT - C.ENTRY_HEADER_SIZE - CHUNK_KEY_ROOM <= C.MAX_INLINE_VALUE_BYTES));
const CHUNK = CHUNK_UNITS * C.BLOCK_UNIT - C.ENTRY_HEADER_SIZE - CHUNK_KEY_ROOM;
const HEAD = /^chunks:([0-9a-f]{16}):(\d+):(\d+)$/;
// Reads retried while the head keeps changing under the reader (each retry means a writer
// completed a replacement in between).
const MAX_READS = 1000;

function chunkKey(idHex, i) {
  return `${idHex}:${i}`;
}

// { inline: bytes } or { id, count, total }; null for an entry in neither form.
function parseHead(head) {
  if (Buffer.isBuffer(head)) return { inline: head };
  const m = typeof head === 'string' ? HEAD.exec(head) : null;
  return m ? { id: m[1], count: Number(m[2]), total: Number(m[3]) } : null;
}

class ChunkedValues {
  // `chunkNs`: the store namespace of the chunks (any number of data namespaces may share it).
  constructor(store, chunkNs) {
    this.store = store;
    this.chunkNs = chunkNs;
    // The namespaces this object has pinned: once per namespace and object (a pin costs a
    // namespace-settings write, several times a set).
    this._pinned = new Set();
  }

  // Pins namespace `ns` (eviction 'none', creating it if needed) unless this object did already.
  pin(ns) {
    if (this._pinned.has(ns)) return;
    this.store.namespace(ns, { eviction: 'none' });
    this._pinned.add(ns);
  }

  _removeChunks(idHex, count) {
    for (let i = 0; i < count; i++) this.store.delete(this.chunkNs, chunkKey(idHex, i));
  }

  // The head of (ns, key), or undefined. An entry that is not a head (written by other code) is
  // ERR_CORRUPT for a reader; a writer or a remover replaces it like any other value.
  _head(ns, key, strict = true) {
    const raw = this.store.get(ns, key);
    if (raw === undefined) return undefined;
    const head = parseHead(raw);
    if (head === null) {
      if (!strict) return { foreign: true };
      throw new ShmError('ERR_CORRUPT', `entry '${key}' of namespace '${ns}' is not a value written by this adapter`, { status: STATUS.ERR_CORRUPT });
    }
    return head;
  }

  // The bytes stored under (ns, key), or undefined.
  read(ns, key) {
    let previous = null;
    for (let attempt = 0; attempt < MAX_READS; attempt++) {
      const head = this._head(ns, key);
      if (head === undefined) return undefined;
      if (head.inline) return head.inline;
      const keys = [];
      for (let i = 0; i < head.count; i++) keys.push(chunkKey(head.id, i));
      const parts = this.store.getMany(this.chunkNs, keys);
      if (parts.every(Buffer.isBuffer)) {
        const bytes = Buffer.concat(parts);
        if (bytes.length === head.total) return bytes;
      }
      if (previous === head.id) break; // the same head twice with a chunk missing: damage
      previous = head.id;
    }
    throw new ShmError('ERR_CORRUPT', `the chunks of '${key}' in namespace '${ns}' are missing or damaged`, { status: STATUS.ERR_CORRUPT });
  }

  // Stores `bytes` (a Buffer) under (ns, key). On ERR_STORE_FULL nothing of this value is left
  // and any old value stays.
  write(ns, key, bytes) {
    const store = this.store;
    this.pin(ns);
    const old = this._head(ns, key, false);
    let mine = null;
    if (bytes.length <= INLINE_MAX) {
      store.set(ns, key, bytes);
    } else {
      this.pin(this.chunkNs);
      const idHex = crypto.randomBytes(8).toString('hex');
      const count = Math.ceil(bytes.length / CHUNK);
      let written = 0;
      try {
        for (; written < count; written++) {
          store.set(this.chunkNs, chunkKey(idHex, written), bytes.subarray(written * CHUNK, (written + 1) * CHUNK));
        }
        store.set(ns, key, `chunks:${idHex}:${count}:${bytes.length}`);
      } catch (err) {
        this._removeChunks(idHex, written);
        throw err;
      }
      mine = { id: idHex, count };
    }
    if (old && old.id !== undefined) this._removeChunks(old.id, old.count);
    if (mine) {
      // Replaced already by a writer that read the old head before ours was stored: nobody
      // will remove our chunks but us.
      const now = this._head(ns, key, false);
      if (!now || now.id !== mine.id) this._removeChunks(mine.id, mine.count);
    }
  }

  // Removes (ns, key) and its chunks; returns whether it existed.
  remove(ns, key) {
    const old = this._head(ns, key, false);
    if (old === undefined) return false;
    const existed = this.store.delete(ns, key);
    if (old.id !== undefined) this._removeChunks(old.id, old.count);
    return existed;
  }
}

module.exports = { ChunkedValues, INLINE_MAX, CHUNK };
