'use strict';
// The 'store' kind (docs/format.md §14, "The store kind"). A store is not placed inside the
// registry's segment: it gets a segment of its own, which the entry's block names (a
// RegistryStoreRef record, then the UTF-8 name or path). Why: both store engines address a store
// from byte 0 of its buffer and check its size against the buffer's, a second SharedArrayBuffer
// over part of a mapping is impossible (one backing store per mapping), and a store in its own
// segment stays what every other tool expects (Store.open, the CLI's inspect, verify and repair
// work on it unchanged), can be larger than the registry, and releases its memory when deleted.
//
// The segment's name is derived, never chosen: `<registry name or path>.<nonce>.<slot>.<generation>`
// with the registry's random nonce in 8 hex digits and the entry's slot and generation, so no two
// entries of any registry ever share one, and the repair pass may unlink the segment of a create
// that died halfway without any risk of removing someone else's. The reference is written before
// the segment is created, so a create killed at any moment leaves a name that repair can find; it
// is followed only while it ends as the entry's derived name does (readRef()).
const { isAbsolute } = require('path');
const { C, S, W, BASE, AT } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const v = require('../base/validate');
const { Segment } = require('../segment/segment');
const { Store } = require('../persist/store'); // the public Store (the facade without persist)
const { OwnerTable } = require('../ownership/owners');
const { ownersOpen } = require('./in-use');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const RW = W.REGISTRY_STORE_REF;
const REF_BYTES = S.REGISTRY_STORE_REF.SIZE;
const U32_RANGE = 2 ** 32;
const CREATE_KEYS = ['size', 'buckets', 'maxEntries', 'maxNamespaces', 'mode'];
const OPEN_KEYS = ['engine', 'lockTimeoutMs'];

// The end of the name of the store segment of the entry at `slot` with `generation`, in the
// registry whose nonce is `nonce`: what makes that name differ from every other entry's.
function suffixOf(nonce, slot, generation) {
  return `.${nonce.toString(16).padStart(8, '0')}.${slot}.${generation}`;
}

// The refusal of a store in a registry in a SharedArrayBuffer.
function noSegment() {
  return v.typeError('A store needs a registry in a segment (name or path): a registry in a SharedArrayBuffer cannot name the store\'s own segment');
}

/** The store segment of the entry at ctx's slot and generation: { name } or { path }. */
function derivedTarget(ctx) {
  const suffix = suffixOf(ctx.nonce, ctx.slot, ctx.generation);
  if (ctx.name !== null) {
    const name = ctx.name + suffix;
    if (name.length > C.MAX_SEGMENT_NAME_BYTES) {
      throw v.rangeError(`The registry's name is too long to name a store segment after it (${name.length} > ${C.MAX_SEGMENT_NAME_BYTES} characters)`);
    }
    return { name };
  }
  if (ctx.path !== null) {
    const path = ctx.path + suffix;
    if (Buffer.byteLength(path) > C.MAX_SEGMENT_PATH_BYTES) {
      throw v.rangeError(`The registry's path is too long to name a store file after it (over ${C.MAX_SEGMENT_PATH_BYTES} bytes)`);
    }
    return { path };
  }
  throw noSegment();
}

function targetBytes(t) {
  return Buffer.from(t.name !== undefined ? t.name : t.path, 'utf8');
}

function writeRef(at, t) {
  const bytes = targetBytes(t);
  const u32 = new Uint32Array(at.buffer, at.byteOffset, REF_BYTES / WORD);
  new Uint8Array(at.buffer, at.byteOffset + REF_BYTES, bytes.length).set(bytes);
  Atomics.store(u32, RW.LENGTH, bytes.length);
  Atomics.store(u32, RW.TARGET, t.name !== undefined ? C.REGISTRY_TARGET_SHM : C.REGISTRY_TARGET_FILE);
}

/**
 * The store segment the block at `at` of entry `info` (table.read(): slot, generation and the
 * registry's nonce) names, or null when it names none (yet, or damaged). Only a name that ends
 * as the entry's own derived name does (a path, absolute) is followed: the reference is not
 * checksummed, and a bit flipped in it (the entry index, say) would otherwise open another
 * entry's store, and make a delete or the repair pass unlink that store's segment.
 */
function readRef(at, info) {
  const u32 = new Uint32Array(at.buffer, at.byteOffset, REF_BYTES / WORD);
  const target = Atomics.load(u32, RW.TARGET);
  const length = Atomics.load(u32, RW.LENGTH);
  if (length === 0 || REF_BYTES + length > at.byteLength) return null;
  const text = Buffer.from(at.buffer, at.byteOffset + REF_BYTES, length).toString('utf8');
  const suffix = suffixOf(info.nonce, info.slot, info.generation);
  if (text.length <= suffix.length || !text.endsWith(suffix)) return null;
  if (target === C.REGISTRY_TARGET_SHM) return { name: text };
  if (target === C.REGISTRY_TARGET_FILE && isAbsolute(text)) return { path: text };
  return null;
}

function pick(options, keys) {
  return Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}

const storeKind = {
  version: C.FORMAT_VERSION,
  // A registry in a SharedArrayBuffer refuses a store before it looks for room (a full table too).
  noSegment,
  createOptions: CREATE_KEYS,
  openOptions: OPEN_KEYS,
  // Types and ranges; Store.create() checks the rest (its failure rolls the entry back).
  check(options) {
    if (options.size === undefined) throw v.typeError('The "options.size" argument is required to create a store');
    v.validateInteger(options.size, 'options.size', 1, C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT);
    if (options.buckets !== undefined) v.validateInteger(options.buckets, 'options.buckets', 1, C.MAX_BUCKETS);
    if (options.maxEntries !== undefined) v.validateInteger(options.maxEntries, 'options.maxEntries', 1, 0xffffffff);
    if (options.maxNamespaces !== undefined) {
      v.validateInteger(options.maxNamespaces, 'options.maxNamespaces', 1, C.MAX_NAMESPACES);
    }
  },
  bytes: (options, ctx) => REF_BYTES + targetBytes(derivedTarget(ctx)).length,
  // The size's high bits (a store is below 2^36 bytes) share the second word with maxNamespaces
  // (below 2^16), 0 when defaulted (format.md §14, "Kinds").
  params: (o) => [o.size % U32_RANGE, (Math.floor(o.size / U32_RANGE) | ((o.maxNamespaces || 0) << 16)) >>> 0,
    o.buckets || 0, o.maxEntries || 0],
  init(at, options, ctx) {
    const t = derivedTarget(ctx);
    writeRef(at, t);
    return Store.create({ ...t, ...pick(options, [...CREATE_KEYS, ...OPEN_KEYS]) });
  },
  open(at, info, options) {
    const t = readRef(at, info);
    if (t === null) throw new ShmError('ERR_CORRUPT', 'The registry entry does not name its store segment (damaged)');
    return Store.open({ ...t, ...pick(options, OPEN_KEYS) });
  },
  describe(at, info) {
    const [lo, second, buckets, maxEntries] = info.params;
    const out = { segment: readRef(at, info), size: (second & 0xffff) * U32_RANGE + lo };
    if (buckets) out.buckets = buckets;
    if (maxEntries) out.maxEntries = maxEntries;
    if (second >>> 16) out.maxNamespaces = second >>> 16;
    return out;
  },
  // Open handles of the store claim owner records of its own table (format.md §6; in-use.js).
  inUse(at, info, self) {
    const t = readRef(at, info);
    if (t === null) return false;
    let segment;
    try {
      segment = Segment.open(t);
    } catch (e) {
      if (e.code === 'ERR_SHM_NOT_FOUND' || e.code === 'ERR_BAD_SIZE') return false;
      throw e;
    }
    try {
      if (segment.size < C.BUCKETS_OFFSET) return false; // the owner table ends there
      const u32 = new Uint32Array(segment.buffer, 0, C.BUCKETS_OFFSET / WORD);
      if (Atomics.load(u32, AT.HEADER.MAGIC) !== C.MAGIC || Atomics.load(u32, AT.HEADER.VERSION) !== C.FORMAT_VERSION) {
        return false;
      }
      return ownersOpen(new OwnerTable(u32, BASE.OWNER, C.OWNER_SLOTS), self);
    } finally {
      segment.close();
    }
  },
  // Unlinks the store's segment (idempotent: a segment already gone, or never created, is fine).
  // Handles still open keep their mapping until they close.
  discard(at, info) {
    const t = readRef(at, info);
    if (t === null) return;
    try {
      Segment.unlink(t);
    } catch (e) {
      if (e.code !== 'ERR_SHM_NOT_FOUND') throw e;
    }
  },
};

module.exports = { storeKind, derivedTarget, readRef };
