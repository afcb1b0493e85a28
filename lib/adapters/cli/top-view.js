'use strict';
// What `shmstore top` shows: the difference of two store.stats() samples as rates, and its
// three renderings: a JSON line, a plain line under a header (a pipe, a file), and a screen
// redrawn in place on a terminal.
const { table, percent } = require('./output');

const COUNTS = ['hits', 'misses', 'evictions', 'expirations'];

/** A sample: store.stats() and when it was taken (a monotonic clock, in ms). */
const sample = (store) => ({ stats: store.stats(), at: performance.now(), time: new Date() });

// A counter's growth; one that went down started again from 0: its growth is then what it
// counted since (never negative).
const grew = (now, before) => (now >= before ? now - before : now);

/** Sums the namespace counts of a stats() object, with the namespaces' own growth beside. */
function nsDeltas(now, before) {
  const total = { hits: 0, misses: 0, evictions: 0, expirations: 0 };
  // Made as stats() makes namespaceStats, own properties by name: a namespace name is any string,
  // and an assignment of '__proto__' would set the object's prototype instead of adding it.
  const namespaces = Object.fromEntries(Object.entries(now.namespaceStats).map(([name, n]) => {
    const prev = Object.hasOwn(before.namespaceStats, name) ? before.namespaceStats[name] : undefined;
    // The same namespace only (its id and generation): one dropped and created again under the
    // name meanwhile counts from 0, whether it has counted more or less since than before.
    const b = prev !== undefined && prev.id === n.id && prev.generation === n.generation ? prev : undefined;
    const d = { count: n.count, bytes: n.bytes };
    for (const c of COUNTS) {
      d[c] = b === undefined ? n[c] : grew(n[c], b[c]);
      total[c] += d[c];
    }
    return [name, d];
  }));
  return { total, namespaces };
}

const rate = (n, ms) => (ms > 0 ? Math.round((n * 10000) / ms) / 10 : 0);
const ratio = (hits, misses) => (hits + misses > 0 ? hits / (hits + misses) : null);

/**
 * What happened between samples `a` and `b`: the counts of the interval, their rates per second
 * (one decimal), the hit ratio of its lookups (null without any), and the fill at `b`.
 */
function diff(a, b) {
  const s = b.stats;
  // Rounded first: the rates printed are those of the interval printed.
  const ms = Math.round(Math.max(0, b.at - a.at) * 10) / 10;
  const { total, namespaces } = nsDeltas(s, a.stats);
  const interval = { reads: grew(s.reads, a.stats.reads), writes: grew(s.writes, a.stats.writes), ...total };
  const perSecond = {};
  for (const [k, n] of Object.entries(interval)) perSecond[k] = rate(n, ms);
  for (const d of Object.values(namespaces)) d.hitRatio = ratio(d.hits, d.misses);
  const totals = { reads: s.reads, writes: s.writes, hits: 0, misses: 0, evictions: 0, expirations: 0 };
  for (const n of Object.values(s.namespaceStats)) for (const c of COUNTS) totals[c] += n[c];
  return {
    time: b.time.toISOString(), ms, interval, perSecond,
    hitRatio: ratio(interval.hits, interval.misses), totals,
    entries: s.entries, maxEntries: s.maxEntries, bytesLive: s.bytesLive, bytesFree: s.bytesFree,
    fill: s.bytesLive + s.bytesFree > 0 ? s.bytesLive / (s.bytesLive + s.bytesFree) : 0,
    namespaces,
  };
}

const hit = (r) => (r === null ? '-' : `${(100 * r).toFixed(1)}%`);
const num = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

// The plain lines: fixed widths, so that lines printed one by one stay aligned under the header.
const COLUMNS = [['time', 8], ['reads/s', 10], ['writes/s', 10], ['hit%', 6], ['entries', 10], ['fill', 6], ['evict/s', 9], ['expire/s', 9]];
const pad = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i][1]) : c.padStart(COLUMNS[i][1]))).join(' ') + '\n';

const header = () => pad(COLUMNS.map(([h]) => h));

/** One plain line of a diff() (local time of day). */
function line(d) {
  const t = new Date(d.time).toTimeString().slice(0, 8);
  return pad([t, num(d.perSecond.reads), num(d.perSecond.writes), hit(d.hitRatio), String(d.entries),
    percent(d.fill, 1), num(d.perSecond.evictions), num(d.perSecond.expirations)]);
}

/** The screen of a terminal: the store, the rates, the fill, then one row per namespace. */
function screen(title, d, intervalMs) {
  const names = Object.keys(d.namespaces).sort();
  const rows = names.map((n) => {
    const x = d.namespaces[n];
    return [n, x.count, x.bytes, rate(x.hits, d.ms), rate(x.misses, d.ms), hit(x.hitRatio), rate(x.evictions, d.ms), rate(x.expirations, d.ms)];
  });
  return [
    `shmstore top: ${title}   ${new Date(d.time).toTimeString().slice(0, 8)}   every ${intervalMs} ms   (Ctrl-C quits)`,
    '',
    `operations/s  ${num(d.perSecond.reads)} reads  ${num(d.perSecond.writes)} writes    hit ratio ${hit(d.hitRatio)} (all time ${hit(ratio(d.totals.hits, d.totals.misses))})`,
    `memory        ${d.entries} of ${d.maxEntries} entries (${percent(d.entries, d.maxEntries)})  ${d.bytesLive} of ${d.bytesLive + d.bytesFree} bytes (${percent(d.fill, 1)})`,
    `per second    ${num(d.perSecond.evictions)} evictions  ${num(d.perSecond.expirations)} expirations`,
    '',
    table(['namespace', 'entries', 'bytes', 'hits/s', 'misses/s', 'hit%', 'evict/s', 'expire/s'], rows).trimEnd(),
  ].join('\n');
}

module.exports = { sample, diff, header, line, screen };
