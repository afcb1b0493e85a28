'use strict';
// The repair pass of a registry (docs/format.md §14, "Repair"). It runs under the table lock
// when the lock was taken over from a holder that is gone (the table lock, a Mutex, reports
// recovered: true), when an operation failed after it changed the table, and when a walk of the
// free list met damage. It is idempotent: a holder that dies during it leaves work that the next
// holder finishes the same way.
//
//  1. An entry CREATING or DELETING belongs to an operation that did not finish: its kind's
//     discard() releases what the structure holds outside its block (a store's segment), then
//     the entry is freed. A state that no protocol writes (damage) is freed without discard().
//  2. Each live entry is checked: a name of 1..64 bytes whose hash matches, a kind this process
//     knows or not (unknown kinds are kept), a block inside the data area that overlaps no other
//     live block, a name no other live entry has. An entry that fails is damage and is freed:
//     its structure is lost, nothing else is.
//  3. The free list and the tail are rebuilt from the live blocks.
//  4. header.repairs is incremented.
const { C } = require('../layout/layout');
const { STATE, nameHash } = require('./table');

function discardQuietly(kind, table, info) {
  if (!kind || typeof kind.discard !== 'function' || !table.blockInside(info)) return;
  try {
    kind.discard(table.block(info), info);
  } catch {
    // What the structure held outside its block stays (a store segment that cannot be unlinked):
    // a leak outside the registry, never a reason to keep the table inconsistent.
  }
}

function wellNamed(info) {
  return info.nameLength >= 1 && info.nameLength <= C.REGISTRY_MAX_NAME_BYTES &&
    nameHash(info.nameBytes) === info.nameHash;
}

/** Runs the repair pass over `table` and `space`, with `kinds` the kind table. */
function repair(table, space, kinds) {
  for (let slot = 0; slot < table.maxEntries; slot++) {
    const state = table.state(slot);
    if (state === STATE.FREE || state === STATE.LIVE) continue;
    if (state === STATE.CREATING || state === STATE.DELETING) {
      const info = table.read(slot);
      discardQuietly(Object.hasOwn(kinds, info.kind) ? kinds[info.kind] : null, table, info);
    }
    table.clear(slot);
  }
  const live = [];
  const names = new Set();
  for (let slot = 0; slot < table.maxEntries; slot++) {
    if (table.state(slot) !== STATE.LIVE) continue;
    const info = table.read(slot);
    const key = info.nameBytes.toString('latin1');
    if (!wellNamed(info) || !table.blockInside(info) || names.has(key)) {
      table.clear(slot);
      continue;
    }
    names.add(key);
    live.push(info);
  }
  live.sort((a, b) => a.unit - b.unit);
  const blocks = [];
  for (const info of live) {
    const last = blocks[blocks.length - 1];
    if (last && last.unit + last.units > info.unit) {
      table.clear(info.slot); // overlaps the block before it
      continue;
    }
    blocks.push({ unit: info.unit, units: info.units });
  }
  space.rebuild(blocks);
  table.bump('REPAIRS');
}

module.exports = { repair };
