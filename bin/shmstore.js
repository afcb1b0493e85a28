#!/usr/bin/env node
'use strict';
// The shmstore command line: `shmstore --help` (lib/adapters/cli/, docs/api.md, CLI).
const { main } = require('../lib/adapters/cli/main');

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
