'use strict';
// The heartbeat of a long pass (docs/format.md §9, "Heartbeat of long passes"): a holder that
// keeps a lock for long shows it is alive by advancing the word's version while keeping it held.
// The JS counterpart of src/ownership/heartbeat.h.
const { heartbeatWord, isHeld, ownerOf } = require('./lockword');

// Units of work between two beats.
const UNITS_PER_BEAT = 4096;

class LockHeartbeat {
  // `idx` is the word index in `u32` of the lock word that shows the heartbeat.
  constructor(u32, idx) {
    this.u32 = u32;
    this.idx = idx;
    this.slot = 0; // the owner slot whose holding of the word beats
    this.units = 0;
  }

  // One unit of work: a counter, and a beat every UNITS_PER_BEAT units.
  work() {
    if (++this.units >= UNITS_PER_BEAT) this.beat();
  }

  // Advances the version now (and restarts the count), if the word is held by this.slot. A word
  // held by someone else was taken over (this holder was presumed gone): it is left alone.
  beat() {
    this.units = 0;
    const w = Atomics.load(this.u32, this.idx);
    if (!isHeld(w) || ownerOf(w) !== this.slot || this.slot === 0) return;
    Atomics.compareExchange(this.u32, this.idx, w, heartbeatWord(w));
  }
}

module.exports = { LockHeartbeat, UNITS_PER_BEAT };
