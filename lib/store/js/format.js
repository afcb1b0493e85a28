'use strict';
// Store geometry, creation and open-time validation (docs/format.md §2, §3, §10).
const { C, W, AT, STATUS, entriesOffset: entriesOffsetFor } = require('../../layout/layout');
const { xxh32 } = require('../../base/xxhash');

const H = AT.HEADER;
const CLASS_COUNT = AT.ALLOC_STATE.CLASS_COUNT;
const MAX_TOTAL = C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT;

const validMaxNamespaces = (n) => Number.isInteger(n) && n >= 1 && n <= C.MAX_NAMESPACES;

function isPow2(n) {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

// The checksum of the immutable header fields: magic, version, totalSize (u64), bucketCount,
// maxEntries, maxNamespaces, little-endian, XXH32 seed 0. totalSize is a number or, for the exact
// bits of any u64, a bigint.
function headerChecksum(magic, version, totalSize, bucketCount, maxEntries, maxNamespaces) {
  const img = Buffer.alloc(28);
  let at = 0;
  at = img.writeUInt32LE(magic, at);
  at = img.writeUInt32LE(version, at);
  at = img.writeBigUInt64LE(BigInt(totalSize), at);
  at = img.writeUInt32LE(bucketCount, at);
  at = img.writeUInt32LE(maxEntries, at);
  img.writeUInt32LE(maxNamespaces, at);
  return xxh32(img, 0, img.length, 0);
}

// Defaults used when the caller does not choose (format.md §10).
function defaultGeometry(totalSize, buckets, maxEntries, maxNamespaces = C.DEFAULT_MAX_NAMESPACES) {
  let me = maxEntries;
  if (me === undefined) {
    const roughEntries = Math.max(0, totalSize - entriesOffsetFor(buckets || 1, maxNamespaces)) / 128;
    me = Math.max(1, Math.min(0xffffffff, Math.floor(roughEntries)));
  }
  let bc = buckets;
  if (bc === undefined) {
    bc = 1;
    while (bc < me / 2 && bc < C.MAX_BUCKETS) bc *= 2;
    // Never let the bucket array eat more than a quarter of the store.
    while (bc > 1 && entriesOffsetFor(bc, 1) > totalSize / 4 + C.BUCKETS_OFFSET) bc /= 2;
  }
  return { bucketCount: bc, maxEntries: me };
}

// Formats `buf` (a SharedArrayBuffer) as an empty store. Returns a status.
function formatStore(buf, bucketCount, maxEntries, policy = C.POLICY_NONE, maxNamespaces = C.DEFAULT_MAX_NAMESPACES) {
  const totalSize = Math.floor(buf.byteLength / C.BLOCK_UNIT) * C.BLOCK_UNIT;
  if (!isPow2(bucketCount) || bucketCount > C.MAX_BUCKETS) return STATUS.ERR_INVALID_ARG;
  if (!validMaxNamespaces(maxNamespaces)) return STATUS.ERR_INVALID_ARG;
  if (policy !== C.POLICY_NONE && policy !== C.POLICY_CLOCK) return STATUS.ERR_INVALID_ARG;
  // The length as given, not rounded down: a buffer longer than the largest store is refused
  // whole, even by less than a unit, never taken in part (as src/store/format.cpp does).
  if (buf.byteLength > MAX_TOTAL) return STATUS.ERR_SHM_TOO_LARGE;
  const eo = entriesOffsetFor(bucketCount, maxNamespaces);
  if (eo + C.UNIT > totalSize) return STATUS.ERR_BAD_SIZE;
  // Zero bytes are an empty namespace area: every record free, every index slot empty.
  const u8 = new Uint8Array(buf, 0, eo);
  const u32 = new Uint32Array(buf, 0, eo / 4); // eo may exceed 2^31 (2^26 buckets)
  u8.fill(0);
  u32[H.VERSION] = C.FORMAT_VERSION;
  u32[H.TOTAL_SIZE] = totalSize % 0x100000000;
  u32[H.TOTAL_SIZE_HI] = Math.floor(totalSize / 0x100000000);
  u32[H.BUCKET_COUNT] = bucketCount;
  u32[H.MAX_ENTRIES] = maxEntries;
  u32[H.FREE_HEAD] = eo / C.BLOCK_UNIT;
  u32[H.MAX_NAMESPACES] = maxNamespaces;
  u32[H.HEADER_CHECKSUM] = headerChecksum(C.MAGIC, C.FORMAT_VERSION, totalSize, bucketCount,
    maxEntries, maxNamespaces);
  u32[CLASS_COUNT] = C.SIZE_CLASS_COUNT;
  u32[AT.EVICT_STATE.POLICY] = policy;
  u32[AT.EVICT_STATE.MARKING] = policy === C.POLICY_CLOCK ? 1 : 0;
  // The magic is stored last: a store is valid only once everything else is in place.
  Atomics.store(u32, H.MAGIC, C.MAGIC);
  return STATUS.OK;
}

// Validates the header of `buf` and returns { status, geometry }.
function readGeometry(buf) {
  const size = buf.byteLength;
  if (size < C.HEADER_SIZE) return { status: STATUS.ERR_BAD_SIZE };
  const u32 = new Uint32Array(buf, 0, W.HEADER.WORDS);
  if (Atomics.load(u32, H.MAGIC) !== C.MAGIC) return { status: STATUS.ERR_BAD_MAGIC };
  if (u32[H.VERSION] !== C.FORMAT_VERSION) return { status: STATUS.ERR_BAD_VERSION };
  const totalLo = u32[H.TOTAL_SIZE];
  const totalHi = u32[H.TOTAL_SIZE_HI];
  // Rounded to a double above 2^53, but only where it is far beyond MAX_TOTAL anyway: the checksum
  // is computed over the exact u64.
  const totalSize = totalLo + totalHi * 0x100000000;
  const bucketCount = u32[H.BUCKET_COUNT];
  const maxEntries = u32[H.MAX_ENTRIES];
  const maxNamespaces = u32[H.MAX_NAMESPACES];
  const exactTotal = (BigInt(totalHi) << 32n) | BigInt(totalLo);
  const sum = headerChecksum(C.MAGIC, C.FORMAT_VERSION, exactTotal, bucketCount, maxEntries, maxNamespaces);
  if (u32[H.HEADER_CHECKSUM] !== sum) return { status: STATUS.ERR_BAD_CHECKSUM };
  if (totalSize % C.BLOCK_UNIT !== 0 || totalSize > size || totalSize > MAX_TOTAL) {
    return { status: STATUS.ERR_BAD_SIZE };
  }
  if (!isPow2(bucketCount) || bucketCount > C.MAX_BUCKETS || !validMaxNamespaces(maxNamespaces)) {
    return { status: STATUS.ERR_CORRUPT };
  }
  const entriesOffset = entriesOffsetFor(bucketCount, maxNamespaces);
  if (entriesOffset + C.UNIT > totalSize) return { status: STATUS.ERR_BAD_SIZE };
  const meta = new Uint32Array(buf, 0, C.METADATA_END / 4);
  if (meta[CLASS_COUNT] !== C.SIZE_CLASS_COUNT) {
    return { status: STATUS.ERR_CORRUPT };
  }
  const firstUnit = entriesOffset / C.BLOCK_UNIT;
  const totalUnits = totalSize / C.BLOCK_UNIT;
  const freeHead = Atomics.load(meta, H.FREE_HEAD);
  if (freeHead < firstUnit || freeHead > totalUnits) return { status: STATUS.ERR_CORRUPT };
  return {
    status: STATUS.OK,
    geometry: { totalSize, bucketCount, maxEntries, maxNamespaces, entriesOffset, firstUnit, totalUnits },
  };
}

module.exports = { formatStore, readGeometry, defaultGeometry, entriesOffsetFor, headerChecksum };
