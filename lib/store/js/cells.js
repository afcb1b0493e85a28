'use strict';
// The count cells of the pure-JS engine (docs/format.md §5, "Count cells"): the store's entry
// count, the count of entries that carry an expiry, each namespace's count and the grant of
// entries under maxEntries, kept in COUNT_CELLS
// cells so that writers counting in different cells share no word. A handle counts in cell
// (owner slot mod COUNT_CELLS): e.cell, the u32 index of its head. Every word is modular u32; a
// cell's unused grant is (limit - entries) | 0. Mirrors src/store/cells.cpp.
//
// Every change of a cell's words is made under a bucket lock (an insert, a delete, an eviction,
// a drop's clearing of a bucket), so a repair pass, which holds every bucket lock, sees them at
// rest. Between two of a party's steps the words may be off by what that party holds (one
// entry, or one chunk); a party killed there leaves them so until a repair pass recounts.
const { C, W, AT } = require('../../layout/layout');

const GRANTED = AT.HEADER.GRANTED_ENTRIES;
const LIMIT = W.COUNT_CELL.LIMIT;
const ENTRIES = W.COUNT_CELL.ENTRIES;
const EXPIRING = W.COUNT_CELL.EXPIRING;
// A cell's namespace counts follow its head: namespace i's at head + NS + i.
const NS = W.COUNT_CELL.WORDS;
const CELLS = C.COUNT_CELLS;
const CHUNK = C.COUNT_GRANT_CHUNK;

// The head of the cell of owner slot `slot`.
const cellOf = (e, slot) => e.cellsBase + (slot % CELLS) * e.cellWords;

// Counts one more entry in cell `c` if its grant has room: the add first, then the limit, so
// that two parties of the cell never both take its last entry. The limit is a plain load: the
// add before it is a full barrier, and every lowering of a limit is ordered before an add to
// the same cell's entries (lower()).
function reserve(u32, c) {
  const n = Atomics.add(u32, c + ENTRIES, 1) + 1;
  if (((u32[c + LIMIT] - n) | 0) >= 0) return true;
  Atomics.sub(u32, c + ENTRIES, 1);
  return false;
}

// Takes one entry of the grant for an insert: from this handle's cell, else from a chunk (or
// one entry) of Header.grantedEntries added to its limit, else from another cell's unused
// grant. Returns the head of the cell that counts the entry, or -1: the store holds maxEntries.
function take(e) {
  const u32 = e.u32;
  const c = e.cell;
  for (;;) {
    if (reserve(u32, c)) return c;
    if (!grant(e, c)) return steal(e);
  }
}

// Adds a chunk of Header.grantedEntries (or the one entry left) to cell c's limit; false when
// maxEntries are granted. An add that overshoots is taken back: another party may meanwhile
// find the store full, as it would a moment earlier.
function grant(e, c) {
  const u32 = e.u32;
  const max = e.maxEntries;
  if (Atomics.add(u32, GRANTED, CHUNK) + CHUNK <= max) {
    Atomics.add(u32, c + LIMIT, CHUNK);
    return true;
  }
  Atomics.sub(u32, GRANTED, CHUNK);
  if (Atomics.add(u32, GRANTED, 1) < max) {
    Atomics.add(u32, c + LIMIT, 1);
    return true;
  }
  Atomics.sub(u32, GRANTED, 1);
  return false;
}

// One entry of any cell's unused grant, counted in that cell (this handle's own too: a party of
// the cell may have raised its limit since). Returns its head, or -1.
function steal(e) {
  const u32 = e.u32;
  for (let k = 0; k < CELLS; k++) {
    const c = e.cellsBase + k * e.cellWords;
    if (((u32[c + LIMIT] - u32[c + ENTRIES]) | 0) > 0 && reserve(u32, c)) return c;
  }
  return -1;
}

// Gives back an entry take() counted in cell `c` that was never linked.
function untake(e, c) {
  Atomics.sub(e.u32, c + ENTRIES, 1);
}

// Counts a linked insert into namespace nsId (its entry counted by take()).
function inserted(e, nsId) {
  Atomics.add(e.u32, e.cell + NS + nsId, 1);
}

// Counts one more live entry with an expiry: before the store that links it (an insert, or a
// set that gives an entry without one an expiry), so that the sum is not below the entries the
// chains hold that may expire but while a party is between two steps.
function expiryLinked(e) {
  Atomics.add(e.u32, e.cell + EXPIRING, 1);
}

// Counts n fewer live entries with an expiry: after the store that unlinked them (or a set that
// replaced an entry with an expiry by one without).
function expiryUnlinked(e, n) {
  Atomics.sub(e.u32, e.cell + EXPIRING, n);
}

// Counts n entries of nsId unlinked by this handle, `expiring` of them with an expiry (an id out
// of range, of a damaged entry, has no count); a grant of more than two chunks unused goes back
// to the header, all but one chunk.
function removed(e, nsId, n, expiring) {
  const u32 = e.u32;
  const c = e.cell;
  if (nsId >= 1 && nsId <= e.maxNs) Atomics.sub(u32, c + NS + nsId, n);
  if (expiring !== 0) Atomics.sub(u32, c + EXPIRING, expiring);
  const left = Atomics.sub(u32, c + ENTRIES, n) - n;
  if (((u32[c + LIMIT] - left) | 0) > 2 * CHUNK) lower(e, c);
}

// Gives back cell c's unused grant beyond one chunk: it reserves that much in the cell first (as
// if inserting), lowers the limit, then lets the reservation go, so that a party of the cell
// that read the limit before the lowering still had room; then the header takes it back.
function lower(e, c) {
  const u32 = e.u32;
  const spare = ((u32[c + LIMIT] - Atomics.load(u32, c + ENTRIES)) | 0) - CHUNK;
  if (spare <= 0) return;
  const n = Atomics.add(u32, c + ENTRIES, spare) + spare;
  if (((u32[c + LIMIT] - n) | 0) >= 0) {
    Atomics.sub(u32, c + LIMIT, spare);
    Atomics.sub(u32, GRANTED, spare);
  }
  Atomics.sub(u32, c + ENTRIES, spare);
}

// The sum of word `w` (ENTRIES, EXPIRING, or NS + id) over the cells, modulo 2^32.
function sum(e, w) {
  const u32 = e.u32;
  let s = 0;
  for (let k = 0, c = e.cellsBase + w; k < CELLS; k++, c += e.cellWords) s = (s + Atomics.load(u32, c)) >>> 0;
  return s;
}

// A count as reported: a sum above maxEntries is a negative one (damage, or a party killed
// between two steps), reported as 0 until a repair pass recounts.
const asCount = (e, s) => (s > e.maxEntries ? 0 : s);

// The store's entry count, and namespace nsId's.
const entryCount = (e) => asCount(e, sum(e, ENTRIES));
// The live entries that carry an expiry (a hint: whether the eviction hand may find an expired
// one, format.md §8 "Eviction").
const expiringCount = (e) => asCount(e, sum(e, EXPIRING));
const nsCount = (e, nsId) => asCount(e, sum(e, NS + nsId));

// Sets namespace id's count to 0 in every cell: for a record that becomes free or is created
// (no entry of it exists, and no party counts one: every change is made under a bucket lock by
// a party that found the namespace live).
function clearNs(e, id) {
  for (let k = 0, c = e.cellsBase + NS + id; k < CELLS; k++, c += e.cellWords) Atomics.store(e.u32, c, 0);
}

// The repair pass (every lock held): the counts found in cell 0, granted exactly, the other
// cells empty. expiring: the entries found with an expiry; nsCounts[i]: what the chains hold of
// namespace i, for each live i in `live`.
function recount(e, entries, expiring, nsCounts, live) {
  const u32 = e.u32;
  for (let k = 0; k < CELLS; k++) {
    const c = e.cellsBase + k * e.cellWords;
    u32.fill(0, c, c + e.cellWords);
  }
  const c0 = e.cellsBase;
  u32[c0 + LIMIT] = entries;
  u32[c0 + ENTRIES] = entries;
  u32[c0 + EXPIRING] = expiring;
  for (const i of live) u32[c0 + NS + i] = nsCounts[i];
  Atomics.store(u32, GRANTED, entries);
}

// verify() (every lock held): what differs from the entries the chains hold (found.entries,
// found.expiring, and found.nsCounts[i] for each live i in `live`), each as a line for the
// report.
function check(e, found, live) {
  const u32 = e.u32;
  const out = [];
  let limits = 0;
  for (let k = 0; k < CELLS; k++) {
    const c = e.cellsBase + k * e.cellWords;
    limits = (limits + u32[c + LIMIT]) >>> 0;
    const unused = (u32[c + LIMIT] - u32[c + ENTRIES]) | 0;
    if (unused < 0) out.push(`count cell ${k}: ${-unused} entries above its limit`);
  }
  const granted = u32[GRANTED];
  if (granted !== limits) out.push(`header: grantedEntries ${granted}, the cells' limits ${limits}`);
  if (granted > e.maxEntries) out.push(`header: grantedEntries ${granted} above maxEntries ${e.maxEntries}`);
  const entries = sum(e, ENTRIES);
  if (entries !== found.entries) out.push(`count cells: ${entries} entries, found ${found.entries}`);
  const expiring = sum(e, EXPIRING);
  if (expiring !== found.expiring) {
    out.push(`count cells: ${expiring} entries with an expiry, found ${found.expiring}`);
  }
  for (const i of live) {
    const n = sum(e, NS + i);
    if (n !== found.nsCounts[i]) out.push(`namespace ${i}: count ${n}, found ${found.nsCounts[i]}`);
  }
  return out;
}

module.exports = {
  cellOf, take, untake, inserted, expiryLinked, expiryUnlinked, removed, entryCount, expiringCount, nsCount, clearNs,
  recount, check,
};
