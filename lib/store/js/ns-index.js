'use strict';
// The namespace name index of the pure-JS engine (docs/format.md §5, "The name index"): an
// open-addressing table of u32 slots (0 empty, else a namespace id), probed linearly from
// XXH32(name) & (slots - 1). Written only under NsState.lock (or by a repair pass, every lock
// held), probed by readers without a lock. Mirrors FindNamespace, IndexInsert, IndexRemove and
// RebuildIndex in src/store/namespaces.cpp.
const { C, W, AT } = require('../../layout/layout');
const { xxh32 } = require('../../base/xxhash');
const { resolved } = require('./counts');

const NS = W.NAMESPACE;
const NS_LOCK = AT.NS_STATE.LOCK;
const ID_MASK = C.NS_INDEX_ID_MASK;
const TAG_MASK = C.NS_INDEX_TAG_MASK;
// A slot: the id in the low bits, the high bits of the name's hash as a tag.
const slotOf = (id, hash) => (id | (hash & TAG_MASK)) >>> 0;

// The u32 index of field `field` of namespace record `id`, and the byte offset of its name.
const nsWord = (e, id, field) => e.nsBase + id * NS.WORDS + field;
const nameOffset = (e, id) => e.namesOff + id * e.nameSize;
const nameHash = (bytes, start, length) => xxh32(bytes, start, length, C.NS_HASH_SEED);

// Whether record `id` holds the name e.kb[0..kl) with hash `hash`.
function nameMatches(e, id, kl, hash) {
  const { u8, u32, kb } = e;
  if (u32[nsWord(e, id, NS.NAME_HASH)] !== hash || u32[nsWord(e, id, NS.NAME_LENGTH)] !== kl) return false;
  const off = nameOffset(e, id);
  let j = 0;
  while (j < kl && u8[off + j] === kb[j]) j++;
  return j === kl;
}

// The live namespace named e.kb[0..kl), its generation recorded in e.nsGen (and its counts made
// that life's: counts.resolved); 0 if none. `out.sure` says whether a miss is real: NsState.lock's
// word (whose version moves on every acquisition and release) was free and unchanged around the
// probe, so no creation or drop rearranged the index.
function find(e, kl, hash, out) {
  const { u32 } = e;
  const before = Atomics.load(u32, NS_LOCK);
  const mask = e.indexMask;
  for (let probes = 0, i = hash & mask; probes <= mask; probes++, i = (i + 1) & mask) {
    const slot = Atomics.load(u32, e.indexBase + i);
    if (slot === 0) break;
    // Another name's tag: passed over without reading its record.
    if (((slot ^ hash) & TAG_MASK) !== 0) continue;
    const id = slot & ID_MASK;
    if (id === 0 || id > e.maxNs) continue; // damage: a repair pass rebuilds the index
    for (;;) {
      const gen = Atomics.load(u32, nsWord(e, id, NS.GENERATION));
      if (Atomics.load(u32, nsWord(e, id, NS.STATE)) !== C.NS_STATE_LIVE || !nameMatches(e, id, kl, hash)) break;
      // Equal, the name and the generation belong to one life of the record (a drop changes the
      // generation before anything else); else look at the record again.
      if (Atomics.load(u32, nsWord(e, id, NS.GENERATION)) !== gen) continue;
      resolved(e, id, gen);
      out.sure = true;
      return id;
    }
  }
  out.sure = (before & 1) === 0 && Atomics.load(u32, NS_LOCK) === before;
  return 0;
}

function insert(e, id, hash) {
  const mask = e.indexMask;
  // At most maxNamespaces ids in at least twice as many slots: an empty slot exists.
  for (let probes = 0, i = hash & mask; probes <= mask; probes++, i = (i + 1) & mask) {
    if (Atomics.load(e.u32, e.indexBase + i) === 0) {
      Atomics.store(e.u32, e.indexBase + i, slotOf(id, hash));
      return;
    }
  }
}

// Whether slot `home` lies cyclically in (hole, at]: an entry there may not move back to `hole`.
const homeBetween = (hole, home, at) => (hole <= at ? hole < home && home <= at : hole < home || home <= at);

function remove(e, id) {
  const { u32 } = e;
  const mask = e.indexMask;
  let hole = u32[nsWord(e, id, NS.NAME_HASH)] & mask;
  let probes = 0;
  for (; probes <= mask; probes++, hole = (hole + 1) & mask) {
    const at = Atomics.load(u32, e.indexBase + hole);
    if ((at & ID_MASK) === id) break;
    if (at === 0) return; // not indexed (damage a repair pass rebuilt around)
  }
  if (probes > mask) return;
  // Backward shift: each later entry of the run that may live at the hole moves into it (stored
  // at its new slot before its old one is reused), so the index never holds a tombstone.
  for (let at = (hole + 1) & mask; at !== hole; at = (at + 1) & mask) {
    const other = Atomics.load(u32, e.indexBase + at);
    if (other === 0) break;
    const otherId = other & ID_MASK;
    const home = (otherId <= e.maxNs ? u32[nsWord(e, otherId, NS.NAME_HASH)] : at) & mask;
    if (homeBetween(hole, home, at)) continue;
    Atomics.store(u32, e.indexBase + hole, other);
    hole = at;
  }
  Atomics.store(u32, e.indexBase + hole, 0);
}

// Every live record, and nothing else, in the index (a repair pass, every lock held).
function rebuild(e) {
  for (let i = 0; i <= e.indexMask; i++) Atomics.store(e.u32, e.indexBase + i, 0);
  for (let id = 1; id <= e.maxNs; id++) {
    if (Atomics.load(e.u32, nsWord(e, id, NS.STATE)) === C.NS_STATE_LIVE) insert(e, id, e.u32[nsWord(e, id, NS.NAME_HASH)]);
  }
}

module.exports = { nsWord, nameOffset, nameHash, slotOf, find, insert, remove, rebuild };
