'use strict';
// Processes as seen through /proc (docs/format.md §6): liveness, start times, the boot id. The
// same rules as src/base/process.cpp. Reading /proc is slow: it belongs on slow paths only
// (claiming an owner slot, checking a stuck lock, a repair pass).
//
// With the addon loaded, readProcessStat(), ownStartTime() and bootId() take what the addon
// reads (processIdentity, src/ownership/owners.h ReadProcessIdentity) instead of reading /proc
// here: a permission model of the host (Node's --permission) can deny this code /proc but not the
// addon's, and the identities and verdicts of JS handles must then be those of the native
// handles of the same process (format.md §6, "Identity unknown"): a JS owner record without the
// start time and boot id its native one holds was judged by its pid alone, taken for live
// after the pid was reused, and a JS judge took a reused pid's records for live.
const fs = require('fs');
const native = require('./native');

// The addon's reader of processes, or null: no addon, or a build from before processIdentity.
function addonReader() {
  const addon = native.addon;
  return addon && typeof addon.processIdentity === 'function' ? addon : null;
}

// Field 22 of /proc/<pid>/stat (starttime, clock ticks since boot) as a BigInt, counted after the
// last ')' (the command name may contain spaces and parentheses), 0n when the text is malformed;
// and whether the state (field 3) is Z or X (a zombie, or dead).
function parseStat(text) {
  const paren = text.lastIndexOf(')');
  if (paren < 0 || text.charAt(paren + 1) !== ' ') return { zombie: false, startTime: 0n };
  const fields = text.slice(paren + 2).split(' ');
  const state = fields[0];
  const zombie = state === 'Z' || state === 'X';
  const start = fields.length > 19 ? fields[19].trim() : '';
  return { zombie, startTime: /^\d{1,20}$/.test(start) ? BigInt(start) : 0n };
}

// The first 16 hexadecimal digits of a boot_id text (dashes skipped), read as a big-endian
// hexadecimal number, as a BigInt; 0n when there are not 16 digits before anything else.
function parseBootId(text) {
  const digits = text.replace(/-/g, '').slice(0, 16);
  return /^[0-9a-fA-F]{16}$/.test(digits) ? BigInt(`0x${digits}`) : 0n;
}

function exists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

// { gone, startTime }: gone when the process does not exist or is a zombie (it holds nothing and
// never runs again); startTime 0n when unknown (it exists but /proc cannot be read).
function readProcessStat(pid) {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) return { gone: true, startTime: 0n };
  const reader = addonReader();
  if (reader !== null) {
    const { gone, startTime } = reader.processIdentity(pid);
    return { gone, startTime };
  }
  if (!exists(pid)) return { gone: true, startTime: 0n };
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    // No /proc, or the process ended since kill() answered.
    return { gone: !exists(pid), startTime: 0n };
  }
  const { zombie, startTime } = parseStat(text);
  return { gone: zombie, startTime };
}

function processGone(pid) {
  return readProcessStat(pid).gone;
}

let ownStart = 0n;
// This process's start time, 0n when unknown. A value read is kept; a read that failed (no
// /proc, a permission model that denies it, no file descriptor left) is tried again by the next
// call: a record written meanwhile says its start time is unknown (format.md §6), which is safe
// whatever later calls read.
function ownStartTime() {
  if (ownStart === 0n) ownStart = readProcessStat(process.pid).startTime;
  return ownStart;
}

let boot = 0n;
// This boot's id, 0n when unknown; a failed read is tried again by the next call, as for
// ownStartTime().
function bootId() {
  if (boot === 0n) {
    const reader = addonReader();
    if (reader !== null) {
      boot = reader.processIdentity(process.pid).bootId;
      return boot;
    }
    try {
      boot = parseBootId(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1'));
    } catch {
      boot = 0n;
    }
  }
  return boot;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
// Blocks the calling thread for `ms` milliseconds (fractions allowed).
function sleepMs(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

module.exports = {
  parseStat, parseBootId, readProcessStat, processGone, ownStartTime, bootId, sleepMs,
};
