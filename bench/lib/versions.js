'use strict';
// Installed versions of the peers (read from their package.json files: some packages do not
// export ./package.json).
const fs = require('fs');
const path = require('path');

function version(pkg) {
  let dir;
  try {
    dir = path.dirname(require.resolve(pkg));
  } catch {
    return null;
  }
  for (let i = 0; i < 5; i++) {
    const f = path.join(dir, 'package.json');
    try {
      const j = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (j.name === pkg) return j.version;
    } catch {
      // keep looking upwards
    }
    dir = path.dirname(dir);
  }
  return null;
}

module.exports = { version };
