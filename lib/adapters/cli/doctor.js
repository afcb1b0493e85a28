'use strict';
// `shmstore doctor`: can this machine use shmstore, and if not, why.
const fs = require('fs');
const { EXIT, printJson, fields, table } = require('./output');
const { PREREQUISITES, present, installHint } = require('../../base/prerequisites');

const GIB = 1024 * 1024 * 1024;
const size = (n) => (n >= GIB ? `${(n / GIB).toFixed(1)} GiB` : `${(n / (1024 * 1024)).toFixed(1)} MiB`);

function addonStatus() {
  try {
    // Throws ERR_ADDON_ABI for an addon built for another Node version.
    const { addon, loadError } = require('../../base/native');
    return addon ? { ok: true, detail: 'loaded' } : { ok: false, detail: loadError.message, code: loadError.code };
  } catch (err) {
    return { ok: false, detail: err.message, code: err.code };
  }
}

function shmStatus() {
  try {
    const s = fs.statfsSync('/dev/shm');
    return { ok: true, total: s.blocks * s.bsize, free: s.bavail * s.bsize };
  } catch (err) {
    return { ok: false, detail: `/dev/shm is not usable: ${err.message}` };
  }
}

module.exports = {
  usage: 'doctor [--json]',
  summary: 'check Node, the native addon, /dev/shm and the build prerequisites',
  help: 'Exits 0 when the native addon is loaded and /dev/shm is usable, 1 otherwise. Missing build\n' +
    'prerequisites are listed with the package to install (they are needed to rebuild the addon).',
  run({ flags }) {
    const addon = addonStatus();
    const shm = shmStatus();
    const prerequisites = PREREQUISITES.map((p) => ({ what: p.what, ok: present(p), ...(present(p) ? {} : { fix: installHint(p) }) }));
    const ok = addon.ok && shm.ok;
    const report = {
      ok,
      node: process.version,
      abi: process.versions.modules,
      napi: process.versions.napi,
      platform: `${process.platform} ${process.arch}`,
      addon,
      shm,
      prerequisites,
    };
    if (flags.json) {
      printJson(report);
    } else {
      process.stdout.write(fields([
        ['node', `${process.version} (ABI ${report.abi}, N-API ${report.napi}, ${report.platform})`],
        ['native addon', addon.ok ? 'loaded' : `unavailable: ${addon.detail}`],
        ['/dev/shm', shm.ok ? `${size(shm.total)}, ${size(shm.free)} free` : shm.detail],
      ]));
      process.stdout.write('\nbuild prerequisites\n');
      process.stdout.write(table(['status', 'what', 'fix'], prerequisites.map((p) => [p.ok ? 'ok' : 'missing', p.what, p.fix || ''])));
      process.stdout.write(`\n${ok ? 'ok' : 'problems found'}\n`);
    }
    return ok ? EXIT.OK : EXIT.ERROR;
  },
};
