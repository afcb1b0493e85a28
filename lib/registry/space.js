'use strict';
// The space of a registry's data area (docs/format.md §14, "Space"): units [dataUnit, endUnit).
// Below the tail (unit dataUnit + header.tail) lie the blocks of entries and the free blocks,
// linked in address order from header.freeHead, each starting with a RegistryFree record. From
// the tail to endUnit no block has been placed yet. Allocation is first fit (from the free list,
// then from the tail); freeing coalesces with both neighbours and gives a block that ends at the
// tail back to the tail. So after every operation no free block touches another or the tail, and
// there are at most (live blocks + 1) free blocks: a walk longer than that is damage.
//
// Everything runs under the table lock. A walk that meets a record that cannot be right (a bad
// tag, a block out of order or out of range, a cycle) throws SpaceDamaged, and so does an
// allocation whose space overlaps a live entry's block; the registry then rebuilds the list from
// the entry table (rebuild()) and tries once more. The list is only a cache of the gaps between
// the blocks of the entries, which is why a holder that dies halfway through an update never
// loses space: the repair pass rebuilds it.
const { C, W } = require('../layout/layout');
const { STATE } = require('./table');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const FW = W.REGISTRY_FREE;
const UNIT_WORDS = C.UNIT / WORD;

class SpaceDamaged extends Error {}

class Space {
  constructor(table) {
    this.table = table;
    this.buffer = table.buffer;
    this.dataUnit = table.dataUnit;
    this.endUnit = table.endUnit;
    // A walk meets at most one more free block than there can be blocks between them.
    this.maxSteps = table.maxEntries + 1;
  }

  // The RegistryFree record at `unit`, as words.
  #record(unit) {
    return new Uint32Array(this.buffer, unit * C.UNIT, UNIT_WORDS);
  }

  #writeRecord(unit, units, next) {
    const r = this.#record(unit);
    Atomics.store(r, FW.UNITS, units);
    Atomics.store(r, FW.NEXT, next);
    Atomics.store(r, FW.TAG, C.REGISTRY_FREE_TAG);
  }

  tailStart() {
    return this.dataUnit + this.table.header('TAIL');
  }

  // Sets the link that leads to a block: the `next` of free block `prev`, or the head.
  #link(prev, next) {
    if (prev === 0) this.table.setHeader('FREE_HEAD', next);
    else Atomics.store(this.#record(prev), FW.NEXT, next);
  }

  /**
   * Calls visit(unit, units, next) for each free block in order; stops early when visit returns
   * true (then returns that block's unit). Throws SpaceDamaged on a record that cannot be right.
   */
  walk(visit) {
    const tail = this.tailStart();
    if (tail < this.dataUnit || tail > this.endUnit) throw new SpaceDamaged('tail out of range');
    let low = this.dataUnit;
    let unit = this.table.header('FREE_HEAD');
    for (let steps = 0; unit !== 0; steps++) {
      if (steps >= this.maxSteps) throw new SpaceDamaged('free list too long (a cycle)');
      if (unit < low || unit >= tail) throw new SpaceDamaged(`free block at unit ${unit} out of order`);
      const r = this.#record(unit);
      const units = Atomics.load(r, FW.UNITS);
      const next = Atomics.load(r, FW.NEXT);
      if (Atomics.load(r, FW.TAG) !== C.REGISTRY_FREE_TAG || units === 0 || unit + units >= tail) {
        throw new SpaceDamaged(`bad free record at unit ${unit}`);
      }
      if (visit(unit, units, next)) return unit;
      // Coalesced: the next free block starts after at least one unit in use.
      low = unit + units + 1;
      unit = next;
    }
    return 0;
  }

  // Throws SpaceDamaged if units [unit, unit + units) overlap the block of a live entry. A walk
  // checks the free records and the tail against each other only: a tail moved down, or a free
  // record grown, by damage stays in order and in range and would hand out the bytes of a live
  // structure. Space is handed out only after this look at the entry table itself.
  #clearOfLive(unit, units) {
    const table = this.table;
    for (let slot = 0; slot < table.maxEntries; slot++) {
      if (table.state(slot) !== STATE.LIVE) continue;
      const at = table.get(slot, 'UNIT');
      if (at < unit + units && unit < at + table.get(slot, 'UNITS')) {
        throw new SpaceDamaged(`free space at unit ${unit} overlaps the block of entry ${slot}`);
      }
    }
  }

  /** Allocates `units` units: the first unit of the block, or 0 when no free space is that large. */
  alloc(units) {
    let prev = 0;
    const found = this.walk((unit, size, next) => {
      if (size < units) {
        prev = unit;
        return false;
      }
      // The whole free block, not only the part taken: the record of the rest is written in it.
      this.#clearOfLive(unit, size);
      if (size === units) {
        this.#link(prev, next);
      } else {
        this.#writeRecord(unit + units, size - units, next);
        this.#link(prev, unit + units);
      }
      return true;
    });
    if (found !== 0) return found;
    const tail = this.tailStart();
    if (this.endUnit - tail < units) return 0;
    this.#clearOfLive(tail, units);
    this.table.setHeader('TAIL', tail + units - this.dataUnit);
    return tail;
  }

  /** Frees the block of `units` units at `unit`, coalescing it with free neighbours and the tail. */
  free(unit, units) {
    let before = 0; // the free block before `prev`, whose link leads to it
    let prev = 0; // the last free block below `unit`
    let prevUnits = 0;
    let after = 0; // the first free block above `unit`
    let afterUnits = 0;
    let afterNext = 0;
    this.walk((u, size, next) => {
      if (u > unit) {
        after = u;
        afterUnits = size;
        afterNext = next;
        return true;
      }
      before = prev;
      prev = u;
      prevUnits = size;
      return false;
    });
    const tail = this.tailStart();
    if (unit < this.dataUnit || unit + units > tail || (prev !== 0 && prev + prevUnits > unit) ||
        (after !== 0 && unit + units > after)) {
      throw new SpaceDamaged(`block at unit ${unit} overlaps free space`);
    }
    let start = unit;
    let length = units;
    let link = prev;
    let next = after;
    if (prev !== 0 && prev + prevUnits === unit) {
      start = prev;
      length += prevUnits;
      link = before;
    }
    if (after !== 0 && unit + units === after) {
      length += afterUnits;
      next = afterNext;
    }
    if (start + length === tail) {
      // The block reaches the tail: nothing free lies above it, and the tail takes it back.
      this.#link(link, 0);
      this.table.setHeader('TAIL', start - this.dataUnit);
    } else {
      this.#writeRecord(start, length, next);
      this.#link(link, start);
    }
  }

  /**
   * Rebuilds the free list and the tail from the blocks in use, `blocks` = [{ unit, units }]
   * sorted by unit, inside the data area and not overlapping (the repair pass checks them).
   */
  rebuild(blocks) {
    let cursor = this.dataUnit;
    let last = 0;
    this.table.setHeader('FREE_HEAD', 0);
    for (const b of blocks) {
      if (b.unit > cursor) {
        this.#writeRecord(cursor, b.unit - cursor, 0);
        this.#link(last, cursor);
        last = cursor;
      }
      cursor = b.unit + b.units;
    }
    this.table.setHeader('TAIL', cursor - this.dataUnit);
  }

  /** { freeUnits, largestFreeUnits, freeBlocks, tailUnits } (free units include the tail). */
  usage() {
    let freeUnits = 0;
    let largest = 0;
    let freeBlocks = 0;
    this.walk((unit, units) => {
      freeUnits += units;
      largest = Math.max(largest, units);
      freeBlocks++;
      return false;
    });
    const tailUnits = this.endUnit - this.tailStart();
    return { freeUnits: freeUnits + tailUnits, largestFreeUnits: Math.max(largest, tailUnits), freeBlocks, tailUnits };
  }
}

module.exports = { Space, SpaceDamaged };
