'use strict';
// A progress line with an ETA on stderr, for long commands (dump, load, verify), drawn only when
// stderr is a terminal: a pipe or a file gets nothing, so the output of scripts is the same with
// or without it. The line is redrawn in place (carriage return) at most every REDRAW_MS, and
// erased at the end, leaving the terminal as it was.

const REDRAW_MS = 100;
const WIDTH = 24;
const ERASE = '\r\x1b[K';

/** m:ss or h:mm:ss. */
function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

class Progress {
  /**
   * `label` names the work; `total` how much there is (units of `unit`), or null when unknown (the
   * count, if there is a unit, and the elapsed time are shown then: no bar and no ETA). `enabled` defaults to whether
   * stderr is a terminal.
   */
  constructor(label, total, { unit = '', enabled = process.stderr.isTTY === true, stream = process.stderr } = {}) {
    this.label = label;
    this.total = total;
    this.unit = unit;
    this.enabled = enabled;
    this.stream = stream;
    this.done = 0;
    this.start = performance.now();
    this.drawn = -Infinity;
    if (enabled) this.draw();
  }

  /** Counts `n` more units done; redraws when the last drawing is REDRAW_MS old. */
  add(n = 1) {
    this.done += n;
    if (this.enabled && performance.now() - this.drawn >= REDRAW_MS) this.draw();
  }

  /** The line for the current state. */
  text(now = performance.now()) {
    const elapsed = now - this.start;
    const unit = this.unit ? ` ${this.unit}` : '';
    if (this.total === null) return this.unit ? `${this.label}: ${this.done}${unit}, ${clock(elapsed)}` : `${this.label}: ${clock(elapsed)}`;
    const f = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(f * WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
    // The ETA assumes the rest goes at the average rate so far.
    const eta = this.done > 0 ? clock((elapsed * (this.total - this.done)) / this.done) : '?';
    return `${this.label} [${bar}] ${(100 * f).toFixed(0).padStart(3)}% ${this.done}/${this.total}${unit} ETA ${eta}`;
  }

  draw() {
    this.drawn = performance.now();
    this.stream.write(ERASE + this.text(this.drawn));
  }

  /** Draws the final state, then erases the line. */
  end() {
    if (!this.enabled) return;
    this.draw();
    this.stream.write(ERASE);
    this.enabled = false;
  }
}

module.exports = { Progress, clock };
