'use strict';
// An open by name or path while the creator is part way (docs/format.md §15, "Creating"), for
// every message structure: test/helpers/open-while-created-suite.js.
const { openWhileCreatedSuite } = require('../helpers/open-while-created-suite');

openWhileCreatedSuite({
  title: 'Message structures: an open while the creator is part way',
  kinds: ['SpscRing', 'MpmcQueue', 'Channel', 'Stack', 'PriorityQueue', 'Broadcast'],
  one: 'MpmcQueue',
  what: 'queue',
  prefix: 'msg',
});
