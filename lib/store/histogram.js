'use strict';
// A log-linear histogram of non-negative integers (nanoseconds here), in the JS heap of one
// handle. Values below 2·SUB are counted exactly; above, each power-of-two range [2^m, 2^(m+1))
// is cut into SUB equal buckets, so a bucket is at most 1/SUB of its lower bound wide. A quantile
// is reported as the middle of its bucket: its relative error is at most 1/(2·SUB) = 1/256
// (0.4 %) against the recorded value. min, max, count and sum are kept exactly.
//
// The plain data form (`toJSON`) lists only the non-empty buckets as [index, count] pairs; two
// histograms merge by adding their counts bucket by bucket, which gives exactly the histogram of
// the union of their values (the buckets do not depend on what was recorded).

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128 buckets per power of two
// Values are clamped to MAX (2^40 ns is about 18 minutes).
const MAX_BITS = 40;
const MAX = 2 ** MAX_BITS - 1;
const BUCKETS = 2 * SUB + (MAX_BITS - SUB_BITS - 1) * SUB;
const TWO32 = 2 ** 32;
const TWO31 = 2 ** 31;

// Index of the most significant set bit of an integer 1 <= v < 2^53.
function msb(v) {
  return v < TWO32 ? 31 - Math.clz32(v) : 63 - Math.clz32(Math.floor(v / TWO32));
}

/** The bucket of an integer value 0 <= v <= MAX. */
function indexOf(v) {
  if (v < 2 * SUB) return v;
  // shift >= 1 so that v / 2^shift is in [SUB, 2·SUB): bucket SUB + shift·SUB + (v / 2^shift - SUB).
  if (v < TWO31) {
    const shift = 24 - Math.clz32(v); // msb(v) - SUB_BITS
    return (shift << SUB_BITS) + (v >>> shift);
  }
  const shift = msb(v) - SUB_BITS;
  return shift * SUB + Math.floor(v / 2 ** shift);
}

/** [low, high) of bucket `i`. */
function rangeOf(i) {
  if (i < 2 * SUB) return [i, i + 1];
  const shift = Math.floor((i - SUB) / SUB);
  const width = 2 ** shift;
  const low = (SUB + ((i - SUB) % SUB)) * width;
  return [low, low + width];
}

/** The value reported for bucket `i`: exact below 2·SUB, else the middle of the bucket. */
function valueOf(i) {
  const [low, high] = rangeOf(i);
  return high - low === 1 ? low : (low + high) / 2;
}

class Histogram {
  constructor() {
    this.counts = new Float64Array(BUCKETS); // exact integers up to 2^53
    this.reset();
  }

  reset() {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /** Records one value (a non-negative number; rounded to an integer, clamped to MAX). */
  record(x) {
    // The common case (0 <= x < 2^31 - 1, about 2 s) rounds with integer arithmetic.
    const v = x >= 0 && x < TWO31 - 1 ? (x + 0.5) | 0 : x > MAX ? MAX : x > 0 ? Math.round(x) : 0;
    this.counts[indexOf(v)]++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** The plain data form: { count, sum, min, max, buckets: [[index, count], ...] }. */
  toJSON() {
    const buckets = [];
    const c = this.counts;
    for (let i = 0; i < c.length; i++) if (c[i] !== 0) buckets.push([i, c[i]]);
    return { count: this.count, sum: this.sum, min: this.count ? this.min : 0, max: this.max, buckets };
  }

  /** Adds a plain data form (validated by the caller) to this histogram. */
  add(data) {
    if (data.count === 0) return;
    for (const [i, n] of data.buckets) this.counts[i] += n;
    this.count += data.count;
    this.sum += data.sum;
    if (data.min < this.min) this.min = data.min;
    if (data.max > this.max) this.max = data.max;
  }

  /**
   * The value below or at which a fraction q (0..1) of the recorded values lie: the value of the
   * bucket holding the ceil(q·count)-th smallest value, kept within [min, max]; the exact min
   * and max for the first and last rank. 0 when empty.
   */
  quantile(q) {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    // The smallest and the largest values are known exactly.
    if (rank === 1) return this.min;
    if (rank >= this.count) return this.max;
    const c = this.counts;
    let seen = 0;
    for (let i = 0; i < c.length; i++) {
      seen += c[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, valueOf(i)));
    }
    return this.max;
  }
}

module.exports = { Histogram, BUCKETS, SUB_BITS, MAX, indexOf, rangeOf };
