'use strict';
// An independent reader of the registry format (docs/format.md §14), written only from the
// document (and the xxHash specification for XXH32). It reads a snapshot taken while the table
// lock is free and no recovery is pending, and reports as a `problem` everything the document
// says cannot be true then: so a test can check that a registry is consistent after kill -9.
// layout-ok-file: the offsets are the document's numbers on purpose, never lib/layout/layout.js,
// so that a layout that drifted from docs/format.md fails here.

const { xxh32 } = require('./independent-xxh32.js');

const UNIT = 64;
const MAGIC = 0x53474552;
const FREE_TAG = 0x45455246;
const LOCK = 64; // the table lock: a sync region of 8384 bytes (§13)
const ENTRIES = 8448;
const ENTRY = 128;
const STATES = ['free', 'creating', 'live', 'deleting'];

// Reads the registry in `buffer` (a SharedArrayBuffer or ArrayBuffer). Throws on a header the
// document says to refuse; returns { header, lock, entries, live, free, tailStart, problems }.
function readRegistry(buffer) {
  const dv = new DataView(buffer);
  const u32 = (at) => dv.getUint32(at, true);
  const bytes = (at, n) => Buffer.from(new Uint8Array(buffer, at, n));
  const header = {
    magic: u32(0), version: u32(4), maxEntries: u32(8), dataUnit: u32(12), endUnit: u32(16),
    nonce: u32(20), freeHead: u32(24), tail: u32(28), repairs: u32(32), changes: u32(36),
    headerChecksum: u32(40),
  };
  if (header.magic !== MAGIC) throw new Error('ERR_BAD_MAGIC');
  if (header.version !== 1) throw new Error('ERR_BAD_VERSION');
  if (xxh32(bytes(0, 24), 0) !== header.headerChecksum) throw new Error('ERR_BAD_CHECKSUM');
  const { maxEntries, dataUnit, endUnit } = header;
  if (maxEntries < 1 || maxEntries > 65536 || dataUnit * UNIT !== ENTRIES + ENTRY * maxEntries ||
      endUnit <= dataUnit || endUnit * UNIT > buffer.byteLength) {
    throw new Error('ERR_BAD_SIZE');
  }
  // §13: the lock word at 64 of the region (held while its version is odd), recovering at 72.
  const lockWord = u32(LOCK + 64);
  const lock = { held: (lockWord & 1) === 1, recovering: u32(LOCK + 72) };

  const problems = [];
  const entries = [];
  for (let i = 0; i < maxEntries; i++) {
    const at = ENTRIES + ENTRY * i;
    const nameLength = u32(at + 12);
    const kindRaw = bytes(at + 32, 16);
    const kindEnd = kindRaw.indexOf(0);
    const e = {
      index: i,
      state: STATES[u32(at)] || `invalid(${u32(at)})`,
      generation: u32(at + 4),
      nameHash: u32(at + 8),
      nameLength,
      unit: u32(at + 16),
      units: u32(at + 20),
      version: u32(at + 24),
      kind: kindRaw.subarray(0, kindEnd < 0 ? 16 : kindEnd).toString('ascii'),
      params: [0, 1, 2, 3].map((k) => u32(at + 48 + 4 * k)),
      nameBytes: bytes(at + 64, Math.min(nameLength, 64)),
    };
    e.name = e.nameBytes.toString('utf8');
    entries.push(e);
    if (e.state === 'free') continue;
    if (e.state !== 'live') problems.push(`entry ${i}: state ${e.state} at rest`);
    if (nameLength < 1 || nameLength > 64) problems.push(`entry ${i}: nameLength ${nameLength}`);
    else if (xxh32(e.nameBytes, 0) !== e.nameHash) problems.push(`entry ${i}: nameHash does not match the name`);
    if (e.units < 1 || e.unit < dataUnit || e.unit + e.units > endUnit) problems.push(`entry ${i}: block outside the data area`);
  }
  const live = entries.filter((e) => e.state === 'live');
  const names = new Set();
  for (const e of live) {
    if (names.has(e.nameBytes.toString('hex'))) problems.push(`name ${JSON.stringify(e.name)} is live twice`);
    names.add(e.nameBytes.toString('hex'));
  }

  // Space: below the tail every unit is in exactly one live block or one free block.
  const tailStart = dataUnit + header.tail;
  if (tailStart > endUnit) problems.push(`tail ${header.tail} beyond the data area`);
  const free = [];
  const seen = new Set();
  for (let u = header.freeHead; u !== 0; u = u32(u * UNIT + 8)) {
    if (seen.has(u) || free.length > maxEntries + 1) {
      problems.push('the free list does not end');
      break;
    }
    seen.add(u);
    const block = { unit: u, units: u32(u * UNIT + 4), tag: u32(u * UNIT) };
    if (block.tag !== FREE_TAG) problems.push(`free block at ${u}: tag ${block.tag.toString(16)}`);
    const prev = free[free.length - 1];
    if (prev && u <= prev.unit + prev.units) problems.push(`free block at ${u}: not after the previous one (or touching it)`);
    if (u + block.units >= tailStart) problems.push(`free block at ${u}: reaches the tail`);
    free.push(block);
  }
  const blocks = [...live.map((e) => ({ unit: e.unit, units: e.units, what: `entry ${e.index}` })),
    ...free.map((b) => ({ unit: b.unit, units: b.units, what: `free block at ${b.unit}` }))];
  blocks.sort((a, b) => a.unit - b.unit);
  let cursor = dataUnit;
  for (const b of blocks) {
    if (b.unit !== cursor) problems.push(`${b.what} starts at ${b.unit}, expected ${cursor} (${b.unit < cursor ? 'overlap' : 'gap'})`);
    cursor = Math.max(cursor, b.unit + b.units);
  }
  if (cursor !== tailStart) problems.push(`the blocks end at ${cursor}, the tail starts at ${tailStart}`);
  return { header, lock, entries, live, free, tailStart, problems };
}

// The store reference of a 'store' entry's block (§14, "The store kind"): { name } or { path }.
function storeReference(buffer, entry) {
  const dv = new DataView(buffer, entry.unit * UNIT);
  const target = dv.getUint32(0, true);
  const length = dv.getUint32(4, true);
  const text = Buffer.from(new Uint8Array(buffer, entry.unit * UNIT + 16, length)).toString('utf8');
  return target === 1 ? { name: text } : target === 2 ? { path: text } : null;
}

module.exports = { readRegistry, storeReference };
