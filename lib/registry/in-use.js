'use strict';
// Whether a structure is open (docs/format.md §14, "Delete"): an owner record (§6) of the
// structure names a handle that is not gone. A record counts only with its identity: a claim
// stores the pid word first and the identity (start time and boot id) right after, so a record
// that names a pid and nothing else is a claim not finished, or damage: a single flipped bit of
// a free record's pid word reads so, and it may name pid 1, which is always alive. Such a record
// is no open handle (an opener caught between its claim and its identity has not opened the
// structure yet, as one that comes just after the delete), or the structure would be in use for
// as long as that pid lives. When this process does not know its own identity (no /proc), no
// record has one: every record not gone counts then.
const { GONE } = require('../ownership/owners');

/** Whether a record of `owners` (an OwnerTable) names an open handle, for `self`. */
function ownersOpen(owners, self) {
  const known = self.startTime !== 0n || self.bootId !== 0n;
  for (let o = 1; o < owners.slots; o++) {
    if (Atomics.load(owners.u32, owners.pidWord(o)) === 0) continue;
    const r = owners.read(o);
    if (r.pid === 0 || (known && r.startTime === 0n && r.bootId === 0n)) continue;
    if (owners.status(o, self, r) !== GONE) return true;
  }
  return false;
}

module.exports = { ownersOpen };
