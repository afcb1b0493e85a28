'use strict';
// Loads a package an adapter builds on (a peer dependency: the user installs it beside
// shmstore). A missing one is one ShmError naming the package to install, not a stack of
// MODULE_NOT_FOUND frames from inside the adapter.
const { ShmError } = require('../base/errors');
const { STATUS } = require('../layout/layout');

function requirePeer(pkg, subpath) {
  try {
    return require(pkg);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(`'${pkg}'`)) {
      throw new ShmError('ERR_PEER_MISSING', `shmstore/${subpath} needs the ${pkg} package: npm install ${pkg}`,
        { cause: err, status: STATUS.ERR_PEER_MISSING });
    }
    throw err;
  }
}

module.exports = { requirePeer };
