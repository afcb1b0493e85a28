'use strict';
// The checksum of the control segment's header (docs/format.md §16, "The header checksum"). The
// header records what a recovery rebuilds the store from (its geometry) and the store's sync
// settings and id; a bit flipped there used to rebuild a store of another shape without a word.
// Every creator (a restore too) seals the header, and every opener checks it before it trusts
// any of it. Whether a header has a checksum is told by a seal word of its own, not by a
// checksum of 0, which a genuine checksum may be: a file written before the checksum existed has
// seal and checksum 0, and is read unchecked, as before.
const { C, S, W } = require('../layout/layout');
const { ShmError } = require('../base/errors');
const { crc32c } = require('./crc32c');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HB = S.PERSIST_HEADER;
const SEAL = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.HEADER_SEAL;
const CHECKSUM = C.PERSIST_HEADER_OFFSET / WORD + W.PERSIST_HEADER.HEADER_CHECKSUM;
const TODO = 'restore the store from a backup (Store.restore), or, while its segment still exists, copy its data out (npx shmstore dump) and create the store again';

const hex = (x) => `0x${x.toString(16).padStart(8, '0')}`;

// CRC32C of the header's bytes from `version` to `state` and from `state` to the checksum,
// leaving out the three words that are not the store's once-written facts: `magic` (checked on
// its own and stamped last, after the checksum), `state` (stored by every recovery) and the
// checksum itself. Everything else never changes after the stamp; `version` is covered too,
// because only a header of version 1, which predates the checksum and has none, is ever
// upgraded in place.
function headerChecksum(buffer) {
  const head = new Uint8Array(buffer, C.PERSIST_HEADER_OFFSET, HB.SIZE);
  const first = crc32c(head.subarray(HB.VERSION, HB.STATE));
  return crc32c(head.subarray(HB.STATE + WORD, HB.HEADER_CHECKSUM), first);
}

/**
 * Stores the checksum of the header in `u32` (the control segment's words, every header field
 * but the magic written), then the seal that says it is set. The caller stores the magic after.
 */
function sealHeader(u32) {
  Atomics.store(u32, CHECKSUM, headerChecksum(u32.buffer));
  Atomics.store(u32, SEAL, C.PERSIST_HEADER_SEAL);
}

/**
 * Checks the header checksum of the control segment in `u32` (the file `file`) when its seal says
 * it has one; throws ERR_PERSIST_CORRUPT for a mismatch, and for any other seal or a checksum
 * without its seal (damage too). Seal and checksum both 0: a file written before the checksum,
 * whose creator recorded none to compare with, passes.
 */
function checkHeaderSum(u32, file) {
  const seal = Atomics.load(u32, SEAL);
  const stored = Atomics.load(u32, CHECKSUM);
  if (seal === C.PERSIST_HEADER_SEAL) {
    const computed = headerChecksum(u32.buffer);
    if (stored === computed) return;
    throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} fails its header checksum (stored ${hex(stored)}, computed ${hex(computed)}): the store's recorded geometry, sync settings or id were damaged, and a recovery would rebuild a store of another shape; ${TODO}`);
  }
  if (seal !== 0 || stored !== 0) {
    throw new ShmError('ERR_PERSIST_CORRUPT', `persist: ${file} has a damaged header seal (${hex(seal)}, expected ${hex(C.PERSIST_HEADER_SEAL)}, or 0 with no checksum; the checksum reads ${hex(stored)}): its header cannot be trusted; ${TODO}`);
  }
}

module.exports = { headerChecksum, sealHeader, checkHeaderSum };
