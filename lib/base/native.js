'use strict';
// Loads the native addon built by scripts/build.js (build/Release/shmstore.node).
//
// - Built for another Node ABI (build/Release/abi.json, written by the build, disagrees with
//   process.versions.modules): throws ShmError ERR_ADDON_ABI *before* loading it, because an
//   addon that uses V8's C++ API (the external SharedArrayBuffer) is not ABI-stable and could
//   crash instead of failing.
// - Missing or not loadable: exports addon = null and the reason as loadError
//   (ShmError ERR_ADDON_MISSING), so that the pure-JS parts of the package keep working;
//   requireAddon() throws that error where the addon is really needed.
const fs = require('fs');
const path = require('path');
const { ShmError } = require('./errors');

// Where scripts/build.js puts the addon; SHMSTORE_ADDON_DIR names another build's Release folder.
const DEFAULT_DIR = process.env.SHMSTORE_ADDON_DIR
  ? path.resolve(process.env.SHMSTORE_ADDON_DIR)
  : path.join(__dirname, '..', '..', 'build', 'Release');
const REBUILD = 'rebuild it with `npm rebuild shmstore` (or `npm run build` in a clone)';

function readAbi(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'abi.json'), 'utf8'));
  } catch {
    return null;
  }
}

function readUnavailable(dir) {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'unavailable.json'), 'utf8'));
    return typeof r.reason === 'string' ? r.reason.split('\n').join('; ') : null;
  } catch {
    return null;
  }
}

function abiError(builtFor) {
  const here = `Node ${process.version} (ABI ${process.versions.modules})`;
  const was = builtFor ? `Node ${builtFor.node || '?'} (ABI ${builtFor.modules})` : 'an unknown Node ABI (no abi.json)';
  return new ShmError('ERR_ADDON_ABI',
    `shmstore: the native addon was built for ${was} but this is ${here}: ${REBUILD}`);
}

/**
 * Loads the addon from `dir`. Returns { addon, loadError }; throws ERR_ADDON_ABI on an ABI
 * mismatch. Exposed for tests; the package uses the default directory.
 */
function load(dir = DEFAULT_DIR) {
  const file = path.join(dir, 'shmstore.node');
  if (!fs.existsSync(file)) {
    // The install that could not build it left the reason (scripts/build.js).
    const why = readUnavailable(dir);
    return {
      addon: null,
      loadError: new ShmError('ERR_ADDON_MISSING', why
        ? `shmstore: the native addon could not be built at install (${why}): fix that, then ${REBUILD}`
        : `shmstore: the native addon is not built (${file} is missing): ${REBUILD}`),
    };
  }
  const abi = readAbi(dir);
  if (!abi || String(abi.modules) !== process.versions.modules) throw abiError(abi);
  let addon;
  try {
    addon = require(file);
  } catch (cause) {
    return {
      addon: null,
      loadError: new ShmError('ERR_ADDON_MISSING',
        `shmstore: the native addon could not be loaded (${cause.message}): ${REBUILD}`, { cause }),
    };
  }
  if (String(addon.moduleVersion) !== process.versions.modules) {
    throw abiError({ modules: addon.moduleVersion, node: abi.node });
  }
  addon.setErrorClass(ShmError);
  return { addon, loadError: null };
}

const { addon, loadError } = load();
// Said once per process, so that a user who expected the native engine learns why it is not
// there; the pure-JS engine serves every store call meanwhile.
if (addon === null) {
  process.emitWarning(`${loadError.message}. The pure-JS engine is used; the native engine, ` +
    'cross-process futex waits and segments are unavailable (`npx shmstore doctor` tells more).',
  { code: 'SHMSTORE_NATIVE_UNAVAILABLE' });
}

/** The addon, or throws loadError explaining why it is unavailable. */
function requireAddon() {
  if (addon === null) throw loadError;
  return addon;
}

module.exports = { addon, loadError, requireAddon, load };
