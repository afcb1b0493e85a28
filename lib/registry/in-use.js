'use strict';
// Whether a structure is open (docs/format.md §14, "Delete"): an owner record (§6) of the
// structure names a handle that is not gone. A record that names another process's pid and no
// identity (a claim not finished, or damage: a single flipped bit of a free record's pid word
// reads so, and it may name pid 1, which is always alive) is gone by the gone rule itself (§6,
// rule 6), as it is for every lock holder: an opener caught between its claim and its identity
// has not opened the structure yet, as one that comes just after the delete. An opener that
// could not read its identity records its start time as unknown, not 0, and is an open handle
// while its process lives.
const { GONE } = require('../ownership/owners');

/** Whether a record of `owners` (an OwnerTable) names an open handle, for `self`. */
function ownersOpen(owners, self) {
  for (let o = 1; o < owners.slots; o++) {
    if (Atomics.load(owners.u32, owners.pidWord(o)) === 0) continue;
    if (owners.status(o, self) !== GONE) return true;
  }
  return false;
}

module.exports = { ownersOpen };
