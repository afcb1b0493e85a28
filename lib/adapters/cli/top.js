'use strict';
// `shmstore top <store>`: a live view of a store's activity from store.stats() samples taken
// every --interval ms. On a terminal the view is redrawn in place; otherwise (a pipe, a file) each
// sample is one plain line under a header, with no cursor control, or with --json one JSON line.
// Ends after --count samples (--once: one), or cleanly on SIGINT/SIGTERM and when the reader of
// stdout goes away (main.js), closing the store.
const { EXIT, CliError, write } = require('./output');
const { targetOf, describe, withStore } = require('./target');
const { sample, diff, header, line, screen } = require('./top-view');

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_SCREEN = '\x1b[2J';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_SCREEN_END = '\x1b[J';

/** An integer option in [min, max], or `fallback` when absent. */
function intFlag(flags, name, fallback, min, max) {
  if (flags[name] === undefined) return fallback;
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}, not '${flags[name]}'`);
  return n;
}

// Samples every intervalMs until `count` samples were shown or a signal came; resolves to the
// exit code. A failing sample (the store damaged meanwhile) rejects, after the same cleanup.
function loop(store, title, { intervalMs, count, json, tty }) {
  return new Promise((resolve, reject) => {
    let prev = sample(store);
    let shown = 0;
    let timer = null;
    let stopped = false;
    const finish = (err) => {
      // Once: a signal may come while a sample waits for stdout to drain.
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (tty) process.stdout.write(SHOW_CURSOR + '\n');
      if (err) reject(err);
      else resolve(EXIT.OK);
    };
    function onSignal() {
      finish(null);
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (tty) process.stdout.write(HIDE_CURSOR + CLEAR_SCREEN);
    else if (!json) process.stdout.write(header());
    const tick = async () => {
      if (stopped) return;
      try {
        const next = sample(store);
        const d = diff(prev, next);
        prev = next;
        if (json) await write(JSON.stringify(d) + '\n');
        else if (tty) await write(HOME + screen(title, d, intervalMs).split('\n').join(CLEAR_LINE_END + '\n') + CLEAR_LINE_END + '\n' + CLEAR_SCREEN_END);
        else await write(line(d));
      } catch (err) {
        finish(err);
        return;
      }
      shown += 1;
      if (shown >= count) finish(null);
      else if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    timer = setTimeout(tick, intervalMs);
  });
}

module.exports = {
  usage: 'top <store> [--path] [--interval <ms>] [--once | --count <n>] [--json]',
  summary: 'a live view of operations/s, hit ratio, memory, evictions and expirations',
  help: 'Samples store.stats() every --interval ms (default 1000, 10 to 3600000) and shows, for each\n' +
    'interval: reads/s and writes/s, the hit ratio of its lookups (hits / (hits + misses) of every\n' +
    'namespace; - when there were none), the entries and the bytes in use, evictions/s and\n' +
    'expirations/s, and on a terminal the same per namespace. The counts are those the store\'s\n' +
    'handles flushed (an open handle flushes its counts once a second, and when it calls stats() or closes).\n' +
    'On a terminal the view is redrawn in place until Ctrl-C. Otherwise each interval is one line\n' +
    'under a header (no cursor control), or with --json one JSON object a line. --once stops after\n' +
    'one interval, --count <n> after n.',
  run({ positional: [store], flags }) {
    const intervalMs = intFlag(flags, 'interval', 1000, 10, 3600000);
    if (flags.once && flags.count !== undefined) throw new CliError('--once and --count exclude each other');
    const count = flags.once ? 1 : intFlag(flags, 'count', Infinity, 1, 2 ** 31 - 1);
    const t = targetOf(store, flags);
    const tty = process.stdout.isTTY === true && !flags.json;
    // write: top reads only, but a copy of the bytes (without the addon) would never change.
    return withStore(t, { write: true }, (s) => loop(s, describe(t), { intervalMs, count, json: flags.json === true, tty }));
  },
};
