'use strict';
// What the commands print: aligned tables and key/value lists for people, JSON for scripts, the
// JSON-lines record of one entry (dump, load, get --json), and the error that ends a command with
// an exit code.

/** Exit codes of the CLI (docs/api.md, CLI). */
const EXIT = { OK: 0, ERROR: 1, DAMAGED: 2 };

/** An expected failure: printed as one line on stderr, then the process exits with `exitCode`. */
// A failure the CLI itself reports: `code` is the package's stable code the line ends with
// (ERR_INVALID_ARG for arguments and input the command refuses, ERR_NOT_FOUND for a key that is
// not there).
class CliError extends Error {
  constructor(message, exitCode = EXIT.ERROR, code = 'ERR_INVALID_ARG') {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

// What must be closed when the process ends early (a reader that went away): the open stores.
const closers = new Set();

/** Runs and forgets every closer (each once; a failing one does not stop the others). */
function closeAll() {
  for (const close of closers) {
    closers.delete(close);
    try {
      close();
    } catch {
      // The process is ending: what could not be closed is released with it.
    }
  }
}

/** Writes `text` to stdout, resolving once the stream can take more (backpressure). */
function write(text) {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

function printJson(value) {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

const cell = (v) => (v === null || v === undefined ? '' : String(v));

/** Formats rows (arrays) under `headers` as aligned columns; numbers are right-aligned. */
function table(headers, rows) {
  const all = [headers, ...rows].map((r) => r.map(cell));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return all.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join('  ').trimEnd()).join('\n') + '\n';
}

/** Formats [label, value] pairs as two aligned columns. */
function fields(pairs) {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n') + '\n';
}

// How many namespaces the text of inspect and stats lists without --all: a store may hold 65535.
const NAMESPACE_ROWS = 20;

/**
 * The names of the namespaces of `stats` (store.stats()) a text listing shows: every one with
 * `all`, else the NAMESPACE_ROWS largest by bytes (then entries, then name), and a line that says
 * what was left out (empty when nothing was).
 */
function shownNamespaces(stats, all) {
  const names = Object.keys(stats.namespaceCounts);
  if (all || names.length <= NAMESPACE_ROWS) return { names, note: '' };
  const size = (n) => [stats.namespaceStats[n]?.bytes ?? 0, stats.namespaceCounts[n]];
  const top = names.sort((x, y) => {
    const [bx, cx] = size(x);
    const [by, cy] = size(y);
    return by - bx || cy - cx || (x < y ? -1 : x > y ? 1 : 0);
  }).slice(0, NAMESPACE_ROWS);
  return { names: top, note: `(the ${NAMESPACE_ROWS} largest of ${names.length} namespaces by bytes; --all lists every one)\n` };
}

/** A percentage with one decimal. */
const percent = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0.0%');

/** The JSON record of one entry: strings and JSON values as `value`, bytes as base64 `bytes`. */
function entryRecord(ns, key, value) {
  if (Buffer.isBuffer(value)) return { ns, key, bytes: value.toString('base64') };
  return { ns, key, value };
}

/** The value a record of entryRecord() stands for. */
function recordValue(record) {
  if (typeof record.bytes === 'string') return Buffer.from(record.bytes, 'base64');
  return record.value;
}

/** A stored value as a person reads it: a string as is, bytes in hex, other values as JSON. */
function humanValue(value) {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes> ${value.toString('hex')}`;
  return JSON.stringify(value);
}

module.exports = { EXIT, CliError, closers, closeAll, write, printJson, table, fields, percent, shownNamespaces, entryRecord,
  recordValue, humanValue };
