'use strict';
// lmdb-js cases. One environment in a fresh temporary directory per child process; the workers
// of the read-scaling op open the same environment (lmdb supports one open per thread).
// Reads use the synchronous db.get; single writes use db.putSync / db.removeSync (each commits
// its own transaction); setMany writes its 100 puts in one db.transactionSync; getMany is a loop
// of db.get (lmdb's own getMany is asynchronous).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { version } = require('./versions');

const DB_OPTIONS = { encoding: 'string' };

function adapter(db, env) {
  return {
    get: (k) => db.get(k),
    set: (k, v) => db.putSync(k, v),
    del: (k) => db.removeSync(k),
    getMany(ks) {
      const out = new Array(ks.length);
      for (let i = 0; i < ks.length; i++) out[i] = db.get(ks[i]);
      return out;
    },
    setMany(pairs) {
      db.transactionSync(() => {
        for (let i = 0; i < pairs.length; i++) db.putSync(pairs[i][0], pairs[i][1]);
      });
      return pairs.length;
    },
    // One transaction: loading 100,000 random-order keys in several large transactions leaves
    // LMDB a long free-page list that makes the next few hundred single-put commits ~1 ms each
    // (measured: 1.4 ms, 1.1 ms, 0.8 ms per put for the first 300 updates, then 18 µs); that
    // transient would be measured instead of the steady state.
    load(keys, vals) {
      db.transactionSync(() => {
        for (let j = 0; j < keys.length; j++) db.putSync(keys[j], vals[j]);
      });
    },
    close() {
      env.close();
    },
  };
}

function fsType(dir) {
  // The mount with the longest prefix of `dir` in /proc/mounts.
  try {
    let best = { len: -1, type: '?' };
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mnt, type] = line.split(' ');
      if (mnt && (dir === mnt || dir.startsWith(mnt.endsWith('/') ? mnt : `${mnt}/`)) && mnt.length > best.len) {
        best = { len: mnt.length, type };
      }
    }
    return best.type;
  } catch {
    return '?';
  }
}

function lmdbCase(name, label, envOptions) {
  return {
    name,
    label,
    async: false,
    shared: true,
    sharing: 'one environment opened in each worker (same path)',
    unavailable() {
      try {
        require('lmdb');
        return null;
      } catch (e) {
        return `lmdb is not installed or its binary is missing (npm install): ${e.message}`;
      }
    },
    async open() {
      const { open } = require('lmdb');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `shmstore-bench-${name}-`));
      const opts = { path: dir, ...envOptions, ...DB_OPTIONS };
      const env = open(opts);
      const ad = adapter(env, env);
      const close = ad.close;
      ad.close = () => {
        close();
        fs.rmSync(dir, { recursive: true, force: true });
      };
      return {
        ad,
        share: { opts },
        info: {
          version: version('lmdb'),
          options: { ...opts, path: '<a fresh directory in the OS temp directory>' },
          durability: envOptions.noSync
            ? 'noSync: true (no fsync; commits reach disk when the OS writes back)'
            : 'default: synchronous commits, overlappingSync (fsync of each commit overlaps later ones)',
          filesystem: `${fsType(dir)} (the OS temp directory)`,
        },
      };
    },
    async attach({ opts }) {
      const { open } = require('lmdb');
      const env = open(opts);
      return adapter(env, env);
    },
  };
}

module.exports = { lmdbCase };
