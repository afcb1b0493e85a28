'use strict';
// A <store> argument and the store it names. The rule: a <store> that contains a `/`
// (`/var/lib/app.shm`, `./cache.shm`) or is given with --path is a file path; anything else is
// the name of a POSIX shared memory object (/dev/shm/<name>).
//
// Without the native addon a store's segment cannot be mapped: the read-only commands then read a
// copy of its bytes and use the pure-JS engine; the commands that write refuse with the reason.
const fs = require('fs');
const path = require('path');
const { ShmError } = require('../../base/errors');
const { CliError, closers } = require('./output');

/** { name } or { path } for Store.open. */
function targetOf(arg, { path: asPath = false } = {}) {
  if (typeof arg !== 'string' || arg === '') throw new CliError('a <store> argument is required (see --help)');
  if (asPath || arg.includes('/')) return { path: path.resolve(arg) };
  return { name: arg };
}

/** How a target is named in messages. */
const describe = (t) => (t.name !== undefined ? `store '${t.name}'` : `store '${t.path}'`);

/** The file that holds a target's bytes. */
const fileOf = (t) => (t.name !== undefined ? path.join('/dev/shm', t.name) : t.path);

function readCopy(t) {
  let bytes;
  let fd = -1;
  try {
    // Without waiting: opening a FIFO to read waits for a writer. Only a regular file is read, as
    // Segment.open maps only one: a FIFO or a device (/dev/zero) may never end.
    fd = fs.openSync(fileOf(t), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) throw new ShmError('ERR_INVALID_ARG', `${describe(t)} is not a regular file`);
    bytes = fs.readFileSync(fd);
  } catch (err) {
    if (err instanceof ShmError) throw err;
    if (err.code === 'ENOENT') throw new ShmError('ERR_SHM_NOT_FOUND', `${describe(t)} does not exist`);
    throw new ShmError('ERR_SHM_IO', `${describe(t)}: ${err.message}`);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  const { Store } = require('../../store/store');
  const buffer = new SharedArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  return Store.attach(buffer, { engine: 'js' });
}

/** Opens the store `t`; `write` says whether the command changes it. */
function openStore(t, { write = false } = {}) {
  // Required here, not at the top: --help works even when the addon refuses to load.
  const native = require('../../base/native');
  const { Store } = require('../../store/store');
  if (native.addon) return Store.open(t);
  if (write) throw native.loadError;
  return readCopy(t);
}

/** The value of --dir, resolved: the persistence directory a command needs. */
function persistDir(flags, command) {
  if (typeof flags.dir !== 'string' || flags.dir === '') throw new CliError(`${command} needs --dir <dir>, the store's persistence directory (see --help)`);
  return path.resolve(flags.dir);
}

/** { dir } when --dir is given: a command that writes then logs its writes in that directory. */
const persistOption = (flags, command) => (flags.dir === undefined ? {} : { dir: persistDir(flags, command) });

/** Opens the store `t` with its persistence directory `dir` (needs the addon). */
function openPersisted(t, dir) {
  const native = require('../../base/native');
  if (!native.addon) throw native.loadError;
  const { Store } = require('../../persist/store');
  return Store.open({ ...t, persist: { dir } });
}

/** Runs fn(store) on the store `t` and closes it; `options.dir` opens it with its persistence. */
async function withStore(t, options, fn) {
  const store = options.dir !== undefined ? openPersisted(t, options.dir) : openStore(t, options);
  const close = () => store.close();
  closers.add(close);
  try {
    return await fn(store);
  } finally {
    closers.delete(close);
    store.close();
  }
}

module.exports = { targetOf, describe, fileOf, openStore, persistDir, persistOption, withStore };
