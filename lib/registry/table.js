'use strict';
// The bytes of a registry (docs/format.md §14): the header, the entry table, and the name and
// kind fields of an entry. Everything but readHeader() and formatHeader() runs under the table
// lock; formatHeader() runs on bytes no one else uses yet.
const { C, S, W } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const { xxh32 } = require('../base/xxhash');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HDR = C.REGISTRY_HEADER_OFFSET / WORD;
const HW = W.REGISTRY_HEADER;
const EW = W.REGISTRY_ENTRY;
const ES = S.REGISTRY_ENTRY;
const ENTRIES_WORD = C.REGISTRY_ENTRIES_OFFSET / WORD;
const UNIT_BYTES = C.UNIT;
// The immutable header fields the checksum covers, in order (magic .. nonce).
const CHECKED = [HW.MAGIC, HW.VERSION, HW.MAX_ENTRIES, HW.DATA_UNIT, HW.END_UNIT, HW.NONCE];

const STATE = Object.freeze({
  FREE: C.REGISTRY_ENTRY_FREE,
  CREATING: C.REGISTRY_ENTRY_CREATING,
  LIVE: C.REGISTRY_ENTRY_LIVE,
  DELETING: C.REGISTRY_ENTRY_DELETING,
});

/** Byte offset of the data area of a registry with `maxEntries` entries (a whole unit). */
function dataOffset(maxEntries) {
  return C.REGISTRY_ENTRIES_OFFSET + maxEntries * ES.SIZE;
}

/** XXH32 (seed 0) of the immutable header fields as little-endian u32 words, magic to nonce. */
function headerChecksum(words) {
  const img = Buffer.alloc(words.length * WORD);
  words.forEach((x, i) => img.writeUInt32LE(x >>> 0, i * WORD));
  return xxh32(img, 0, img.length, 0);
}

/** The XXH32 (seed 0) of a name's UTF-8 bytes: the entry's nameHash. */
function nameHash(bytes) {
  return xxh32(bytes, 0, bytes.length, 0);
}

/**
 * Writes the header of a new registry over `buffer` (zeroing the header, the table lock and the
 * entry table first: a buffer may hold old bytes), the magic last. With `lockHeld` the table
 * lock is left as it is: the caller holds it (a new segment, format.md §14, "Creating").
 */
function formatHeader(buffer, maxEntries, endUnit, nonce, lockHeld = false) {
  const dataUnit = dataOffset(maxEntries) / UNIT_BYTES;
  const bytes = new Uint8Array(buffer, 0, dataOffset(maxEntries));
  if (lockHeld) {
    bytes.fill(0, 0, C.REGISTRY_LOCK_OFFSET);
    bytes.fill(0, C.REGISTRY_ENTRIES_OFFSET);
  } else {
    bytes.fill(0);
  }
  const u32 = new Uint32Array(buffer, 0, dataOffset(maxEntries) / WORD);
  const words = [C.REGISTRY_MAGIC, C.REGISTRY_FORMAT_VERSION, maxEntries, dataUnit, endUnit, nonce];
  for (let i = 1; i < CHECKED.length; i++) Atomics.store(u32, HDR + CHECKED[i], words[i]);
  Atomics.store(u32, HDR + HW.HEADER_CHECKSUM, headerChecksum(words));
  Atomics.store(u32, HDR + HW.MAGIC, C.REGISTRY_MAGIC);
}

/**
 * Reads and checks the header of the registry in `buffer`: its geometry { maxEntries, dataUnit,
 * endUnit, nonce }, or null while the magic is 0 (a creator has not written it yet). Throws
 * ShmError ERR_BAD_MAGIC, ERR_BAD_VERSION, ERR_BAD_CHECKSUM or ERR_BAD_SIZE.
 */
function readHeader(buffer) {
  if (buffer.byteLength < C.REGISTRY_ENTRIES_OFFSET) {
    throw new ShmError('ERR_BAD_SIZE', `${buffer.byteLength} bytes are too few for a registry`);
  }
  const u32 = new Uint32Array(buffer, 0, C.REGISTRY_ENTRIES_OFFSET / WORD);
  const words = CHECKED.map((f) => Atomics.load(u32, HDR + f));
  const [magic, version, maxEntries, dataUnit, endUnit, nonce] = words;
  if (magic === 0) return null;
  if (magic !== C.REGISTRY_MAGIC) throw new ShmError('ERR_BAD_MAGIC', 'Not a registry (bad magic)');
  if (version !== C.REGISTRY_FORMAT_VERSION) {
    throw new ShmError('ERR_BAD_VERSION', `Registry format version ${version}, expected ${C.REGISTRY_FORMAT_VERSION}`);
  }
  if (Atomics.load(u32, HDR + HW.HEADER_CHECKSUM) !== headerChecksum(words)) {
    throw new ShmError('ERR_BAD_CHECKSUM', 'Registry header checksum mismatch (corrupted header)');
  }
  if (maxEntries < 1 || maxEntries > C.REGISTRY_MAX_ENTRIES || dataUnit * UNIT_BYTES !== dataOffset(maxEntries) ||
      endUnit <= dataUnit || endUnit * UNIT_BYTES > buffer.byteLength) {
    throw new ShmError('ERR_BAD_SIZE', `The registry's geometry does not fit its ${buffer.byteLength} bytes`);
  }
  return { maxEntries, dataUnit, endUnit, nonce };
}

const SYNC_MAGIC_WORD = (C.REGISTRY_LOCK_OFFSET + C.SYNC_HEADER_OFFSET) / WORD + W.SYNC_HEADER.MAGIC;
const SYNC_KIND_WORD = (C.REGISTRY_LOCK_OFFSET + C.SYNC_HEADER_OFFSET) / WORD + W.SYNC_HEADER.KIND;

/**
 * The geometry to give the registry in `buffer`, a segment whose creator never stored its magic
 * (format.md §14, "Opening"): { maxEntries, endUnit, nonce }, or null when its bytes are not
 * what such a creator leaves, and so may be anything else (never overwritten then). Such a
 * creator leaves zero bytes but for a prefix of the header's fixed fields, written in order
 * (version, maxEntries, dataUnit, endUnit, nonce, headerChecksum), and the table lock, a mutex
 * (§13) or zero bytes. The creator's geometry is kept when all of its fields are there and their
 * checksum holds; else the registry gets REGISTRY_DEFAULT_ENTRIES entries (fewer when the
 * segment cannot hold them and one unit of data), the segment's size and a new nonce.
 */
function unfinishedGeometry(buffer, newNonce) {
  if (buffer.byteLength < C.REGISTRY_ENTRIES_OFFSET + ES.SIZE + UNIT_BYTES) return null;
  const u32 = new Uint32Array(buffer, 0, C.REGISTRY_ENTRIES_OFFSET / WORD);
  if (Atomics.load(u32, HDR + HW.MAGIC) !== 0) return null;
  // The words the creator writes, in order: after the first 0 every one must be 0.
  const written = [...CHECKED.slice(1), HW.HEADER_CHECKSUM].map((f) => Atomics.load(u32, HDR + f));
  const firstZero = written.indexOf(0);
  if (firstZero >= 0 && written.slice(firstZero).some((x) => x !== 0)) return null;
  if (written[0] !== 0 && written[0] !== C.REGISTRY_FORMAT_VERSION) return null;
  for (let w = HDR; w < HDR + S.REGISTRY_HEADER.SIZE / WORD; w++) {
    if (w === HDR + HW.MAGIC || w === HDR + HW.HEADER_CHECKSUM || CHECKED.includes(w - HDR)) continue;
    if (Atomics.load(u32, w) !== 0) return null; // allocator words and counters: written only later
  }
  const syncMagic = Atomics.load(u32, SYNC_MAGIC_WORD);
  const syncKind = Atomics.load(u32, SYNC_KIND_WORD);
  if (!(syncMagic === 0 && syncKind === 0) && !((syncMagic === 0 || syncMagic === C.SYNC_MAGIC) && syncKind === C.SYNC_KIND_MUTEX)) {
    return null;
  }
  const [version, maxEntries, dataUnit, endUnit, nonce, checksum] = written;
  let geometry;
  if (version !== 0 && checksum === headerChecksum([C.REGISTRY_MAGIC, version, maxEntries, dataUnit, endUnit, nonce]) &&
      maxEntries >= 1 && maxEntries <= C.REGISTRY_MAX_ENTRIES && dataUnit * UNIT_BYTES === dataOffset(maxEntries) &&
      endUnit > dataUnit && endUnit * UNIT_BYTES <= buffer.byteLength) {
    geometry = { maxEntries, endUnit, nonce };
  } else {
    const fits = Math.floor((buffer.byteLength - UNIT_BYTES - C.REGISTRY_ENTRIES_OFFSET) / ES.SIZE);
    geometry = {
      maxEntries: Math.min(C.REGISTRY_DEFAULT_ENTRIES, fits),
      endUnit: Math.min(Math.floor(buffer.byteLength / UNIT_BYTES), C.MAX_SEGMENT_UNITS),
      nonce: newNonce,
    };
  }
  // No entry is written before the magic: the entry table is zero.
  const entries = new Uint8Array(buffer, C.REGISTRY_ENTRIES_OFFSET, geometry.maxEntries * ES.SIZE);
  if (entries.some((b) => b !== 0)) return null;
  return geometry;
}

class Table {
  constructor(buffer, geometry) {
    this.buffer = buffer;
    this.maxEntries = geometry.maxEntries;
    this.dataUnit = geometry.dataUnit;
    this.endUnit = geometry.endUnit;
    this.nonce = geometry.nonce;
    const bytes = geometry.dataUnit * UNIT_BYTES;
    this.u32 = new Uint32Array(buffer, 0, bytes / WORD);
    this.u8 = new Uint8Array(buffer, 0, bytes);
  }

  // Header words (allocator and counters).
  header(field) {
    return Atomics.load(this.u32, HDR + HW[field]);
  }

  setHeader(field, value) {
    Atomics.store(this.u32, HDR + HW[field], value);
  }

  bump(field) {
    Atomics.add(this.u32, HDR + HW[field], 1);
  }

  #word(slot, field) {
    return ENTRIES_WORD + slot * EW.WORDS + EW[field];
  }

  #byte(slot, field) {
    return C.REGISTRY_ENTRIES_OFFSET + slot * ES.SIZE + ES[field];
  }

  get(slot, field) {
    return Atomics.load(this.u32, this.#word(slot, field));
  }

  set(slot, field, value) {
    Atomics.store(this.u32, this.#word(slot, field), value);
  }

  state(slot) {
    return this.get(slot, 'STATE');
  }

  /**
   * The entry of `slot` as an object (kind and name decoded; the name's bytes are checked by
   * callers), with the registry's nonce, which names a store's segment with the slot and the
   * generation (store-kind.js).
   */
  read(slot) {
    const nameLength = this.get(slot, 'NAME_LENGTH');
    const kindAt = this.#byte(slot, 'KIND');
    const kindBytes = this.u8.subarray(kindAt, kindAt + C.REGISTRY_MAX_KIND_BYTES);
    const kindEnd = kindBytes.indexOf(0);
    const params = [];
    for (let i = 0; i < C.REGISTRY_PARAMS; i++) params.push(Atomics.load(this.u32, this.#word(slot, 'PARAMS') + i));
    const nameAt = this.#byte(slot, 'NAME');
    return {
      slot,
      state: this.get(slot, 'STATE'),
      generation: this.get(slot, 'GENERATION'),
      nameHash: this.get(slot, 'NAME_HASH'),
      nameLength,
      unit: this.get(slot, 'UNIT'),
      units: this.get(slot, 'UNITS'),
      version: this.get(slot, 'VERSION'),
      kind: Buffer.from(kindBytes.subarray(0, kindEnd < 0 ? kindBytes.length : kindEnd)).toString('latin1'),
      params,
      nameBytes: Buffer.from(this.u8.subarray(nameAt, nameAt + Math.min(nameLength, C.REGISTRY_MAX_NAME_BYTES))),
      nonce: this.nonce,
    };
  }

  /** Whether the block an entry records lies inside the data area. */
  blockInside(info) {
    return info.units > 0 && info.unit >= this.dataUnit && info.unit + info.units <= this.endUnit;
  }

  /** The block of an entry, as kinds see it: { buffer, byteOffset, byteLength }. */
  block(info) {
    return { buffer: this.buffer, byteOffset: info.unit * UNIT_BYTES, byteLength: info.units * UNIT_BYTES };
  }

  /** Whether live entry `slot` is named by the UTF-8 `bytes` whose hash is `hash`. */
  #named(slot, bytes, hash) {
    if (this.get(slot, 'NAME_HASH') !== hash || this.get(slot, 'NAME_LENGTH') !== bytes.length) return false;
    const at = this.#byte(slot, 'NAME');
    return Buffer.compare(this.u8.subarray(at, at + bytes.length), bytes) === 0;
  }

  /** The slot of the live entry named `bytes`, or -1. */
  find(bytes, hash) {
    for (let slot = 0; slot < this.maxEntries; slot++) {
      if (this.state(slot) === STATE.LIVE && this.#named(slot, bytes, hash)) return slot;
    }
    return -1;
  }

  /** The lowest free slot, or -1. */
  freeSlot() {
    for (let slot = 0; slot < this.maxEntries; slot++) {
      if (this.state(slot) === STATE.FREE) return slot;
    }
    return -1;
  }

  /**
   * Fills free entry `slot` for a create and sets its state to CREATING last. `e` is { generation,
   * nameBytes, hash, kind (ASCII), version, params, unit, units }.
   */
  write(slot, e) {
    this.set(slot, 'GENERATION', e.generation);
    this.set(slot, 'NAME_HASH', e.hash);
    this.set(slot, 'NAME_LENGTH', e.nameBytes.length);
    this.set(slot, 'UNIT', e.unit);
    this.set(slot, 'UNITS', e.units);
    this.set(slot, 'VERSION', e.version);
    const kindAt = this.#byte(slot, 'KIND');
    this.u8.fill(0, kindAt, kindAt + C.REGISTRY_MAX_KIND_BYTES);
    this.u8.set(Buffer.from(e.kind, 'latin1'), kindAt);
    for (let i = 0; i < C.REGISTRY_PARAMS; i++) {
      Atomics.store(this.u32, this.#word(slot, 'PARAMS') + i, e.params[i] || 0);
    }
    const nameAt = this.#byte(slot, 'NAME');
    this.u8.fill(0, nameAt, nameAt + C.REGISTRY_MAX_NAME_BYTES);
    this.u8.set(e.nameBytes, nameAt);
    this.set(slot, 'STATE', STATE.CREATING);
  }

  /** Frees entry `slot`: state FREE first, then every field after the generation is zeroed. */
  clear(slot) {
    this.set(slot, 'STATE', STATE.FREE);
    const at = C.REGISTRY_ENTRIES_OFFSET + slot * ES.SIZE;
    this.u8.fill(0, at + ES.NAME_HASH, at + ES.SIZE);
  }
}

/**
 * How many structures the registry in `buffer` holds, read without the table lock (a moment's
 * count, for tools that only look), or null when the bytes are not a valid registry.
 */
function peekEntries(buffer) {
  let geometry;
  try {
    geometry = readHeader(buffer);
  } catch {
    return null;
  }
  if (geometry === null) return null;
  const table = new Table(buffer, geometry);
  let live = 0;
  for (let slot = 0; slot < table.maxEntries; slot++) if (table.state(slot) === STATE.LIVE) live++;
  return live;
}

module.exports = { Table, STATE, dataOffset, formatHeader, readHeader, unfinishedGeometry, nameHash, headerChecksum, peekEntries };
