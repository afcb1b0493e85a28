'use strict';
// The single declaration of the shmstore binary format (version FORMAT_VERSION below) and of
// the status codes shared by the native and the pure-JS engines. `node scripts/gen-layout.js`
// turns it into src/layout/layout_gen.h and lib/layout/layout.js; `node scripts/gen-layout.js
// --check` fails when either is stale.
// docs/format.md explains every value declared here.
// layout-ok-file: the one place the layout's numbers are written (scripts/check-layout-literals.js).

const UNIT = 64;

// The store pool's allocation unit (format.md §8), separate from UNIT, the 64-byte alignment of the
// store's regions and of the other kinds' layouts: a block covers whole units of BLOCK_UNIT bytes,
// so an entry of 142 bytes (the reference 14-byte key and 100-byte value) takes 144, not 192.
const BLOCK_UNIT = 16;
const ENTRY_HEADER_SIZE = 28;
const MAX_KEY_BYTES = 1024;
const MAX_INLINE_VALUE_BYTES = 65535;
// The largest small entry (header, longest key, longest inline value) in units.
const MAX_ENTRY_UNITS = Math.ceil((ENTRY_HEADER_SIZE + MAX_KEY_BYTES + MAX_INLINE_VALUE_BYTES) / BLOCK_UNIT);

// Allocation size classes, in BLOCK_UNIT units: exact from 2 (an entry header alone needs 2 units)
// up to 16 units (256 bytes: the small entries every cache workload is full of lose no byte to a
// class step), then four steps per doubling (at most 25% rounding waste) up to the first class
// that holds MAX_ENTRY_UNITS. 48 classes: the free list heads fill AllocState's second to fourth
// lines exactly.
function sizeClasses() {
  const out = [];
  for (let u = 2; u <= 16; u++) out.push(u);
  for (let p = 16; out[out.length - 1] < MAX_ENTRY_UNITS; p *= 2) {
    for (let k = 1; k <= 4 && out[out.length - 1] < MAX_ENTRY_UNITS; k++) out.push(p + (p / 4) * k);
  }
  return out;
}

const constants = {
  MAGIC: 0x464c4f57, // 'FLOW'
  // 2: owner records of 32 bytes (identity: start time, boot id, state); buckets at 151552.
  // 3: expiry and eviction: Entry.expiresAt replaces the write timestamp, the FLAG_ACCESSED mark,
  // EvictState in the metadata, the namespace policy table at 151552; buckets at 167936.
  // 4: Header.maxNamespaces; the owner table at 4096, the buckets at 135168, then the namespace
  // area sized by maxNamespaces (records, policies, names, the name index); large blocks (class
  // LARGE_CLASS, any number of units, their own free list) and values up to MAX_VALUE_BYTES held
  // indirectly in one (FLAG_INDIRECT).
  // 5: per-writer block caches: FLAG_PARKED marks a block a live writer freed and keeps for its
  // own next allocation of that class, Entry.next naming its owner slot (format.md §8, "Parked
  // blocks").
  // 5: incremental compaction: a free block links the previous block of its free list
  // (FreeBlock.prev, offset 4), so that a step removes any block from its list in O(1);
  // CompactState at COMPACT_OFFSET (the compaction cursor and its progress counters).
  // 6: 16-byte pool units (BLOCK_UNIT) and a 28-byte entry header (flags and checksum at 8 and
  // 12, namespaceId u16, expiresAt in 48 bits); 48 size classes; AllocState.largeHead at 12.
  // 7: count cells (format.md §5, "Count cells"): the entry counts and the grant of entries
  // under maxEntries live in COUNT_CELLS cells after the name index, a writer's own cell chosen by
  // its owner slot, so that inserts of different writers touch no shared word; Header.entryCount
  // becomes grantedEntries, and Namespace.count (offset 64) is reserved.
  // 8: the entry checksum covers FLAG_INDIRECT: its seed is keyHash XOR (flags & ENTRY_SUM_FLAGS),
  // so that one flipped bit no longer turns a large value's reference into an 8-byte value.
  // 9: CountCell.expiring (offset 8): the live entries that carry an expiry, counted in the cells
  // as the entries are, so that a store whose entries are all pinned runs the eviction hand on a
  // refused write only while an entry may expire (EvictState.ttlSeen never goes back to 0).
  // And AllocState.listedUnits (offset 16): the units of every block on the free lists, kept by
  // every push and pop under AllocState.lock, so that stats() reads the free space without walking
  // the class lists.
  FORMAT_VERSION: 9,
  UNIT,
  UNIT_SHIFT: 6,
  BLOCK_UNIT,
  BLOCK_SHIFT: 4,
  HEADER_OFFSET: 0,
  HEADER_SIZE: 64,
  METADATA_OFFSET: 64,
  METADATA_END: 4096,
  ALLOC_OFFSET: 64,
  NSSTATE_OFFSET: 320,
  REPAIR_OFFSET: 384,
  // EvictState: the store's default policy and the two hints readers read (one line no hit
  // writes), then the eviction hand and the expiry sweep (written by writers) on the next line.
  EVICT_OFFSET: 448,
  // CompactState (format.md §8, "Compaction"): the cursor of the incremental compaction, written
  // under AllocState.lock; on a line of its own, away from the reserved space after EvictState.
  COMPACT_OFFSET: 1024,
  // PersistTag (format.md §4, §16 "Files"): which persisted store the segment holds, so that an
  // open of a persistence directory never attaches to, or removes, another directory's segment
  // of the same name. Written by the persist room only; zero in every other store.
  PERSIST_TAG_OFFSET: 1088,
  OWNERS_OFFSET: 4096,
  OWNER_SLOTS: 4096,
  // The stuck-lock rule (format.md §9) counts a waiter's own waiting time: each look at the lock
  // adds the time since its previous look, at most this many milliseconds, so that a pause of
  // the whole process (SIGSTOP, a frozen cgroup, a throttled container), which paused the
  // holder too, counts as one short step and not as the holder's delay.
  LOCK_WAIT_STEP_MS: 10,
  // The buckets follow the owner table at a fixed offset; the namespace area (format.md §5)
  // follows the buckets and is sized by Header.maxNamespaces: maxNamespaces + 1 Namespace records
  // (id 0 is reserved), as many NsPolicy records and NsName records, then the name index of
  // NS_INDEX slots (a power of two, at least twice the records: a linear probe of a table at most
  // half full ends after about 1.5 slots for a hit and 2.5 for a miss). Ids fit the u16 range so
  // that a handle's per-id arrays stay small; 255 by default keeps a small store small (the area
  // is 520 bytes per namespace with its counts in the count cells: 131 KiB at 255, 32.5 MiB at
  // 65535).
  BUCKETS_OFFSET: 135168,
  MAX_NAMESPACES: 65535,
  DEFAULT_MAX_NAMESPACES: 255,
  NS_INDEX_SLOT_SIZE: 4,
  NS_INDEX_LOAD_FACTOR: 2,
  // Count cells (format.md §5, "Count cells"): this many, after the name index; a writer counts in
  // cell (owner slot mod COUNT_CELLS). Each is a CountCell head (its grant and its entry count on
  // one line) and one u32 count per namespace record, rounded up to whole lines.
  COUNT_CELLS: 16,
  // Entries a cell takes from Header.grantedEntries at a time, and gives back once it holds more
  // than twice as many unused: one write of the shared header word per this many inserts.
  COUNT_GRANT_CHUNK: 64,
  // XXH32 seed of a namespace name in the name index (format.md §5).
  NS_HASH_SEED: 0,
  // A name index slot: the id in bits 0..15 (ids fit: at most 65535) and bits 16..31 of the name's
  // hash as a tag, so that a probe passes over other names without reading their records (a
  // cache miss each in a large table). 0 is an empty slot (id 0 is never used).
  NS_INDEX_ID_MASK: 0xffff,
  NS_INDEX_TAG_MASK: 0xffff0000,
  BUCKET_SIZE: 32,
  ENTRY_HEADER_SIZE,
  // A large block's header (LargeBlock): its value starts at this byte of the block.
  LARGE_HEADER_SIZE: 32,
  // Entry.expiresAt is 48 bits (ms since the epoch: the year 10889); a later expiry is stored as
  // this one.
  MAX_EXPIRES_AT: 2 ** 48 - 1,
  MIN_BUCKETS: 1,
  MAX_BUCKETS: 1 << 26,
  MAX_KEY_BYTES,
  // A value of at most MAX_INLINE_VALUE_BYTES is stored in its entry (Entry.valueLength is a
  // u16); a longer one, up to MAX_VALUE_BYTES (64 MiB), in a large block the entry refers to.
  MAX_VALUE_BYTES: 64 * 1024 * 1024,
  MAX_INLINE_VALUE_BYTES,
  // The value bytes of an indirect entry: the large block's unit (u32) and the value's length
  // (u32).
  INDIRECT_VALUE_BYTES: 8,
  // The size class of a large block: its unit count is LargeBlock.units, not a table entry. It
  // is SIZE_CLASS_COUNT, the first class number the table does not use, so every check
  // `class < SIZE_CLASS_COUNT` (a chain's entry) rejects a large block.
  LARGE_CLASS: sizeClasses().length,
  MAX_NAMESPACE_BYTES: 255,
  // Lock words: bits 0..19 are a version whose low bit is set while the lock is held; bits
  // 20..31 name the holder's owner slot (0 while free).
  LOCK_VERSION_MASK: 0xfffff,
  LOCK_OWNER_SHIFT: 20,
  // Entry flags word: bits 0..3 value encoding, bits 8..15 size class, bit 16 block is free.
  FLAG_ENCODING_MASK: 0xf,
  ENC_BINARY: 0,
  ENC_UTF8: 1,
  ENC_JSON: 2,
  FLAG_CLASS_SHIFT: 8,
  FLAG_CLASS_MASK: 0xff,
  FLAG_FREE: 0x10000,
  // Set by a reader's hit when it is clear (one CAS from the flags the reader validated), cleared
  // by the eviction hand: the CLOCK reference bit. It lives in the entry, never on the line of the
  // bucket's lock word, and a hit on a marked entry writes nothing.
  FLAG_ACCESSED: 0x20000,
  // The entry's value bytes are a reference to a large block (format.md §8, "Large values").
  FLAG_INDIRECT: 0x40000,
  // The flag bits an entry's checksum covers (format.md §8): its seed is keyHash XOR (flags &
  // ENTRY_SUM_FLAGS), the encoding and FLAG_INDIRECT. Bits of their own, disjoint from the encoding's,
  // so that every (encoding, INDIRECT) pair seeds differently; the flags a writer or a reader
  // changes in a linked entry (ACCESSED) and the block's class (a compaction move changes it) are
  // left out.
  ENTRY_SUM_FLAGS: 0x4000f,
  // A parked block (format.md §8, "Parked blocks"): neither free nor linked, kept by the writer
  // whose owner slot its Entry.next holds for that writer's next allocation of its class, taken
  // without AllocState.lock. A repair pass frees it once its owner is gone.
  FLAG_PARKED: 0x80000,
  // A handle parks at most PARK_PER_CLASS blocks of one class and PARK_MAX_UNITS units in all:
  // a steady stream of overwrites of same-sized values needs one block per class in hand (the
  // one the next write takes while it frees the previous), and the space a handle can hold back
  // stays bounded (16 KiB) however many handles a store has. A set that finds no parked block of
  // its class takes up to PARK_REFILL blocks of it under one hold of AllocState.lock and parks
  // all but the one it uses (format.md §8, "Parked blocks"), so that a stream of inserts takes
  // the allocator lock once per PARK_REFILL sets; PARK_PER_CLASS leaves room beside such a batch
  // for the block a replacing set parks. Batches of 64 rather than 16: two writers inserting
  // into one store met at the allocator lock often enough with 16 that a holder descheduled by
  // other work stalled the other (bench/README.md, "Insert scaling").
  PARK_PER_CLASS: 72,
  PARK_REFILL: 64,
  PARK_MAX_UNITS: 16384 / BLOCK_UNIT,
  // Eviction policies: of the store (EvictState.policy) and of a namespace (NsPolicy.policy, where
  // 0 means "the store's"). A zeroed word is a valid initial state: inherit / none.
  POLICY_INHERIT: 0,
  POLICY_NONE: 1,
  POLICY_CLOCK: 2,
  // Buckets the incremental expiry sweep visits per inserting set once any entry had an expiry:
  // two lock acquisitions of empty-or-short chains bound the added work of an insert.
  SWEEP_BUCKETS: 2,
  // Blocks the eviction hand may inspect for one insert before it gives up with ERR_STORE_FULL:
  // two full turns of a pool of this many blocks would clear every mark and then evict. A turn
  // is bounded per call by the pool size itself (see format.md §8, "Eviction").
  EVICT_TURNS: 2,
  // Steps a run of the hand that asks for an entry of a given class or larger (an insert's block,
  // "Making room" in format.md §8) takes at most before it gives up and the insert asks for any
  // entry instead: where no entry of that class or larger is evictable, two full turns of a 64 MiB
  // pool cost about 0.7 s native and 1.4 s pure-JS, for one set. A class that makes up one block
  // in a few hundred of the pool is still found well within the bound.
  EVICT_CLASS_STEPS: 4096,
  // A write waits for the room lease (format.md §8, "The room lease") at most lockTimeoutMs /
  // ROOM_LEASE_WAIT_SHARE, then goes on without it. A write may run under the persistence
  // layer's locks (a key's stripe, the append lock), whose waiters in its own process presume a
  // holder gone after lockTimeoutMs: the wait must leave the write most of that time for its own
  // work.
  ROOM_LEASE_WAIT_SHARE: 4,
  // After an eviction that made room, the hand goes back to the freed block (where the insert
  // puts its entry: the free list of a class is LIFO) except once every EVICT_ADVANCE_EVERY
  // evictions of a handle. A new entry must be read before the next eviction to survive (quick
  // demotion, as S3-FIFO's probation queue), and one eviction in 8 moves on to entries the hand
  // has not seen for a turn. Why 8: in bench/eviction.js (simulated 2..64), 8 gives the lowest
  // miss ratios on the Zipf cases at 10% and on the scans, and a loop 1.1x the cache misses
  // 11% instead of 100% (plain CLOCK, 1 here, is LRU-like on a loop).
  EVICT_ADVANCE_EVERY: 8,
  // A compaction step (format.md §8, "Compaction") takes a window of at most this many units of
  // the pool (64 KiB: at most 2048 blocks walked twice under AllocState.lock, and as many entries
  // moved one bucket lock at a time), beyond a free block it starts with.
  COMPACT_STEP_UNITS: 65536 / BLOCK_UNIT,
  // Steps a write runs when its allocation failed and enough was freed (format.md §8): 16 windows
  // of 64 KiB, 1 MiB of the pool, at most COMPACT_BATCHES_PER_SET times per write.
  COMPACT_STEPS_PER_BATCH: 16,
  COMPACT_BATCHES_PER_SET: 4,
  // A write that needs a block of `need` units and finds no room in a store that may evict
  // (format.md §8, "Making room") runs at most COMPACT_BATCHES_PER_SET + COMPACT_BATCHES_PER_NEED
  // * ceil(need / (COMPACT_STEPS_PER_BATCH * COMPACT_STEP_UNITS)) batches and makes at most
  // EVICT_BASE_PER_SET evictions, then more only while the units its evictions freed (their
  // blocks and large blocks) are below EVICT_UNITS_PER_NEED * need: four times the space it needs, so
  // that evictions scattered over the pool leave compaction enough to bring together; the batches
  // cover the space it needs twice over besides the constant ones. Both bounds grow with the
  // space needed, not the pool, and the evictions' with the units freed, not the entries.
  COMPACT_BATCHES_PER_NEED: 2,
  EVICT_BASE_PER_SET: 64,
  EVICT_UNITS_PER_NEED: 4,
  // Blocks of a class's free list a move inspects for a destination outside its window.
  COMPACT_LIST_PROBE: 8,
  // A write making room keeps the run of free blocks its evictions left in a row; after each, it
  // looks at most JOIN_BLOCKS free blocks past the block it freed (its value's block, holes the
  // hand skipped) for the run's end (format.md §8, "Making room", joined runs).
  JOIN_BLOCKS: 64,
  // Automatic compaction of a fragmented store (format.md §8, "When steps run"): every this many
  // successful sets a handle reads the hint (two words, no shared write), and when
  // AllocState.freedUnits is at least AUTO_COMPACT_MIN_UNITS (64 KiB) and at least the units
  // after freeHead, it runs one step of AUTO_COMPACT_UNITS (16 KiB): at most 16 KiB of the pool
  // per 64 sets of a handle.
  AUTO_COMPACT_EVERY: 64,
  AUTO_COMPACT_MIN_UNITS: 65536 / BLOCK_UNIT,
  AUTO_COMPACT_UNITS: 16384 / BLOCK_UNIT,
  NS_STATE_FREE: 0,
  NS_STATE_LIVE: 2,
  // A drop is removing the namespace's entries; the record is not reused until it is free.
  NS_STATE_DROPPING: 1,
  // Owner record state: the owner is live, or its thread ended without releasing the slot.
  OWNER_STATE_LIVE: 0,
  OWNER_STATE_DEAD: 1,
  // An owner record's startTime when its writer could not read its process's start time
  // (format.md §6, "Identity unknown"): no real start time has it (clock ticks since boot; at 100
  // Hz, 2^53 - 1 ticks are millions of years), it is never compared, and it keeps the record of a
  // live owner that knows no identity from reading as one without identity (rule 6). The largest
  // integer a JS number holds exactly, so that it crosses the addon as the other start times do.
  OWNER_START_UNKNOWN: 2 ** 53 - 1,
  SIZE_CLASS_COUNT: sizeClasses().length,
  MAX_SEGMENT_UNITS: 0xffffffff,
  // A reader whose walk or checksum fails while the bucket's version did not move runs one repair
  // pass after this many such failures in a row, and reports ERR_CORRUPT after as many again
  // (format.md §9, Readers), in both engines. Such a failure is a race only when a writer's
  // stores were seen out of order around the version check (a JS reader has no fence; a JS
  // writer's plain stores may become visible before its lock word): that takes a concurrent
  // write landing in a window of nanoseconds, and does not happen three times in a row. Anything
  // else is damage, and each further attempt walks the damaged chain again (a cycle costs a whole
  // walk bound per attempt), so waiting 64 attempts, as the JS engine did, only delays the repair.
  CORRUPT_READ_RETRIES: 3,
  // verify() lists at most this many problems (its `ok` reflects all of them), in both engines.
  MAX_VERIFY_ERRORS: 1000,
  // Segments (not the store format; declared once here for src/segment.h and lib/segment.js).
  // 2^47 bytes is the whole user address space of x86-64 with 4-level paging: nothing larger can
  // be mapped. Shared memory names are 1..200 characters of [A-Za-z0-9._-]; file paths at most
  // 4095 bytes (PATH_MAX includes the terminating NUL).
  MAX_SEGMENT_BYTES: 2 ** 47,
  MAX_SEGMENT_NAME_BYTES: 200,
  MAX_SEGMENT_PATH_BYTES: 4095,
  // Sync region (docs/format.md §13), the bytes of one synchronization object (a Mutex, the
  // first kind) in a segment or a SharedArrayBuffer of its own, independent of the store format.
  // Why these numbers: the magic reads 'SYNC' in memory order; a region of all zero bytes is a
  // valid free mutex (magic 0 means "not yet stamped": the first opener stamps it), so a fresh
  // segment or `new SharedArrayBuffer(n)` needs no initialization. The header takes one cache line;
  // the mutex record takes two, because waiters register (an atomic add on `waiters`) while the
  // holder works: on the lock word's line they would steal it from the holder at every
  // registration. The owner table reuses the Owner record of §6 with 256 slots (8 KiB): one per
  // open Mutex handle (a thread of a process), far more than the threads that contend for one
  // mutex, while the lock word's 12 owner bits would allow 4095; slot 0 stays unused as in §6.
  // The whole region is 8384 bytes, a multiple of 64. A waiter rechecks whether the holder is gone
  // at least every SYNC_RECHECK_MS ms (a killed process wakes nobody): the bound on how late a
  // waiter notices a dead holder, against one /proc read per waiter per period.
  SYNC_MAGIC: 0x434e5953, // 'SYNC'
  SYNC_FORMAT_VERSION: 1,
  SYNC_KIND_MUTEX: 1,
  // Set in `kind` beside the kind by a creator with parameters while it writes them (before the
  // magic): an opener that sees it waits for the magic instead of completing the stamp.
  SYNC_KIND_CREATING: 0x80000000,
  SYNC_HEADER_OFFSET: 0,
  SYNC_MUTEX_OFFSET: 64,
  SYNC_OWNERS_OFFSET: 192,
  SYNC_OWNER_SLOTS: 256,
  SYNC_REGION_BYTES: 8384,
  SYNC_RECHECK_MS: 50,
  // The other kinds of sync region (docs/format.md §13.1-13.5). Every kind starts with the same
  // header and keeps its record at SYNC_STATE_OFFSET (the mutex's place), 128 bytes: the words
  // changed by acquirers and releasers on the first line, the `sleepers` hint on the second (as
  // the mutex's `waiters`). Kinds whose holds must survive a holder's death (rwlock, semaphore,
  // barrier) have the mutex's owner table at SYNC_OWNERS_OFFSET, and the rwlock and the
  // semaphore one or two per-slot u32 tables after it (SYNC_SLOT_TABLE_BYTES each, 256 words): a
  // hold is counted against the holder's owner slot, so a gone owner's share can be given back.
  // Those tables are written only under the record's guard lock word, so the neighbouring slots
  // on one cache line contend no more than the guard itself. Condition and waitgroup track no
  // owner: header and record only (SYNC_SMALL_REGION_BYTES).
  SYNC_KIND_RWLOCK: 2,
  SYNC_KIND_CONDITION: 3,
  SYNC_KIND_SEMAPHORE: 4,
  SYNC_KIND_BARRIER: 5,
  SYNC_KIND_WAITGROUP: 6,
  SYNC_STATE_OFFSET: 64,
  SYNC_SLOT_TABLE_OFFSET: 8384,
  SYNC_SLOT_TABLE_BYTES: 1024,
  SYNC_SMALL_REGION_BYTES: 192,
  SYNC_SEMAPHORE_REGION_BYTES: 9408,
  SYNC_RWLOCK_REGION_BYTES: 10432,
  SYNC_BARRIER_REGION_BYTES: 8384,
  // The largest count a semaphore, waitgroup or barrier holds (an i32 futex word stays positive).
  SYNC_MAX_COUNT: 0x7fffffff,
  // A condition region is of sync format version 2 (so are a barrier and a waitgroup, below), the
  // other kinds of version 1 (§13, "Version history"): version 1 kept one pool of wake tokens that
  // any waiter could take, so a waiter that registered after a notify could take the token meant
  // for one registered before it. Its waiters now form two groups: the open group (registered since
  // the groups last moved on) and the closed group (registered before), and notifyOne hands tokens
  // to the closed group only. The u64 `groups` word holds both groups' counts, the closed group's
  // tokens and the open group's epoch, so that every change of them is one CAS: the low half is the
  // open count (bits 0-15) and the closed count (bits 16-31); the high half the tokens (bits 0-7)
  // and the epoch (bits 8-31, wrapping). 65535 waiters per group (a registration beyond lets every
  // waiter go: spurious wake-ups, which a condition allows), and 255 tokens not yet taken (a
  // notifyOne beyond lets the whole closed group go); 24 bits of epoch, so that a waiter takes a
  // group it left 2^24 moves earlier for its own only if it did not look once in between.
  SYNC_CONDITION_VERSION: 2,
  // A barrier records how each of its last 32 generations ended (BarrierState.passed), so that a
  // waiter that looks late is told right even when more parties than `parties` take part.
  SYNC_BARRIER_VERSION: 2,
  SYNC_BARRIER_OUTCOMES: 32,
  // A waitgroup counts the times its count reached 0 (WaitGroupState.generation) and its waiters
  // sleep on that word, so that a waiter asleep while the count goes 1 -> 0 -> 1 still returns.
  SYNC_WAITGROUP_VERSION: 2,
  SYNC_COND_CLOSED_SHIFT: 16,
  SYNC_COND_COUNT_MASK: 0xffff,
  SYNC_COND_TOKENS_MASK: 0xff,
  SYNC_COND_EPOCH_SHIFT: 8,
  SYNC_COND_EPOCH_MASK: 0xffffff,
  // Registry (docs/format.md §14): a table of named structures in one segment or
  // SharedArrayBuffer. Why these numbers: the magic reads 'REGS' in memory order. The header takes
  // one cache line; the table lock is a whole sync region (§13) right after it, so the registry
  // reuses the Mutex's robust lock word, owner records and recovery, and a registry handle is one
  // of its 255 owners. An entry is two cache lines: 32 bytes of fixed fields, the kind name (16
  // bytes, ASCII, zero-padded), 4 creation parameters (u32) and the name (64 UTF-8 bytes, the
  // longest a name may be). Entries start at 64 + 8384 = 8448, a multiple of 64, so the data area
  // after `maxEntries` entries starts on a unit. Blocks are whole 64-byte units (a sync region
  // needs a 64-byte aligned offset), addressed by unit index (u32: registries up to 2^32 - 1
  // units, as stores). 65536 entries (8 MiB of table) bounds a linear lookup; 256 by default.
  // An entry's state is 0 free, 1 creating, 2 live, 3 deleting: zero bytes are an empty table,
  // and zero allocator words (no free block, the tail at the start of the data area) an empty
  // data area. A free block's first unit holds a RegistryFree record tagged 'FREE'. Registry.open
  // waits at most REGISTRY_OPEN_WAIT_MS for a creator to write the header of a new segment.
  REGISTRY_MAGIC: 0x53474552, // 'REGS'
  REGISTRY_FORMAT_VERSION: 1,
  REGISTRY_HEADER_OFFSET: 0,
  REGISTRY_LOCK_OFFSET: 64,
  REGISTRY_ENTRIES_OFFSET: 8448,
  REGISTRY_MAX_ENTRIES: 65536,
  REGISTRY_DEFAULT_ENTRIES: 256,
  REGISTRY_MAX_NAME_BYTES: 64,
  REGISTRY_MAX_KIND_BYTES: 16,
  REGISTRY_PARAMS: 4,
  REGISTRY_ENTRY_FREE: 0,
  REGISTRY_ENTRY_CREATING: 1,
  REGISTRY_ENTRY_LIVE: 2,
  REGISTRY_ENTRY_DELETING: 3,
  REGISTRY_FREE_TAG: 0x45455246, // 'FREE'
  REGISTRY_TARGET_SHM: 1,
  REGISTRY_TARGET_FILE: 2,
  REGISTRY_OPEN_WAIT_MS: 2000,
  // Message regions (docs/format.md §15): an SPSC ring or an MPMC queue in a segment or a
  // SharedArrayBuffer of its own, independent of the store format. Why these numbers: the magic
  // reads 'MSGQ' in memory order and is stored last by the creator, so an opener never sees a
  // half-stamped header. Every index (the ring's head and tail, the queue's positions) is a u32
  // counter that wraps at 2^32; capacities are powers of two so that `position & (capacity - 1)`
  // is the place, and at most 2^30 so that `tail - head` (mod 2^32) can never be mistaken for a
  // negative distance. A record header is one u32: the payload length in bits 0..27 (payloads
  // of up to 2^28 - 1 bytes) and the payload tag in bits 28..31 (MSG_TAG_*: how to decode it;
  // WRAP marks the unused end of the ring). LATIN1 and JSON_LATIN1 are text of one byte per
  // character (ISO-8859-1, so ASCII too), which JavaScript reads back without a UTF-8 decode.
  // The ring's control block takes four cache lines: tail (written by the producer), head
  // (written by the consumer) and one sleeping flag per side, each on a line of its own, so the
  // parties never write a line the other writes. Data follows at SPSC_DATA_OFFSET.
  MSG_MAGIC: 0x5147534d, // 'MSGQ'
  MSG_FORMAT_VERSION: 1,
  MSG_KIND_SPSC: 1,
  // An SPSC ring's format version, which differs from MSG_FORMAT_VERSION (the MPMC queue's, the
  // priority queue's, the broadcast channel's and the channel's): version 2 makes each sleeping
  // flag (consumerSleeping, producerSleeping) a count of its side's sleeps, odd while the side
  // sleeps, each sleep raising it to the next odd value and its waker moving that value to the
  // next even one with a CAS, so that a waker's late CAS can no longer take a later sleep without
  // waking it. Version 1 flags were 1 and 0 only: a version 1 waker takes only a flag of 1, so
  // beside a version 2 sleeper every sleep after the first waits for its recheck, and a version 2
  // waker beside a version 1 sleeper keeps the lost wake-up. The two cannot share a ring: its
  // regions are refused.
  MSG_SPSC_VERSION: 2,
  MSG_KIND_MPMC: 2,
  MSG_HEADER_OFFSET: 0,
  MSG_LENGTH_MASK: 0x0fffffff,
  MSG_TAG_SHIFT: 28,
  MSG_TAG_BINARY: 0,
  MSG_TAG_UTF8: 1,
  MSG_TAG_JSON: 2,
  MSG_TAG_LATIN1: 3,
  MSG_TAG_JSON_LATIN1: 4,
  // A JS number as an IEEE 754 binary64, little-endian (8 bytes): no JSON text either way, and
  // NaN, the infinities and -0 arrive as sent.
  MSG_TAG_NUMBER: 5,
  MSG_TAG_WRAP: 15,
  MSG_MAX_CAPACITY: 1 << 30,
  SPSC_CONTROL_OFFSET: 64,
  SPSC_DATA_OFFSET: 320,
  // Smallest byte ring: room for a record of 28 payload bytes (half the ring, see §15).
  SPSC_MIN_BYTES: 64,
  SPSC_MAX_ELEMENT_BYTES: 65536,
  // The MPMC queue: eight control lines (positions, wake words, waiter counts, repair counters),
  // an owner table of §6 records (one per open handle), one intent record per owner (the
  // position its party is producing or consuming: what lets others finish the slot of a party
  // that is gone), then the slots, each a u32 sequence word, a u32 record header and the payload,
  // padded to 8 bytes. A channel is an MPMC queue whose `closed` word is set once by close().
  // A slot's sequence word is 4 × position + state (0 empty, 1 full, 2 given up): one CAS moves a slot between any two states, a repair included, so a late repairer can
  // never write into a slot reused since. Hence positions live mod 2^30 in sequence words and a
  // capacity is at most 2^28 (a lap's distance, 4 × capacity, stays below 2^31). A stuck party
  // is judged gone (the gone rule of §6, a /proc read) at most once per MPMC_RECHECK_MS per
  // handle.
  MPMC_CONTROL_OFFSET: 64,
  MPMC_OWNERS_OFFSET: 576,
  MPMC_OWNER_SLOTS: 256,
  MPMC_INTENTS_OFFSET: 8768,
  // A handle writes its intent record at every claim, so handles claim owner slots 1, 5, 9, ...
  // first, then 2, 6, 10, ... (a stride of MPMC_INTENT_SPREAD): four 16-byte intent records share
  // a cache line, and the records of up to 64 handles then lie on lines of their own (a producer's
  // and a consumer's stores to one line cost both a line transfer per message).
  MPMC_INTENT_SPREAD: 4,
  MPMC_SLOTS_OFFSET: 12864,
  MPMC_SLOT_HEADER_BYTES: 8,
  MPMC_SLOT_ALIGN: 8,
  MPMC_MIN_CAPACITY: 2,
  MPMC_MAX_MESSAGE_BYTES: 1 << 20,
  MPMC_INTENT_PRODUCE: 1,
  MPMC_INTENT_CONSUME: 2,
  MPMC_MAX_CAPACITY: 1 << 28,
  MPMC_SEQ_SHIFT: 2,
  MPMC_SEQ_FULL: 1,
  MPMC_SEQ_SKIPPED: 2,
  MPMC_RECHECK_MS: 50,
  // The stack (kind 3): a Treiber stack of `capacity` nodes with a second list of the free
  // nodes, both in the same manner. Each list head is a u64 (read and CAS'd whole): the index of
  // its first node (1-based, 0: empty) in bits 0..20, a pending operation in bits 21..22 (push or
  // pop announced but not finished: anyone finishes it before doing anything else with the list),
  // the owner slot that announced it in bits 23..30, and a tag in bits 32..63 that grows with every
  // change of the head, so that a head seen once is never confused with a later one (ABA). A
  // node's state word says where it is (free list, stack, or held by one owner slot: taken from
  // the free list to be pushed, or popped) and carries the low 22 bits of the tag of the head
  // change that put it there, so that a late helper's CAS of a node that moved on fails. A node
  // held by an owner that is gone is taken back to the free list. Hence capacities up to 2^20 and
  // at most 256 owner slots (8 bits).
  MSG_KIND_STACK: 3,
  // A stack's format version, which differs from MSG_FORMAT_VERSION (that of the kinds without a
  // version of their own; MSG_SPSC_VERSION is the ring's): version 2 gives each node its depth
  // (StackNode.depth: the messages on the stack from that node down, itself included), written by
  // its pusher before the push is announced, so that the stack's size is the depth of its top
  // node, read in constant time. Version 1 nodes carried no depth (the word was reserved, zero),
  // so a size had to walk the list; its regions are refused.
  MSG_STACK_VERSION: 2,
  STACK_CONTROL_OFFSET: 64,
  STACK_OWNERS_OFFSET: 576,
  STACK_OWNER_SLOTS: 256,
  STACK_NODES_OFFSET: 8768,
  STACK_NODE_HEADER_BYTES: 16,
  STACK_NODE_ALIGN: 8,
  STACK_MIN_CAPACITY: 2,
  STACK_MAX_CAPACITY: 1 << 20,
  STACK_MAX_MESSAGE_BYTES: 1 << 20,
  STACK_INDEX_MASK: 0x1fffff,
  STACK_OP_SHIFT: 21,
  STACK_OP_MASK: 3,
  STACK_OP_PUSH: 1,
  STACK_OP_POP: 2,
  STACK_OWNER_SHIFT: 23,
  STACK_OWNER_MASK: 0xff,
  STACK_NODE_FREE: 0,
  STACK_NODE_STACKED: 1,
  STACK_NODE_PUSHING: 2,
  STACK_NODE_POPPED: 3,
  STACK_NODE_STATE_MASK: 3,
  STACK_NODE_OWNER_SHIFT: 2,
  STACK_NODE_STAMP_SHIFT: 10,
  STACK_RECHECK_MS: 50,
  // The priority queue (kind 4): a binary heap guarded by a Mutex of §13 (a whole sync region
  // inside the queue's region, whose owner table records the queue's open handles). The heap
  // entries (priority as an IEEE-754 double, sequence number, node) point at nodes holding the
  // payloads; a node's state word (free or queued) is the truth the heap is derived from, so a
  // holder that died halfway is repaired by rebuilding the heap and the free list from the nodes.
  // The free list is a stack of node numbers after the heap; the nodes follow it. Capacities are
  // powers of two so that every part stays 8-byte aligned.
  MSG_KIND_PRIORITY_QUEUE: 4,
  PQ_CONTROL_OFFSET: 64,
  PQ_MUTEX_OFFSET: 576,
  PQ_HEAP_OFFSET: 8960,
  PQ_HEAP_ENTRY_BYTES: 16,
  PQ_FREE_ENTRY_BYTES: 4,
  PQ_NODE_HEADER_BYTES: 24,
  PQ_NODE_ALIGN: 8,
  PQ_MIN_CAPACITY: 2,
  PQ_MAX_CAPACITY: 1 << 20,
  PQ_MAX_MESSAGE_BYTES: 1 << 20,
  PQ_ORDER_MIN: 0,
  PQ_ORDER_MAX: 1,
  PQ_NODE_FREE: 0,
  PQ_NODE_QUEUED: 1,
  PQ_RECHECK_MS: 50,
  // The broadcast channel (msg kind 5): one or more publishers, any number of subscribers, each
  // reading every record published after it joined. A ring of `capacity` records; the publishers
  // never wait for subscribers: a record is overwritten one lap later whoever has read it. Three
  // control lines (the publish position and the count of records given up, written by
  // publishers; the wake word subscribers sleep on; the count of sleepers), an owner table of §6
  // records (one per handle and one per subscriber), one 64-byte party record per owner slot (a
  // publisher's intent, or a subscriber's cursor: written by one party, so one line each), then
  // the records, each a u32 sequence word, a u32 record header and the payload, padded to 8
  // bytes. A record's sequence word is 4 × position + state (0 being written, 1 published, 2
  // given up): a reader copies the payload between two loads of it and keeps the copy only when
  // both read `published` for its position (a seqlock), so an overwritten record is never
  // returned torn. Positions live mod 2^30 in sequence words, hence a capacity of at most 2^28.
  MSG_KIND_BROADCAST: 5,
  BCAST_CONTROL_OFFSET: 64,
  BCAST_OWNERS_OFFSET: 256,
  BCAST_OWNER_SLOTS: 256,
  BCAST_PARTIES_OFFSET: 8448,
  BCAST_RECORDS_OFFSET: 24832,
  BCAST_RECORD_HEADER_BYTES: 8,
  BCAST_RECORD_ALIGN: 8,
  BCAST_MIN_CAPACITY: 2,
  BCAST_MAX_CAPACITY: 1 << 28,
  BCAST_MAX_MESSAGE_BYTES: 1 << 20,
  BCAST_ROLE_PUBLISH: 1,
  BCAST_ROLE_SUBSCRIBE: 2,
  BCAST_SEQ_SHIFT: 2,
  BCAST_SEQ_PUBLISHED: 1,
  BCAST_SEQ_SKIPPED: 2,
  BCAST_RECHECK_MS: 50,
  // Pools (docs/format.md §17): a buffer pool of `blockCount` fixed-size blocks in a segment or a
  // SharedArrayBuffer of its own. Why these numbers: the magic reads 'POOL' in memory order and
  // is stored last by the creator. An owner table of §6 records (one per open handle) follows
  // the header; then one 64-byte block record per block, so that the state words of two blocks,
  // written by different parties, never share a cache line; then the blocks, each starting on a
  // 64-byte boundary. A block record's state word is the generation in bits 16..31 (1..65535,
  // 0 only before the first acquire) and the holder's owner slot in bits 0..15 (0: free); one CAS
  // moves a block between free and held, so a state seen once can never be confused with a later
  // one of the same block (the generation grows with each acquire). A handle is the generation in
  // bits 16..31 and the block index in bits 0..15: hence at most 65536 blocks, and a handle is
  // never 0.
  POOL_MAGIC: 0x4c4f4f50, // 'POOL'
  POOL_FORMAT_VERSION: 1,
  POOL_KIND_BUFFER: 1,
  POOL_HEADER_OFFSET: 0,
  POOL_OWNERS_OFFSET: 64,
  POOL_OWNER_SLOTS: 256,
  POOL_BLOCKS_OFFSET: 8256,
  POOL_BLOCK_ALIGN: 64,
  POOL_MAX_BLOCKS: 65536,
  POOL_MAX_BLOCK_SIZE: 1 << 30,
  POOL_HOLDER_MASK: 0xffff,
  POOL_GEN_SHIFT: 16,
  POOL_GEN_MAX: 0xffff,
  POOL_INDEX_MASK: 0xffff,
  // An object pool (kind 2) is a buffer pool's format with records for blocks; a memory pool
  // (kind 3) groups its blocks in up to POOL_MAX_CLASSES size classes, listed in a class table
  // of 8-byte records between the owner table and the block records (which therefore start
  // POOL_MAX_CLASSES * 8 bytes later than in kinds 1 and 2). A party waiting for a free block
  // sleeps at most POOL_RECHECK_MS at a time before trying again (and reclaiming gone holders').
  POOL_KIND_OBJECT: 2,
  POOL_KIND_MEMORY: 3,
  POOL_MAX_CLASSES: 32,
  POOL_CLASSES_OFFSET: 8256,
  POOL_MEMORY_BLOCKS_OFFSET: 8512,
  POOL_RECHECK_MS: 50,
  // A pool's header `seal` once its `checksum` covers the shape (format.md §17): set by every
  // creator, 0 in a pool made before; the same rule and reason as PERSIST_HEADER_SEAL.
  POOL_SEAL: 0x4c414553, // 'SEAL'
  // Waking in batches (format.md §17, "Waiting"): a sleeper may ask to be woken only once
  // `wanted` blocks were freed since it registered (at most POOL_WAKE_BATCH_MAX), so that a
  // party freeing blocks one by one pays one futex wake per batch rather than one per block; a
  // sleeper that asked for more than one sleeps at most POOL_BATCH_WAIT_MS before trying again,
  // which bounds what a batch that never fills (the other holders keep their blocks) delays it.
  POOL_WAKE_BATCH_MAX: 8,
  POOL_BATCH_WAIT_MS: 1,
  // Persistence (docs/format.md §16): the write-ahead log, its records and the control segment
  // that the processes writing one persisted store share. Why these numbers: the magics read
  // 'SWAL' and 'SPCT' in memory order. A log file starts with a 64-byte header; a record has a
  // 32-byte header (checksum, length, LSN, expiresAt, type, encoding, name and key lengths) and
  // starts at a multiple of 8 so that its u64 fields are aligned in a mapped copy. The control
  // segment keeps each word that different writers update on its own 64-byte line (the log tail
  // and append lock, the durable position and flush lock, recovery), then 256 stripe locks one
  // line each (a mutation holds the stripe of its key while it applies to the store and appends
  // its record, so the log order of two writes of one key is their store order; 256 stripes make
  // unrelated writers collide rarely, and clear() takes them all in microseconds), then an owner
  // table of the Owner records of §6 with the store's 4096 slots (the lock words' 12 owner bits).
  // Version 2 of the log and snapshot files marks record type 6 (namespace settings): a reader
  // of version 1 refuses such a file by its header instead of ending the log at the first type 6
  // record. Files of version 1 are still read (WAL_OLDEST_VERSION), with the same rules, and are
  // never appended to: opening a store whose current log file is of version 1 starts a new file.
  WAL_MAGIC: 0x4c415753, // 'SWAL'
  WAL_FORMAT_VERSION: 2,
  WAL_OLDEST_VERSION: 1,
  WAL_FILE_HEADER_SIZE: 64,
  WAL_RECORD_HEADER_SIZE: 32,
  WAL_RECORD_ALIGN: 8,
  WAL_REC_SET: 1,
  WAL_REC_DELETE: 2,
  WAL_REC_CLEAR: 3,
  WAL_REC_NS_CREATE: 4,
  WAL_REC_NS_DROP: 5,
  WAL_REC_NS_SETTINGS: 6,
  PERSIST_MAGIC: 0x54435053, // 'SPCT'
  PERSIST_FORMAT_VERSION: 2,
  // The control segment version that an opener upgrades when no owner of it is live (§16).
  PERSIST_FORMAT_VERSION_PREVIOUS: 1,
  PERSIST_SYNC_NONE: 0,
  PERSIST_SYNC_INTERVAL: 1,
  PERSIST_SYNC_ALWAYS: 2,
  // Stored in PersistRecovery.headerSeal by every creator, with the header's checksum: it tells a
  // header whose checksum is set (any value, 0 included) from one written before the checksum
  // existed (seal and checksum both 0). A word of its own rather than "checksum 0 means none",
  // which a genuine checksum of 0 would confuse, and a value of many bits, so that damage that
  // turns it to 0 (and the checksum too) is not one flipped bit. Reads 'SEAL' in memory order.
  PERSIST_HEADER_SEAL: 0x4c414553,
  // Added to the policy (POLICY_NONE or POLICY_CLOCK) in a recorded
  // PersistRecovery.storePolicy, whose low half is then the policy: a word that records a policy
  // is never 0, the word of a file written before the field, and a damaged one (any one bit
  // flipped) is neither 0 nor the mark plus a known policy. One u32, stored with one atomic
  // write: a reader never sees half of it, so an opener that records the policy in a file
  // without it needs no lock that a reader takes. Reads 'PO' in memory order (bytes 2 and 3).
  PERSIST_POLICY_MARK: 0x4f500000,
  // The mark of a recorded PersistRecovery.segmentMode, whose word is then this mark plus the
  // store segment's permission bits (bits 0-8) plus their complement (bits 16-24): the mark has
  // none of those bits, so a word that records a mode is never 0, the word of a file written
  // before the field, and a damaged one (any one bit flipped) has either a mark bit wrong or a
  // mode bit that its complement bit no longer mirrors. One u32, stored with one atomic write,
  // as storePolicy. Byte 1 (memory order) reads 'P', or 'Q' with the mode's bit 8 in its lowest
  // bit, and byte 3 'R', or 'S' with the complement's bit 8.
  PERSIST_MODE_MARK: 0x52005000,
  PERSIST_STATE_EMPTY: 0,
  PERSIST_STATE_READY: 1,
  PERSIST_HEADER_OFFSET: 0,
  PERSIST_LOG_OFFSET: 64,
  PERSIST_DURABLE_OFFSET: 128,
  PERSIST_RECOVERY_OFFSET: 192,
  PERSIST_STRIPES_OFFSET: 256,
  PERSIST_STRIPES: 256,
  PERSIST_STRIPE_SIZE: 64,
  PERSIST_OWNERS_OFFSET: 16640,
  PERSIST_CONTROL_BYTES: 147712,
  // A party that finds the flush or checkpoint lock held asks whether its holder is gone (§6's
  // rule, a /proc read for another process) only once it has seen the same hold for this long: a
  // sync holds the flush lock for far less, and a dead holder is taken over this much later.
  PERSIST_TAKEOVER_MS: 20,
  // Snapshots: a 64-byte header ('SSNP'), set records in the log's record format, a 64-byte
  // trailer ('SEND') whose CRC32C of the whole body makes a truncated or damaged file detectable
  // before anything of it is trusted. The default size of log after which a checkpoint starts by
  // itself: 64 MiB replays in well under a second, and a snapshot per 64 MiB of writes costs
  // little against them.
  SNAP_MAGIC: 0x504e5353, // 'SSNP'
  SNAP_END_MAGIC: 0x444e4553, // 'SEND'
  SNAP_FORMAT_VERSION: 2,
  SNAP_OLDEST_VERSION: 1,
  SNAP_HEADER_SIZE: 64,
  SNAP_TRAILER_SIZE: 64,
  PERSIST_CHECKPOINT_BYTES: 64 * 1024 * 1024,
  // The replay filter of a recovery from a snapshot (format.md §16, "Recovery"): a bit per
  // XXH32 of a key's namespace and key bytes (one after the other, seed KEY) and per XXH32 of a
  // namespace's bytes (seed NS); the snapshot's set records whose bits are set are candidates that
  // the recovery checks exactly (the native walk stops before them). At least this many bits a
  // name the filter holds: some 1 candidate in 16 is then a false one.
  REPLAY_FILTER_KEY_SEED: 0x6b657973, // 'keys'
  REPLAY_FILTER_NS_SEED: 0x6e616d65, // 'name'
  REPLAY_FILTER_BITS_PER_NAME: 16,
  // A log file grows by this many zero bytes at a time, ahead of its records: an append then
  // overwrites allocated blocks and does not change the file's size, so the fdatasync of a group
  // commit writes the data alone, without a journal commit for the size (one per 1 MiB of log).
  WAL_PREALLOC_BYTES: 1024 * 1024,
  // The zeros of that growth are written this many bytes (one page) per write. The page cache
  // gives a buffered write a folio as large as the write (up to 2 MiB on Linux 6.x), and a store
  // through a shared mapping marks its whole folio dirty: after one 1 MiB write of zeros, every
  // group commit's fdatasync wrote back 1 MiB for a few KiB of records (measured: 3 syncs in 4
  // wrote exactly 1 MiB, 2.5x the sync time of page-sized folios).
  WAL_ZERO_WRITE_BYTES: 4096,
  // A store with sync 'none' syncs its log only at a checkpoint, which writes the whole file back
  // anyway: its log grows by this many bytes at a time, written 1 MiB (WAL_PREALLOC_BYTES) per
  // write. Each growth also maps the file anew; fewer of them saved 0.05 µs per logged set of a
  // 100-byte value in a JavaScript-engine loop, and a whole page-sized growth 0.12 µs more.
  WAL_PREALLOC_NONE_BYTES: 8 * 1024 * 1024,
  // The most bytes a log file holds (its header included): a handle maps the whole file as one
  // Uint8Array, which Node caps at 2^32 bytes, and the offsets given to the native writer and
  // sealer stay below 2^31. A record whose end would pass it is refused with ERR_LOG_FULL and a
  // checkpoint starts the next file; growth stops there too (a multiple of both growth steps).
  // A store's checkpointBytes is at most this (Store.create), so that a store that checkpoints
  // by itself does so long before its log file is full.
  WAL_MAX_FILE_BYTES: 2 * 1024 * 1024 * 1024,
};

// Every struct is little-endian, packed exactly as listed, naturally aligned.
// Field: [name, type, offset] with type u8|u16|u32|u64, or [name, 'u8', offset, count] for bytes.
const structs = {
  Header: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['totalSize', 'u64', 8],
      ['bucketCount', 'u32', 16],
      // Entries the count cells were granted, in all (format.md §5, "Count cells"): at most
      // maxEntries; every live entry holds one.
      ['grantedEntries', 'u32', 20],
      ['maxEntries', 'u32', 24],
      ['freeHead', 'u32', 28],
      ['gcCounter', 'u32', 32],
      ['headerChecksum', 'u32', 36],
      ['writeCounter', 'u64', 40],
      ['readCounter', 'u64', 48],
      // Namespace ids 1..maxNamespaces exist (format.md §5); covered by headerChecksum.
      ['maxNamespaces', 'u32', 56],
      ['reserved', 'u32', 60],
    ],
  },
  AllocState: {
    size: 256,
    fields: [
      ['lock', 'u32', 0],
      ['classCount', 'u32', 4],
      // Units freed since the last repair pass (which coalesces free runs): an allocation that
      // failed runs one only when this could make room (saturates at 2^32 - 1).
      ['freedUnits', 'u32', 8],
      // The free list of large blocks (class LARGE_CLASS), in no particular order.
      ['largeHead', 'u32', 12],
      // The units of all blocks on the free lists (the size-class lists and the large list):
      // added by every push, subtracted by every pop, unlink and split, stored exact by the
      // repair pass; written only under AllocState.lock, read without it as a hint.
      ['listedUnits', 'u32', 16],
      ['reserved', 'u8', 20, 44],
      // One list head per size class (SIZE_CLASS_COUNT of them).
      ['freeHeads', 'u32', 64, 48],
    ],
  },
  // The compaction cursor (format.md §8, "Compaction"); every field written under AllocState.lock.
  CompactState: {
    size: 64,
    fields: [
      // A block start where the next step's window begins; 0 (or anything outside
      // [firstUnit, freeHead)) reads as firstUnit.
      ['cursor', 'u32', 0],
      // Sweeps completed (windows that reached freeHead), steps run, entries moved, runs merged.
      ['sweeps', 'u32', 4],
      ['steps', 'u32', 8],
      ['moved', 'u32', 12],
      ['merged', 'u32', 16],
      // Sweeps started: a step whose window starts over at firstUnit adds 1, so that a window of
      // the sweep before, still between its walk and its merge, does not merge (it may overlap
      // the new sweep's first windows). A write that joins the blocks its evictions freed adds 1
      // too: a window walked before the join may hold a block start it removed.
      ['wraps', 'u32', 20],
      ['reserved', 'u8', 24, 40],
    ],
  },
  // Which persisted store a store segment holds (format.md §4, §16 "Files"): written by the
  // persist room when it creates or rebuilds the segment, or by the first open of a segment
  // written before the field existed; read by every open of a persistence directory.
  PersistTag: {
    size: 64,
    fields: [
      // The control segment's storeId of the directory whose store this segment is; 0: none
      // recorded (a store without persistence, or one written before the field existed).
      ['storeId', 'u64', 0],
      ['reserved', 'u8', 8, 56],
    ],
  },
  NsState: {
    size: 64,
    fields: [
      ['lock', 'u32', 0],
      ['liveCount', 'u32', 4],
      // Written under the lock: no record below it is free (format.md §5); 0 reads as 1.
      ['freeHint', 'u32', 8],
      ['reserved', 'u8', 12, 52],
    ],
  },
  RepairState: {
    size: 64,
    fields: [
      ['lock', 'u32', 0],
      ['repairs', 'u32', 4],
      // Repair passes that cut the pool short (format.md §9, step 3): a writer that sees it move
      // forgets its parked blocks (§8, "Parked blocks").
      ['cuts', 'u32', 8],
      // Header.gcCounter as the pass that last moved `cuts` read it, stored before it moved them:
      // equal to gcCounter while that pass has not completed (§8, "Writing a large value").
      ['cutGc', 'u32', 12],
      ['reserved', 'u8', 16, 48],
    ],
  },
  EvictState: {
    size: 128,
    fields: [
      ['policy', 'u32', 0],
      ['marking', 'u32', 4],
      ['ttlSeen', 'u32', 8],
      ['reserved', 'u8', 12, 52],
      ['hand', 'u32', 64],
      ['sweep', 'u32', 68],
      ['turns', 'u32', 72],
      // The room lease (format.md §8, "The room lease"): a lock word (§1) that orders the writes
      // that make room by joined runs, one at a time. Advisory: it guards no data, so a holder
      // that is gone is taken over with one CAS and no repair, and a waiter goes on without it
      // after lockTimeoutMs. Zero (free) in a store of an earlier version: no version change.
      ['roomLease', 'u32', 76],
      ['reserved2', 'u8', 80, 48],
    ],
  },
  NsPolicy: {
    size: 64,
    fields: [
      ['policy', 'u32', 0],
      ['reserved', 'u32', 4],
      ['ttlMs', 'u64', 8],
      ['hits', 'u64', 16],
      ['misses', 'u64', 24],
      ['evictions', 'u64', 32],
      ['expirations', 'u64', 40],
      ['bytes', 'u64', 48],
      ['reserved2', 'u8', 56, 8],
    ],
  },
  // Two lines: the first is read by every operation on the namespace and written only when the
  // namespace is created or dropped; the second holds `count`, written by every insert and delete.
  Namespace: {
    size: 128,
    fields: [
      ['state', 'u32', 0],
      ['nameLength', 'u32', 4],
      // Incremented when a drop of the namespace starts (docs/format.md §5, "Dropping").
      ['generation', 'u32', 8],
      // XXH32(name, NS_HASH_SEED): the record's home in the name index.
      ['nameHash', 'u32', 12],
      ['reserved', 'u8', 16, 48],
      // The namespace's count was here (version 6); it is in the count cells now.
      ['reserved2', 'u8', 64, 64],
    ],
  },
  // The name of namespace id i: MAX_NAMESPACE_BYTES UTF-8 bytes, zero-padded, and one zero byte.
  // The head of a count cell (format.md §5, "Count cells"); the cell's namespace counts follow it.
  // Every word is modular u32: the cell's unused grant is (limit - entries) as a signed 32-bit
  // number, never negative at rest; `entries` and `expiring` alone may be "negative" (entries
  // inserted through other cells and removed through this one). `expiring` counts the live
  // entries whose expiresAt is not 0; only its sum over the cells means anything.
  CountCell: {
    size: 64,
    fields: [
      ['limit', 'u32', 0],
      ['entries', 'u32', 4],
      ['expiring', 'u32', 8],
      ['reserved', 'u8', 12, 52],
    ],
  },
  NsName: {
    size: 256,
    fields: [['bytes', 'u8', 0, 256]],
  },
  Owner: {
    size: 32,
    fields: [
      ['pid', 'u32', 0],
      ['tid', 'u32', 4],
      ['startTime', 'u64', 8],
      ['bootId', 'u64', 16],
      ['state', 'u32', 24],
      // 0, or the pid of a process acting on a verdict about the record (freeing or adopting the
      // slot): taken by compare-and-swap from 0, stored 0 after (docs/format.md §6).
      ['actor', 'u32', 28],
    ],
  },
  SyncHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['kind', 'u32', 4],
      ['version', 'u32', 8],
      ['reserved', 'u8', 12, 52],
    ],
  },
  MutexState: {
    size: 128,
    fields: [
      ['lock', 'u32', 0],
      ['generation', 'u32', 4],
      ['recovering', 'u32', 8],
      ['reserved', 'u8', 12, 52],
      ['waiters', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  RwLockState: {
    size: 128,
    fields: [
      ['guard', 'u32', 0],
      ['seq', 'u32', 4],
      ['writer', 'u32', 8],
      ['readers', 'u32', 12],
      ['writersWaiting', 'u32', 16],
      ['recovering', 'u32', 20],
      ['generation', 'u32', 24],
      ['reserved', 'u8', 28, 36],
      ['sleepers', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  ConditionState: {
    size: 128,
    fields: [
      ['seq', 'u32', 0],
      ['turns', 'u32', 4],
      ['groups', 'u64', 8],
      ['reserved', 'u8', 16, 48],
      ['sleepers', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  SemaphoreState: {
    size: 128,
    fields: [
      ['guard', 'u32', 0],
      ['permits', 'u32', 4],
      ['total', 'u32', 8],
      ['recovering', 'u32', 12],
      ['generation', 'u32', 16],
      ['reserved', 'u8', 20, 44],
      ['sleepers', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  BarrierState: {
    size: 128,
    fields: [
      ['guard', 'u32', 0],
      ['state', 'u32', 4],
      ['arrived', 'u32', 8],
      ['parties', 'u32', 12],
      ['breaks', 'u32', 16],
      // Bit (g mod 32) says whether generation g passed (1) or was reset (0), for the last 32.
      ['passed', 'u32', 20],
      ['reserved', 'u8', 24, 40],
      ['sleepers', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  WaitGroupState: {
    size: 128,
    fields: [
      ['count', 'u32', 0],
      // Plus 1 (wrapping) each time an add brings count to 0: the futex word of the waiters.
      ['generation', 'u32', 4],
      ['reserved', 'u8', 8, 56],
      ['sleepers', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
    ],
  },
  RegistryHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['maxEntries', 'u32', 8],
      ['dataUnit', 'u32', 12],
      ['endUnit', 'u32', 16],
      ['nonce', 'u32', 20],
      ['freeHead', 'u32', 24],
      ['tail', 'u32', 28],
      ['repairs', 'u32', 32],
      ['changes', 'u32', 36],
      ['headerChecksum', 'u32', 40],
      ['reserved', 'u8', 44, 20],
    ],
  },
  RegistryEntry: {
    size: 128,
    fields: [
      ['state', 'u32', 0],
      ['generation', 'u32', 4],
      ['nameHash', 'u32', 8],
      ['nameLength', 'u32', 12],
      ['unit', 'u32', 16],
      ['units', 'u32', 20],
      ['version', 'u32', 24],
      ['reserved', 'u32', 28],
      ['kind', 'u8', 32, 16],
      ['params', 'u32', 48, 4],
      ['name', 'u8', 64, 64],
    ],
  },
  RegistryFree: {
    size: 64,
    fields: [
      ['tag', 'u32', 0],
      ['units', 'u32', 4],
      ['next', 'u32', 8],
      ['reserved', 'u8', 12, 52],
    ],
  },
  RegistryStoreRef: {
    size: 16,
    fields: [
      ['target', 'u32', 0],
      ['length', 'u32', 4],
      ['reserved', 'u8', 8, 8],
    ],
  },
  MsgHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['kind', 'u32', 4],
      ['version', 'u32', 8],
      ['capacity', 'u32', 12],
      ['elementSize', 'u32', 16],
      ['reserved', 'u8', 20, 44],
    ],
  },
  SpscControl: {
    size: 256,
    fields: [
      ['tail', 'u32', 0],
      ['reserved', 'u8', 4, 60],
      ['head', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
      ['consumerSleeping', 'u32', 128],
      ['reserved3', 'u8', 132, 60],
      ['producerSleeping', 'u32', 192],
      ['reserved4', 'u8', 196, 60],
    ],
  },
  MpmcControl: {
    size: 512,
    fields: [
      ['tail', 'u32', 0],
      ['reserved', 'u8', 4, 60],
      ['head', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
      ['produced', 'u32', 128],
      ['reserved3', 'u8', 132, 60],
      ['consumed', 'u32', 192],
      ['reserved4', 'u8', 196, 60],
      ['consumerWaiters', 'u32', 256],
      ['reserved5', 'u8', 260, 60],
      ['producerWaiters', 'u32', 320],
      ['reserved6', 'u8', 324, 60],
      ['skippedWrites', 'u32', 384],
      ['skippedReads', 'u32', 388],
      ['closed', 'u32', 392],
      ['reserved7', 'u8', 396, 116],
    ],
  },
  MpmcIntent: {
    size: 16,
    fields: [
      ['roles', 'u32', 0],
      ['producePos', 'u32', 4],
      ['consumePos', 'u32', 8],
      // A batch: how many positions after producePos/consumePos the same claim took (0: one).
      ['extra', 'u32', 12],
    ],
  },
  MpmcSlot: {
    size: 8,
    fields: [
      ['seq', 'u32', 0],
      ['record', 'u32', 4],
    ],
  },
  StackControl: {
    size: 512,
    fields: [
      ['top', 'u64', 0],
      ['reserved', 'u8', 8, 56],
      ['free', 'u64', 64],
      ['reserved2', 'u8', 72, 56],
      ['pushed', 'u32', 128],
      ['reserved3', 'u8', 132, 60],
      ['popped', 'u32', 192],
      ['reserved4', 'u8', 196, 60],
      ['popWaiters', 'u32', 256],
      ['reserved5', 'u8', 260, 60],
      ['pushWaiters', 'u32', 320],
      ['reserved6', 'u8', 324, 60],
      ['stacked', 'u32', 384],
      ['lostPushes', 'u32', 388],
      ['lostPops', 'u32', 392],
      ['reserved7', 'u8', 396, 116],
    ],
  },
  StackNode: {
    size: 16,
    fields: [
      ['state', 'u32', 0],
      ['next', 'u32', 4],
      ['record', 'u32', 8],
      ['depth', 'u32', 12],
    ],
  },
  PqControl: {
    size: 512,
    fields: [
      ['count', 'u32', 0],
      ['nextSeq', 'u32', 4],
      ['order', 'u32', 8],
      ['freeCount', 'u32', 12],
      ['rebuilds', 'u32', 16],
      ['reserved', 'u8', 20, 44],
      ['enqueued', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
      ['dequeued', 'u32', 128],
      ['reserved3', 'u8', 132, 60],
      ['dequeueWaiters', 'u32', 192],
      ['reserved4', 'u8', 196, 60],
      ['enqueueWaiters', 'u32', 256],
      ['reserved5', 'u8', 260, 252],
    ],
  },
  PqEntry: {
    size: 16,
    fields: [
      ['priority', 'u64', 0],
      ['seq', 'u32', 8],
      ['node', 'u32', 12],
    ],
  },
  PqNode: {
    size: 24,
    fields: [
      ['state', 'u32', 0],
      ['seq', 'u32', 4],
      ['priority', 'u64', 8],
      ['record', 'u32', 16],
      ['reserved', 'u32', 20],
    ],
  },
  BcastControl: {
    size: 192,
    fields: [
      ['tail', 'u32', 0],
      ['skipped', 'u32', 4],
      ['reserved', 'u8', 8, 56],
      ['published', 'u32', 64],
      ['reserved2', 'u8', 68, 60],
      ['waiters', 'u32', 128],
      ['reserved3', 'u8', 132, 60],
    ],
  },
  BcastParty: {
    size: 64,
    fields: [
      ['roles', 'u32', 0],
      ['publishPos', 'u32', 4],
      ['cursor', 'u32', 8],
      ['reserved', 'u8', 12, 52],
    ],
  },
  BcastRecord: {
    size: 8,
    fields: [
      ['seq', 'u32', 0],
      ['record', 'u32', 4],
    ],
  },
  PoolHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['kind', 'u32', 4],
      ['version', 'u32', 8],
      ['blockSize', 'u32', 12],
      ['blockCount', 'u32', 16],
      ['waiters', 'u32', 20],
      ['released', 'u32', 24],
      ['classCount', 'u32', 28],
      ['wanted', 'u32', 32],
      ['freed', 'u32', 36],
      // XXH32 (seed 0) of the shape: header bytes 4..19 and 28..31, then in kind 3 the class
      // table's 256 bytes; valid when `seal` holds POOL_SEAL (format.md §17).
      ['checksum', 'u32', 40],
      ['seal', 'u32', 44],
      ['reserved', 'u8', 48, 16],
    ],
  },
  PoolBlock: {
    size: 64,
    fields: [
      ['state', 'u32', 0],
      ['length', 'u32', 4],
      ['reserved', 'u8', 8, 56],
    ],
  },
  PoolClass: {
    size: 8,
    fields: [
      ['blockSize', 'u32', 0],
      ['count', 'u32', 4],
    ],
  },
  WalFileHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['startLsn', 'u64', 8],
      ['createdMs', 'u64', 16],
      ['reserved', 'u8', 24, 36],
      ['checksum', 'u32', 60],
    ],
  },
  WalRecord: {
    size: 32,
    fields: [
      ['checksum', 'u32', 0],
      ['length', 'u32', 4],
      ['lsn', 'u64', 8],
      ['expiresAt', 'u64', 16],
      ['type', 'u8', 24],
      ['encoding', 'u8', 25],
      ['nsLength', 'u8', 26],
      ['reserved', 'u8', 27],
      ['keyLength', 'u16', 28],
      ['reserved2', 'u16', 30],
    ],
  },
  PersistHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['totalSize', 'u64', 8],
      ['bucketCount', 'u32', 16],
      ['maxEntries', 'u32', 20],
      ['syncMode', 'u32', 24],
      ['intervalMs', 'u32', 28],
      ['state', 'u32', 32],
      ['checkpointMs', 'u32', 36],
      ['checkpointBytes', 'u64', 40],
      ['storeId', 'u64', 48],
      // The store's maxNamespaces (0, from a directory written before it existed, reads as 255).
      ['maxNamespaces', 'u32', 56],
      // CRC32C of bytes 0..31 and 36..59 (all but `state` and itself), valid when
      // PersistRecovery.headerSeal holds PERSIST_HEADER_SEAL (format.md §16).
      ['headerChecksum', 'u32', 60],
    ],
  },
  PersistLog: {
    size: 64,
    fields: [
      ['tail', 'u64', 0],
      ['appendLock', 'u32', 8],
      ['reserved', 'u32', 12],
      ['startLsn', 'u64', 16],
      ['fileBytes', 'u64', 24],
      ['reserved2', 'u8', 32, 32],
    ],
  },
  PersistDurable: {
    size: 64,
    fields: [
      ['durable', 'u64', 0],
      ['tick', 'u32', 8],
      ['flushLock', 'u32', 12],
      ['lastSyncMs', 'u64', 16],
      ['waiters', 'u32', 24],
      ['reserved', 'u32', 28],
      ['syncing', 'u64', 32],
      ['reserved2', 'u8', 40, 24],
    ],
  },
  PersistRecovery: {
    size: 64,
    fields: [
      ['lock', 'u32', 0],
      ['failed', 'u32', 4],
      ['recoveries', 'u32', 8],
      ['checkpointLock', 'u32', 12],
      ['checkpoints', 'u32', 16],
      // PERSIST_HEADER_SEAL once the header's checksum is set; 0 in a file written before.
      ['headerSeal', 'u32', 20],
      ['lastCheckpointMs', 'u64', 24],
      // The store's default eviction policy, PERSIST_POLICY_MARK + policy (POLICY_NONE or
      // POLICY_CLOCK), which a rebuild creates the store with; 0 in a file written before it
      // existed (format.md §16, "The store's policy").
      ['storePolicy', 'u32', 32],
      // The store segment's permission bits, PERSIST_MODE_MARK | (~mode & 0x1ff) << 16 | mode,
      // which a rebuild creates the segment with; 0 in a file written before it existed
      // (format.md §16, "The segment's mode").
      ['segmentMode', 'u32', 36],
      // The inode number of the control file this line is in, recorded by its creator (or by the
      // first opener of a file written before the field, 0 there): a file whose own inode differs
      // is a copy (format.md §16, "Copies of a directory").
      ['controlIno', 'u64', 40],
      // The store id of a copy, given by the first open of the copy, which the header's storeId
      // (sealed) cannot take; 0: the header's storeId is the store's.
      ['copyStoreId', 'u64', 48],
      ['reserved2', 'u8', 56, 8],
    ],
  },
  SnapHeader: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['version', 'u32', 4],
      ['startLsn', 'u64', 8],
      ['createdMs', 'u64', 16],
      ['totalSize', 'u64', 24],
      ['bucketCount', 'u32', 32],
      ['maxEntries', 'u32', 36],
      ['maxNamespaces', 'u32', 40],
      ['reserved', 'u8', 44, 16],
      ['checksum', 'u32', 60],
    ],
  },
  SnapTrailer: {
    size: 64,
    fields: [
      ['magic', 'u32', 0],
      ['reserved', 'u32', 4],
      ['records', 'u64', 8],
      ['bodyBytes', 'u64', 16],
      ['bodyChecksum', 'u32', 24],
      ['reserved2', 'u32', 28],
      // The log's tail once the last entry was read (format.md §16, "Checkpoints"): only the
      // records from startLsn up to it can have effects in the snapshot. 0: not recorded (a
      // snapshot written before the field, whose reserved bytes were zero).
      ['endLsn', 'u64', 32],
      ['reserved3', 'u8', 40, 20],
      ['checksum', 'u32', 60],
    ],
  },
  Bucket: {
    size: 32,
    fields: [
      ['head', 'u32', 0],
      ['count', 'u32', 4],
      ['lock', 'u32', 8],
      ['reserved', 'u8', 12, 20],
    ],
  },
  // The entry header (format.md §8): the words a writer changes atomically (next, flags) and the
  // checksum first, then the immutable fields; key and value follow at byte 28. expiresAt is 48
  // bits: expiresHi (bits 32..47) and expiresLo (bits 0..31).
  Entry: {
    size: 28,
    fields: [
      ['next', 'u32', 0],
      ['keyHash', 'u32', 4],
      ['flags', 'u32', 8],
      ['checksum', 'u32', 12],
      ['keyLength', 'u16', 16],
      ['valueLength', 'u16', 18],
      ['namespaceId', 'u16', 20],
      ['expiresHi', 'u16', 22],
      ['expiresLo', 'u32', 24],
    ],
  },
  // What an engine's get leaves in the facade's `out` array (lib/store/contract.js) on a hit: the
  // value's encoding, and where the entry was and the header words read under the validated
  // seqlock (docs/format.md §9, "Cached reads"), so that the facade's read cache can validate a
  // later read of the same entry without calling the engine. Private memory of one handle, not
  // part of the store.
  GetOut: {
    size: 40,
    fields: [
      ['encoding', 'u32', 0],
      ['unit', 'u32', 4],
      ['keyHash', 'u32', 8],
      ['flags', 'u32', 12],
      ['checksum', 'u32', 16],
      ['keyLength', 'u32', 20],
      ['valueLength', 'u32', 24],
      ['reserved', 'u32', 28],
      ['expiresAt', 'u64', 32],
    ],
  },
  // The value bytes of an indirect entry (FLAG_INDIRECT): which large block holds the value, and
  // its length. They follow a key of any length, so they are unaligned.
  IndirectRef: {
    size: 8,
    fields: [
      ['unit', 'u32', 0],
      ['length', 'u32', 4],
    ],
  },
  // The header words of a free block (FREE set), of any class (format.md §8): `next` and `prev`
  // link its free list both ways (so that a compaction step unlinks any block in O(1)), `flags`
  // where every block has it, `units` a free large block's size. 16 bytes: it fits the smallest
  // block a free large block's split can leave (one unit).
  FreeBlock: {
    size: 16,
    fields: [
      ['next', 'u32', 0],
      ['prev', 'u32', 4],
      ['flags', 'u32', 8],
      ['units', 'u32', 12],
    ],
  },
  // The header of a large block (class LARGE_CLASS): `next` and `flags` where an entry has them,
  // so that free lists and the pool walk read every block alike, `units` where a free block has
  // it; the value follows at byte LARGE_HEADER_SIZE.
  LargeBlock: {
    size: 32,
    fields: [
      ['next', 'u32', 0],
      // `prev` while free. While in use and not yet referred to: RepairState.cuts as its writer
      // read it at the allocation, or as the last repair pass that kept the block in flight found
      // it (LargeHeld: a block that holds an older value was not seen by a pass that cut since).
      ['cuts', 'u32', 4],
      ['flags', 'u32', 8],
      ['units', 'u32', 12],
      ['valueLength', 'u32', 16],
      // The owner slot of the writer between allocating the block and linking the entry that
      // refers to it; 0 once linked (verify() tells such a block in flight from a leaked one).
      ['writer', 'u32', 20],
      ['valueChecksum', 'u32', 24],
      // The keyHash of the entry that refers to the block, written with valueChecksum: a hint
      // that names the bucket a compaction step looks in for that entry (a wrong one finds none).
      ['keyHash', 'u32', 28],
    ],
  },
};

// Where each struct lives in the segment: `at` names the constant holding the byte offset of its
// first (or only) record, `count` how many records the table holds (a constant, or the header
// field that sets it). Entry is not placed here: an entry starts a block of the pool, and the one
// at unit u is at byte u * BLOCK_UNIT.
const placement = {
  Header: { at: 'HEADER_OFFSET', count: 1 },
  AllocState: { at: 'ALLOC_OFFSET', count: 1 },
  NsState: { at: 'NSSTATE_OFFSET', count: 1 },
  RepairState: { at: 'REPAIR_OFFSET', count: 1 },
  EvictState: { at: 'EVICT_OFFSET', count: 1 },
  CompactState: { at: 'COMPACT_OFFSET', count: 1 },
  PersistTag: { at: 'PERSIST_TAG_OFFSET', count: 1 },
  Owner: { at: 'OWNERS_OFFSET', count: 'OWNER_SLOTS' },
  Bucket: { at: 'BUCKETS_OFFSET', count: 'Header.bucketCount' },
};

// Status codes: 0 is success; the C++ core returns these, the binding and the JS engine map them
// to ShmError codes (the string is the stable `code`).
const statuses = [
  [0, 'OK'],
  [1, 'ERR_INVALID_ARG'],
  [2, 'ERR_SHM_NOT_FOUND'],
  [3, 'ERR_SHM_EXISTS'],
  [4, 'ERR_SHM_ACCESS'],
  [5, 'ERR_SHM_NO_SPACE'],
  [6, 'ERR_SHM_TOO_LARGE'],
  [7, 'ERR_SHM_IO'],
  [8, 'ERR_CLOSED'],
  [9, 'ERR_BAD_MAGIC'],
  [10, 'ERR_BAD_VERSION'],
  [11, 'ERR_BAD_SIZE'],
  [12, 'ERR_BAD_CHECKSUM'],
  [13, 'ERR_STORE_FULL'],
  [14, 'ERR_TOO_MANY_NAMESPACES'],
  [15, 'ERR_TOO_MANY_HANDLES'],
  [16, 'ERR_LOCK_TIMEOUT'],
  [17, 'ERR_CORRUPT'],
  [18, 'ERR_ADDON_ABI'],
  [19, 'ERR_ADDON_MISSING'],
  [20, 'ERR_KEY_TOO_LONG'],
  [21, 'ERR_VALUE_TOO_LONG'],
  [22, 'ERR_NO_MEMORY'],
  [23, 'ERR_NOT_OWNER'],
  [24, 'ERR_BARRIER_BROKEN'],
  // Registry (docs/format.md §14).
  [30, 'ERR_EXISTS'],
  [31, 'ERR_NOT_FOUND'],
  [32, 'ERR_KIND_MISMATCH'],
  [33, 'ERR_REGISTRY_FULL'],
  // Also messaging's: an enqueue on a handle whose batch call is still running (from a value's
  // toJSON), refused with nothing changed.
  [34, 'ERR_IN_USE'],
  // Messaging (docs/format.md §15): a blocking queue operation's wait ran out; a message larger
  // than the queue can hold; an operation on a closed channel; a channel's sendBatch() aborted by
  // its signal (its `cause` the signal's reason, its `sent` how far the batch went).
  [35, 'ERR_QUEUE_TIMEOUT'],
  [36, 'ERR_MESSAGE_TOO_LARGE'],
  [37, 'ERR_CHANNEL_CLOSED'],
  [38, 'ERR_ABORTED'],
  [45, 'ERR_PERSIST_IO'],
  [46, 'ERR_PERSIST_CORRUPT'],
  // A write through a handle of a persisted store that another opener rebuilt from its log since
  // the handle attached (docs/format.md §16, "Recovery": the fence).
  [47, 'ERR_PERSIST_STALE'],
  // A call that only a persisted store can serve (setDurable, checkpoint, backup) on a store
  // opened without `persist`: a state of the handle, not a bad argument (those are checked first).
  [48, 'ERR_NOT_PERSISTED'],
  // A write whose record would take the current log file past WAL_MAX_FILE_BYTES (a store that
  // does not checkpoint by itself): nothing was written; a checkpoint starts the next file.
  [49, 'ERR_LOG_FULL'],
  // 50-54: the adapters room. A package an adapter needs (a peer dependency) is not installed.
  [50, 'ERR_PEER_MISSING'],
  // Pools (docs/format.md §17): no free block (after reclaiming those of gone holders); a handle
  // that does not name a block held now (released already, reclaimed, reused since, out of range
  // or of another pool).
  [70, 'ERR_POOL_EXHAUSTED'],
  [71, 'ERR_BAD_HANDLE'],
  // A namespace id a handle resolved was dropped since (docs/format.md §5, "Dropping").
  [73, 'ERR_NAMESPACE_DROPPED'],
];

module.exports = { constants, structs, placement, statuses, sizeClasses: sizeClasses() };
