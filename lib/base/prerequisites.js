'use strict';
// What building the native addon needs from the system, with the package that provides it, and
// how to tell whether each is there. scripts/build.js refuses to build without them (one line per
// missing package, never a CMake trace); `shmstore doctor` lists them.
const fs = require('fs');
const path = require('path');

const PREREQUISITES = [
  { what: 'cmake >= 3.20', command: 'cmake', debian: 'cmake', fedora: 'cmake' },
  { what: 'a C++20 compiler (g++)', command: process.env.CXX || 'g++', debian: 'g++', fedora: 'gcc-c++' },
  { what: 'make', command: 'make', debian: 'make', fedora: 'make' },
  { what: 'the xxHash headers (xxhash.h)', header: 'xxhash.h', debian: 'libxxhash-dev', fedora: 'xxhash-devel' },
  { what: 'Intel ISA-L (isa-l/crc.h)', header: 'isa-l/crc.h', debian: 'libisal-dev', fedora: 'isa-l-devel' },
];
const TEST_PREREQUISITES = [
  { what: 'GoogleTest (gtest/gtest.h)', header: 'gtest/gtest.h', debian: 'libgtest-dev', fedora: 'gtest-devel' },
];

function onPath(command) {
  if (command.includes('/')) return fs.existsSync(command);
  return (process.env.PATH || '').split(':').some((d) => d && fs.existsSync(path.join(d, command)));
}

function hasHeader(header) {
  const dirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH || '').split(':').filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, header)));
}

/** Whether prerequisite p is present. */
function present(p) {
  return p.command ? onPath(p.command) : hasHeader(p.header);
}

/** How to install prerequisite p, in one line. */
function installHint(p) {
  return `install it with \`apt-get install ${p.debian}\` (Debian/Ubuntu) or \`dnf install ${p.fedora}\` (Fedora)`;
}

/** One line per missing prerequisite of `list`, or none. */
function missingPrerequisites(list) {
  return list.filter((p) => !present(p)).map((p) => `missing ${p.what}: ${installHint(p)}`);
}

module.exports = { PREREQUISITES, TEST_PREREQUISITES, present, installHint, missingPrerequisites };
