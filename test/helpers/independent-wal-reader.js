'use strict';
// An independent reader of shmstore's write-ahead log, snapshots and control header, written only
// from docs/format.md §16 (and RFC 3720's definition of CRC32C). It returns the valid prefix of a
// log file, or a snapshot's records, as plain records, and the state that replaying them gives, so
// that tests can compare the store's engines with the document rather than with themselves.
// layout-ok-file: the offsets are the document's numbers on purpose, never lib/layout.js.
const fs = require('fs');

function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const TYPES = { 1: 'set', 2: 'delete', 3: 'clear', 4: 'nsCreate', 5: 'nsDrop', 6: 'nsSettings' };
const MAX_VALUE = 67108864;
const MAX_LENGTH = 32 + 255 + 1024 + MAX_VALUE;

/** Reads the log file `file`: { startLsn, records, end, fileBytes }; throws on a bad header. */
function readLog(file) {
  const b = fs.readFileSync(file);
  if (b.length < 64) throw new Error('file shorter than its header');
  if (b.readUInt32LE(0) !== 0x4c415753) throw new Error('bad magic');
  if (b.readUInt32LE(60) !== crc32c(b.subarray(0, 60))) throw new Error('bad header checksum');
  if (b.readUInt32LE(4) !== 1 && b.readUInt32LE(4) !== 2) throw new Error('bad version');
  const startLsn = Number(b.readBigUInt64LE(8));
  const records = [];
  let x = startLsn;
  for (;;) {
    const at = 64 + (x - startLsn);
    if (b.length - at < 32) break;
    const length = b.readUInt32LE(at + 4);
    if (length < 32 || length > MAX_LENGTH) break;
    const size = Math.ceil(length / 8) * 8;
    if (b.length - at < size) break;
    if (b.readUInt32LE(at) !== crc32c(b.subarray(at + 4, at + length))) break;
    if (Number(b.readBigUInt64LE(at + 8)) !== x) break;
    const type = b[at + 24];
    const nsLength = b[at + 26];
    const keyLength = b.readUInt16LE(at + 28);
    const valueLength = length - 32 - nsLength - keyLength;
    if (!TYPES[type] || nsLength > 255 || keyLength > 1024 || valueLength < 0 || valueLength > MAX_VALUE) break;
    if (type === 6 && (nsLength < 1 || keyLength !== 0 || valueLength !== 0 || b[at + 25] > 2)) break;
    const p = at + 32;
    records.push({
      lsn: x,
      size,
      length,
      type: TYPES[type],
      encoding: b[at + 25],
      expiresAt: Number(b.readBigUInt64LE(at + 16)),
      ns: b.toString('utf8', p, p + nsLength),
      key: b.toString('utf8', p + nsLength, p + nsLength + keyLength),
      value: b.subarray(p + nsLength + keyLength, p + length - 32),
    });
    x += size;
  }
  return { startLsn, records, end: x, fileBytes: b.length };
}

/**
 * Reads a snapshot file (§16, "Snapshots"): { startLsn, records } with every check of the
 * document; throws an Error naming the first that fails.
 */
function readSnapshot(file) {
  const b = fs.readFileSync(file);
  if (b.length < 128) throw new Error('shorter than header and trailer');
  if (b.readUInt32LE(0) !== 0x504e5353) throw new Error('bad magic');
  if (b.readUInt32LE(60) !== crc32c(b.subarray(0, 60))) throw new Error('bad header checksum');
  if (b.readUInt32LE(4) !== 1 && b.readUInt32LE(4) !== 2) throw new Error('bad version');
  const t = b.length - 64;
  if (b.readUInt32LE(t) !== 0x444e4553) throw new Error('bad trailer magic');
  if (b.readUInt32LE(t + 60) !== crc32c(b.subarray(t, t + 60))) throw new Error('bad trailer checksum');
  const bodyBytes = Number(b.readBigUInt64LE(t + 16));
  if (64 + bodyBytes + 64 !== b.length) throw new Error('bad size');
  const body = b.subarray(64, 64 + bodyBytes);
  if (crc32c(body) !== b.readUInt32LE(t + 24)) throw new Error('bad body checksum');
  const records = [];
  let x = 0;
  while (x < bodyBytes) {
    const length = body.readUInt32LE(x + 4);
    const size = Math.ceil(length / 8) * 8;
    if (length < 32 || x + size > bodyBytes) throw new Error(`bad record at ${x}`);
    if (body.readUInt32LE(x) !== crc32c(body.subarray(x + 4, x + length))) throw new Error(`bad record checksum at ${x}`);
    const type = body[x + 24];
    if (Number(body.readBigUInt64LE(x + 8)) !== x || (type !== 1 && type !== 6)) throw new Error(`bad record at ${x}`);
    const nsLength = body[x + 26];
    const keyLength = body.readUInt16LE(x + 28);
    if (type === 6 && (nsLength < 1 || keyLength !== 0 || length !== 32 + nsLength || body[x + 25] > 2)) throw new Error(`bad settings record at ${x}`);
    const p = x + 32;
    records.push({
      type: TYPES[type],
      encoding: body[x + 25],
      expiresAt: Number(body.readBigUInt64LE(x + 16)),
      ns: body.toString('utf8', p, p + nsLength),
      key: body.toString('utf8', p + nsLength, p + nsLength + keyLength),
      value: body.subarray(p + nsLength + keyLength, x + length),
    });
    x += size;
  }
  if (records.length !== Number(b.readBigUInt64LE(t + 8))) throw new Error('bad record count');
  return { startLsn: Number(b.readBigUInt64LE(8)), records };
}

/**
 * The namespace settings records replay to: Map<ns, { policy, ttlMs }> of the namespaces whose
 * last settings record is not undone by a later drop (§16: settings are absolute).
 */
function replaySettings(records) {
  const settings = new Map();
  for (const r of records) {
    if (r.type === 'nsSettings') settings.set(r.ns, { policy: r.encoding, ttlMs: r.expiresAt });
    else if (r.type === 'nsDrop') settings.delete(r.ns);
  }
  return settings;
}

/** Replays records into Map<ns, Map<key, decoded value>> as §16 says (no clock: expiry ignored). */
function replay(records) {
  const state = new Map();
  const nsMap = (ns) => {
    if (!state.has(ns)) state.set(ns, new Map());
    return state.get(ns);
  };
  for (const r of records) {
    if (r.type === 'set') {
      const text = r.value.toString('utf8');
      nsMap(r.ns).set(r.key, r.encoding === 0 ? Buffer.from(r.value) : r.encoding === 2 ? JSON.parse(text) : text);
    } else if (r.type === 'delete') {
      nsMap(r.ns).delete(r.key);
    } else if (r.type === 'clear' || r.type === 'nsDrop') {
      nsMap(r.ns).clear();
    } else {
      nsMap(r.ns);
    }
  }
  return state;
}

/**
 * Reads the header of the control file `file` (the section "Control segment"): its fields, the
 * seal at 212 and whether the checksum at 60 holds: `checked` is true when the seal is 'SEAL' and
 * the checksum is the CRC32C of bytes 4-31 then 36-59, null when seal and checksum are both 0 (a
 * file written before the checksum), false otherwise. `storePolicy` ("The store's policy", the
 * word at 224): 1 (none) or 2 (clock) when the word is 0x4F500000 plus it, null when it is 0 (a
 * file written before the field), 'damaged' otherwise. `segmentMode` ("The segment's mode", the
 * word at 228): the permission bits when bits 0-8 hold them, bits 16-24 their complement and the
 * rest 0x52005000; null when the word is 0, 'damaged' otherwise.
 */
function policyWord(word) {
  if (word === 0) return null;
  const policy = word - 0x4f500000;
  return policy === 1 || policy === 2 ? policy : 'damaged';
}

function segmentModeWord(word) {
  if (word === 0) return null;
  const mode = word % 512;
  const complement = Math.floor(word / 65536) % 512;
  const rest = word - mode - complement * 65536;
  return rest === 0x52005000 && mode + complement === 511 ? mode : 'damaged';
}

function readControl(file) {
  const b = fs.readFileSync(file);
  if (b.length !== 147712) throw new Error(`a control file is 147712 bytes, not ${b.length}`);
  const seal = b.readUInt32LE(192 + 20);
  const checksum = b.readUInt32LE(60);
  let checked = false;
  if (seal === 0x4c414553) checked = checksum === crc32c(Buffer.concat([b.subarray(4, 32), b.subarray(36, 60)]));
  else if (seal === 0 && checksum === 0) checked = null;
  return {
    magic: b.readUInt32LE(0),
    version: b.readUInt32LE(4),
    totalSize: Number(b.readBigUInt64LE(8)),
    bucketCount: b.readUInt32LE(16),
    maxEntries: b.readUInt32LE(20),
    syncMode: b.readUInt32LE(24),
    intervalMs: b.readUInt32LE(28),
    state: b.readUInt32LE(32),
    checkpointMs: b.readUInt32LE(36),
    checkpointBytes: Number(b.readBigUInt64LE(40)),
    storeId: b.readBigUInt64LE(48).toString(16).padStart(16, '0'),
    maxNamespaces: b.readUInt32LE(56) || 255,
    storePolicy: policyWord(b.readUInt32LE(192 + 32)),
    segmentMode: segmentModeWord(b.readUInt32LE(192 + 36)),
    checksum,
    seal,
    checked,
  };
}

module.exports = { readLog, readSnapshot, readControl, replay, replaySettings, crc32c };
