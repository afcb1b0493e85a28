'use strict';
// An open by name or path while the creator is part way (docs/format.md §17, "Creating"), for
// every pool: test/helpers/open-while-created-suite.js.
const { openWhileCreatedSuite } = require('../helpers/open-while-created-suite');

openWhileCreatedSuite({
  title: 'Pools: an open while the creator is part way',
  kinds: ['BufferPool', 'ObjectPool', 'MemoryPool'],
  one: 'BufferPool',
  what: 'pool',
  prefix: 'pool',
});
