// shm::Store: the native engine of the shmstore format (version 5) (docs/format.md) over a raw
// region.
//
// A Store is one open handle: it owns an owner slot, private counters and scratch buffers, and
// must be used by one thread at a time (give each thread its own handle). The region itself may
// be shared by any number of handles in any threads and processes, native or pure JS.
// Nothing here throws or allocates on the get/set paths; every index read from the region is
// bounds-checked, so a corrupt region yields ERR_CORRUPT or a miss, never a wild access.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "layout/layout_gen.h"
#include "ownership/heartbeat.h"
#include "ownership/owners.h"
#include "ownership/waiter.h"
#include "store/alloc.h"
#include "store/cells.h"
#include "store/chain.h"

namespace shm {

using layout::Status;

namespace internal {
struct RepairScan;  // repair.cpp
struct VerifyScan;  // verify.cpp
}  // namespace internal

inline constexpr uint32_t kMaxKeyBytes = static_cast<uint32_t>(layout::kMaxKeyBytes);
inline constexpr uint32_t kMaxValueBytes = static_cast<uint32_t>(layout::kMaxValueBytes);
// Longer values live in a large block the entry refers to (format.md §8, "Large values").
inline constexpr uint32_t kMaxInlineValueBytes =
    static_cast<uint32_t>(layout::kMaxInlineValueBytes);
inline constexpr uint32_t kMaxNamespaceBytes = static_cast<uint32_t>(layout::kMaxNamespaceBytes);
// The largest namespace id of any store; a store's own bound is its header's maxNamespaces.
inline constexpr uint32_t kMaxNamespaceId = static_cast<uint32_t>(layout::kMaxNamespaces);
inline constexpr uint32_t kDefaultMaxNamespaces =
    static_cast<uint32_t>(layout::kDefaultMaxNamespaces);
// The seed of XXH32 over a namespace name, for the name index (format.md §5).
inline constexpr uint32_t kNsHashSeed = static_cast<uint32_t>(layout::kNsHashSeed);
// A name index slot: the id in the low bits, the high bits of the name's hash as a tag.
inline constexpr uint32_t kNsIndexIdMask = static_cast<uint32_t>(layout::kNsIndexIdMask);
inline constexpr uint32_t kNsIndexTagMask = static_cast<uint32_t>(layout::kNsIndexTagMask);
inline constexpr uint32_t NsIndexSlot(uint32_t id, uint32_t hash) noexcept {
  return id | (hash & kNsIndexTagMask);
}
inline constexpr uint32_t kDefaultLockTimeoutMs = 1000;
// Set's expiry argument: 0 takes the namespace's default TTL, kExpiryNever stores no expiry, any
// other value is the absolute expiry in milliseconds since the Unix epoch (format.md §8).
inline constexpr uint64_t kExpiryDefault = 0;
inline constexpr uint64_t kExpiryNever = ~uint64_t{0};
inline constexpr uint32_t kPolicyInherit = static_cast<uint32_t>(layout::kPolicyInherit);
inline constexpr uint32_t kPolicyNone = static_cast<uint32_t>(layout::kPolicyNone);
inline constexpr uint32_t kPolicyClock = static_cast<uint32_t>(layout::kPolicyClock);

// entriesOffset for a bucket count and a namespace bound (§2): after the buckets and the
// namespace area.
inline constexpr uint64_t EntriesOffset(uint64_t bucketCount,
                                        uint64_t maxNamespaces = kDefaultMaxNamespaces) noexcept {
  return layout::ComputeStoreRegions(bucketCount, maxNamespaces).entries;
}

struct StoreStats {
  uint64_t entries = 0;
  uint64_t maxEntries = 0;
  uint64_t buckets = 0;
  uint64_t namespaces = 0;
  uint64_t maxNamespaces = 0;
  uint64_t bytesTotal = 0;
  uint64_t bytesLive = 0;
  uint64_t bytesFree = 0;
  uint64_t bytesFreeLists = 0;
  uint64_t bytesTail = 0;
  // The largest contiguous free space: the largest free large block or the tail, whichever is
  // larger (what one large value can get without eviction).
  uint64_t bytesLargestFree = 0;
  // Bytes of the blocks this handle keeps parked for its next writes (format.md §8, "Parked
  // blocks"); counted in bytesLive, not in bytesFree.
  uint64_t bytesParked = 0;
  // The allocations of this handle's sets that found no room since it was opened.
  uint64_t allocationMisses = 0;
  double fragmentation = 0;
  uint64_t repairs = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint32_t policy = 0;  // the store's default eviction policy (kPolicyNone or kPolicyClock)
  uint64_t hand = 0;    // the eviction hand: a unit of the pool
  uint64_t turns = 0;   // how many times the hand wrapped around the pool
  // CompactState (format.md §8, "Compaction"): where the next window starts (a unit; 0 reads as
  // firstUnit), sweeps completed, steps run, entries moved and runs merged (u32, wrapping).
  uint64_t compactCursor = 0;
  uint64_t compactSweeps = 0, compactSteps = 0, compactMoved = 0, compactMerged = 0;
};

// What one compaction step did (format.md §8, "Compaction").
struct CompactReport {
  uint32_t moved = 0;       // entries moved out of the window
  uint64_t movedUnits = 0;  // units of the blocks they were moved to
  uint32_t merged = 0;      // runs of free blocks merged into one free large block
  uint32_t obstacles = 0;   // blocks in use the step could not move (no hole of their class,
                            // not an entry on its chain: a large block, a block being written)
  uint32_t start = 0;       // the window [start, end), in units
  uint32_t end = 0;
  uint32_t cursor = 0;  // CompactState.cursor afterwards (0: the next window starts at firstUnit)
  bool done = false;    // the window reached freeHead: the sweep is complete
};

struct VerifyReport {
  bool ok = true;
  std::vector<std::string> errors;  // at most kMaxVerifyErrors messages (ok reflects all)
  uint64_t entries = 0;             // live entries found on the chains
  uint64_t liveUnits = 0;           // units of blocks holding live entries
  uint64_t freeUnits = 0;           // units of blocks on the free lists (the tail not included)
  uint64_t leakedUnits = 0;         // units of blocks neither live nor free
  uint64_t parkedUnits = 0;         // units of blocks parked by live writers (format.md §8)
};
inline constexpr size_t kMaxVerifyErrors = static_cast<size_t>(layout::kMaxVerifyErrors);

struct NamespaceInfo {
  std::string name;
  uint32_t id = 0;
  // The record's generation (format.md §5): (id, generation) names the one life of the namespace
  // that every other field was read from.
  uint32_t generation = 0;
  uint32_t count = 0;
  uint32_t policy = 0;  // as recorded: kPolicyInherit, kPolicyNone or kPolicyClock
  uint64_t ttlMs = 0;   // default TTL, 0 = none
  uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0, bytes = 0;
};

// A handle's private per-namespace counts, added to NsPolicy when it flushes (format.md §5), of
// one life of the namespace (Store::nsCountGen_).
struct NsCounts {
  uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0;
  int64_t bytes = 0;  // change of the key + value bytes of the namespace's live entries
};

class Store {
 public:
  // A value returned by Get: points into the handle's scratch buffer, valid until the next call.
  struct Value {
    const uint8_t* data = nullptr;
    uint32_t length = 0;
    uint32_t encoding = 0;
    uint64_t expiresAt = 0;  // 0: no expiry
    // Where the entry was and its header words as validated (format.md §9, "Cached reads").
    uint32_t unit = 0;
    uint32_t keyHash = 0;
    uint32_t flags = 0;
    uint32_t checksum = 0;
  };

  // Formats `size` bytes at `base` as an empty store (§10). totalSize is `size` rounded down to
  // a multiple of 16; a `size` above (2^32 - 1) * 16, even by less than 16, is kErrShmTooLarge,
  // as the JS engine refuses it (a larger region is never taken in part). bucketCount must be a
  // power of two in [1, 2^26]; maxEntries is taken as given. base must be 64-byte aligned. Nobody
  // may have the region open while it is being created. policy: the store's default eviction policy
  // (kPolicyNone or kPolicyClock); maxNamespaces: namespace ids 1..maxNamespaces may exist, 1 to
  // kMaxNamespaceId.
  static Status Create(uint8_t* base, uint64_t size, uint32_t bucketCount, uint32_t maxEntries,
                       uint32_t policy = kPolicyNone,
                       uint32_t maxNamespaces = kDefaultMaxNamespaces) noexcept;

  // The open checks of §3 ("Opening a store"), without attaching.
  // *out (optional) receives the validated header values, so that a caller never re-reads
  // fields another process could change between the check and the use.
  struct Geometry {
    uint64_t totalSize = 0;
    uint32_t bucketCount = 0;
    uint32_t maxEntries = 0;
    uint32_t maxNamespaces = 0;
  };
  static Status Validate(const uint8_t* base, uint64_t size, Geometry* out = nullptr) noexcept;

  // Validates and opens the region, claiming an owner slot for (pid, tid). lockTimeoutMs 0 means
  // the default (1000). kErrNoMemory when the handle cannot be allocated.
  static Status Attach(uint8_t* base, uint64_t size, uint32_t pid, uint32_t tid,
                       uint32_t lockTimeoutMs, std::unique_ptr<Store>* out) noexcept;

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Looks a key up. *found false on a miss. On a hit *out points into this handle's scratch
  // buffer (valid until the next call on this handle).
  Status Get(uint32_t ns, const void* key, uint32_t keyLength, bool* found, Value* out) noexcept;
  Status Has(uint32_t ns, const void* key, uint32_t keyLength, bool* found) noexcept;
  // Inserts or replaces. encoding 0..15 (0 binary, 1 UTF-8, 2 JSON). expiresAt: kExpiryDefault,
  // kExpiryNever or epoch ms. A full store evicts (format.md §8) when some namespace may.
  // *storedExpiry (when given) receives the absolute expiry the entry got: epoch ms, 0 = never
  // (expiresAt resolved against the namespace's default TTL); a logged set records it.
  Status Set(uint32_t ns, const void* key, uint32_t keyLength, const void* value,
             uint32_t valueLength, uint32_t encoding, uint64_t expiresAt = kExpiryDefault,
             uint64_t* storedExpiry = nullptr) noexcept;
  // Removes the entry of (ns, key). *existed: a live entry was removed; an expired one (at
  // NowMs(), as a read judges it) is removed as a reader reclaims it, counted as an expiration,
  // with *existed false.
  Status Delete(uint32_t ns, const void* key, uint32_t keyLength, bool* existed) noexcept;
  // Removes every entry of namespace ns, bucket by bucket. *removed: the live entries removed;
  // those expired when the clear started are removed too, counted as expirations.
  Status Clear(uint32_t ns, uint32_t* removed) noexcept;
  // Drops namespace ns (format.md §5, "Dropping"): removes its entries, resets its policy record
  // and frees the record for reuse. *removed: the entries this call removed (fewer when a repair
  // pass finished the drop meanwhile). kErrNamespaceDropped when ns is not the namespace this
  // handle resolved (dropped since, or never live).
  Status DropNamespace(uint32_t ns, uint32_t* removed) noexcept;
  // Live entries of namespace ns (from its counter), or of the whole store for ns = 0.
  uint32_t Count(uint32_t ns) const noexcept;
  // Whether ns is still the namespace this handle resolved (format.md §5, "Dropping"): live,
  // with the generation the handle saw when it resolved the name. Writers check it under the
  // bucket lock, readers after their lookup.
  bool NamespaceCurrent(uint32_t ns) const noexcept {
    return ns >= 1 && ns <= maxNs_ && AtomicLoad(&nsTable_[ns].state) == layout::kNsStateLive &&
           AtomicLoad(&nsTable_[ns].generation) == nsGen_[ns];
  }

  // Finds (and with create, creates) namespace `name` (1-255 UTF-8 bytes). *id = 0 when it does
  // not exist and create is false.
  Status ResolveNamespace(const void* name, uint32_t length, bool create, uint32_t* id) noexcept;
  // kErrNoMemory when the list cannot be allocated. Flushes this handle's counts first.
  Status Namespaces(std::vector<NamespaceInfo>* out) noexcept;
  // Sets namespace ns's eviction policy (kPolicyInherit, kPolicyNone, kPolicyClock) and default
  // TTL in ms (0 = none); a negative argument leaves that setting as it is.
  Status ConfigureNamespace(uint32_t ns, int64_t policy, int64_t ttlMs) noexcept;

  // Calls fn(ns, key, keyLength, value, valueLength, encoding) for every entry of namespace ns
  // (every namespace for ns = 0). Each bucket is copied consistently (seqlock, falling back to
  // its lock) and the callback runs on the copy, outside any lock. fn may call this handle's
  // other methods, ForEach included (the pointers it was given stay valid until it returns), but
  // must not close or destroy it.
  template <class F>
  Status ForEach(uint32_t ns, F&& fn);

  Status Stats(StoreStats* out) noexcept;
  // kErrNoMemory (and an empty report) when the heap is exhausted.
  // progress, when given, is two u32 words that the check keeps up to date with atomic stores:
  // [0] the work done, [1] the work in all (blocks walked twice and buckets, scaled to fit), for
  // another thread to show while this one verifies.
  Status Verify(VerifyReport* out, uint32_t* progress = nullptr) noexcept;
  // Runs one repair pass (§9).
  Status Repair() noexcept;
  // Flushes counters and releases the owner slot. Idempotent; every later call is ERR_CLOSED.
  void Close() noexcept;
  // Adds this handle's private read/write counts to the header's counters and its namespace
  // counts to the NsPolicy records.
  void FlushCounters() noexcept;
  // Counts `hits` gets of namespace ns answered by the facade's read cache (format.md §9,
  // "Cached reads") as this handle's reads and hits, as Get counts its own.
  Status AddHits(uint32_t ns, uint32_t hits) noexcept;
  // How a run of the hand that removed nothing ended (EvictOne's *end): kCut, a search for a
  // class stopped at its bound; kSmaller, it passed over an unexpired entry of an evictable
  // namespace of a class below cls, so that a search for any class might remove what this one
  // did not; kNothing, neither: a search for any class would not remove anything either.
  enum class HandEnd : uint8_t { kNothing, kSmaller, kCut };
  // One step of the eviction hand for an insert of size class cls (kClassCount: any class will
  // do, the entry count is what is full): inspects at most EVICT_TURNS turns of the pool (a
  // search for a class: at most EVICT_CLASS_STEPS steps, unless `whole`; any other search goes on
  // past those only when AnyEvictable says it may find something) and removes one entry.
  // *freed: the units its removal freed (its block and its large block), 0 when nothing could be
  // removed (format.md §8, "Eviction"); *end (when not null): how a run that removed nothing
  // ended. runEnd (0: none) is where the run of free blocks of a write making room ends
  // (format.md §8, "Joined runs"): with `waive`, an entry of an evictable namespace whose block
  // starts there is removed even when marked, as it lies in the way of the room the write makes (a
  // second chance there would break the run, leave its blocks apart and send the write on to evict
  // elsewhere, run after run). A pinned entry there stops the hand (past it) with *freed 0 and
  // keptUnit_ its block, for the write to move down.
  Status EvictOne(uint32_t cls, uint32_t* freed, HandEnd* end = nullptr, bool whole = false,
                  uint32_t runEnd = 0, bool waive = false) noexcept;
  // Whether the hand may find an entry to remove, from the counts alone (a hint, format.md §8,
  // "Eviction"): the count cells count an entry with an expiry (which may have expired), or an
  // evictable namespace counts an entry.
  // Looks at every namespace id: asked only by a search for any class that found nothing in
  // EVICT_CLASS_STEPS steps, which then stops when it says no.
  bool AnyEvictable() const noexcept;
  // Whether a live entry may carry an expiry, so that the hand may find an expired one: the sum
  // of the count cells' `expiring` is not 0 (format.md §5, "Count cells"). ttlSeen, one load,
  // is 0 in a store that never had such an entry and spares the sixteen; it stays 1 after the
  // last one went, so it alone would send every refused write of a pinned store around the
  // pool. Asked only when a write found the store full.
  bool MayExpire() const noexcept {
    return AtomicLoad(&evict_->ttlSeen) != 0 && cells_.ExpiringCount() != 0;
  }
  // The class EvictOne is asked for when a large block is needed: any removal may make room.
  static constexpr uint32_t kEvictForLarge = kClassCount;
  // What one set did to make room (format.md §8, "Making room"; write.cpp): need, the units of
  // the largest block it allocates (which bounds its evictions and batches); anyClass, the hand
  // found no entry of the set's class or a larger one (a large value: from the start); drained,
  // the hand found nothing left to evict or the set made all the evictions it may; removed, the
  // entries its hand removed; evictions, the searches it ran, and evictedUnits, the units its
  // removals freed (MayEvict); nothingToEvict, a search for its class passed over no entry of a
  // smaller class it could have removed, so no search for any class runs.
  struct RoomState {
    uint32_t need = 0;
    uint32_t evictions = 0;
    uint64_t evictedUnits = 0;
    uint32_t removed = 0;
    uint32_t compacted = 0;
    bool anyClass = false;
    bool drained = false;
    bool nothingToEvict = false;
    bool classCut = false;  // the search for the write's class stopped at EVICT_CLASS_STEPS
    // The run of free blocks its evictions of any class left, of which the first runJoined units
    // are one block already (JoinRemoved).
    uint32_t runStart = 0;
    uint32_t runUnits = 0;
    uint32_t runJoined = 0;
    uint32_t runStamp = 0;  // StampOf() before the run started, or after its last join
    // Whether the entry at the run's end is evicted whatever its mark: until a run of the round
    // breaks or a join is refused (MakeRoom).
    bool waiveMarks = true;
    // The units its last-resort batches covered (SweepFor).
    uint64_t swept = 0;
    bool secondRound = false;  // it got its bounds once more (MakeRoom)
    // It waited lockTimeoutMs for the room lease and goes on without it, not waiting again
    // (TakeRoomLease).
    bool leaseWaived = false;
    // The bounds of one round spent from 0 again, and the run its evictions grow: the second
    // round (MakeRoom).
    void ResetBounds() noexcept {
      evictions = 0;
      evictedUnits = 0;
      compacted = 0;
      drained = false;
      swept = 0;
      runUnits = 0;
      runJoined = 0;
      waiveMarks = true;
    }
  };
  // Allocates and fills the large block of a value of n bytes (write.cpp).
  Status PrepareLarge(const void* value, uint32_t n, uint32_t hash, uint32_t* unit,
                      LargeClaim* claim, RoomState* room) noexcept;
  // After an allocation of `units` failed for want of space: COMPACT_STEPS_PER_BATCH compaction
  // steps (at most MaxBatches(room->need) batches per write) when the units freed and not merged
  // since could hold it (AllocState.freedUnits), or `always`; *retry when a batch ran and, with
  // `always`, moved or merged anything (write.cpp).
  Status CompactFor(uint32_t units, RoomState* room, bool always, bool* retry) noexcept;
  // After an allocation of `units` (a block of class cls, or kEvictForLarge) failed for want of
  // space, the parked blocks returned: evicts and compacts within the set's bounds; *retry
  // whether to allocate again (format.md §8, "Making room"; write.cpp).
  Status MakeRoom(uint32_t cls, uint32_t units, RoomState* room, bool* retry) noexcept;
  // After an eviction of any class: grows the write's run by the block it freed, and joins it once
  // it could hold `units` (*retry) or in steps (write.cpp; format.md §8, "Joined runs").
  Status JoinRemoved(RoomState* room, uint32_t units, uint32_t stamp, bool* retry) noexcept;
  // The hand stopped at a pinned entry at the end of the write's run (keptUnit_): joins the run so
  // far and moves the entry down (*freed: the units of the block that then joins the run, 0 when
  // nothing moved and the run ends; write.cpp, format.md §8 "Joined runs").
  Status KeepOutOfRun(RoomState* room, uint32_t* freed) noexcept;
  // The room lease (format.md §8, "The room lease"; evict.cpp): taken by a write before its first
  // eviction of any class (step 3 of "Making room"), holding no other lock and no parked block;
  // *waited when it was met held (the write retries its allocation first). A write that waited
  // lockTimeoutMs / ROOM_LEASE_WAIT_SHARE for a live holder goes on without it
  // (room->leaseWaived). Released once the entry's block is allocated (a large value's too, after
  // its large block), and on every way out of the write (Set).
  void TakeRoomLease(RoomState* room, bool* waited) noexcept;
  void ReleaseRoomLease() noexcept;
  // A repair pass, every lock held: releases a lease whose holder is gone (or that names this
  // handle's slot while it holds none), before the pass frees the holder's slot for a later owner
  // whom the word would then seem to name (repair.cpp, step 6).
  void ReleaseGoneLease() noexcept;
  // Before a write that asked the hand for its class refuses, when that search stopped at its
  // bound: one search for the class over the whole pool (*retry when it removed an entry).
  Status WholeSearch(uint32_t cls, RoomState* room, bool* retry) noexcept;
  // The last resort before a refusal: batches of compaction steps over up to two sweeps when the
  // free space could hold the block (write.cpp; format.md §8, "Making room", step 5).
  Status SweepFor(uint32_t units, RoomState* room, bool* retry) noexcept;
  // compact.cpp: a step run by a write, counted in idleUnits_ (*changed: its moves and merges);
  // after a successful set, one step every AUTO_COMPACT_EVERY sets when the free space is
  // fragmented (format.md §8).
  Status CountedStep(uint32_t units, uint32_t* changed = nullptr) noexcept;
  void AutoCompact() noexcept;
  // The incremental expiry sweep: SWEEP_BUCKETS buckets, expired entries removed.
  void SweepExpired() noexcept;
  // One step of the incremental compaction (compact.cpp): a window of at most maxUnits units
  // (capped at COMPACT_STEP_UNITS) from CompactState.cursor, its entries moved out, its free
  // runs merged.
  Status CompactStep(uint32_t maxUnits, CompactReport* out) noexcept;

  bool closed() const noexcept { return closed_; }
  uint32_t ownerSlot() const noexcept { return env_.selfSlot; }
  uint8_t* base() const noexcept { return base_; }
  uint32_t firstUnit() const noexcept { return firstUnit_; }
  uint32_t totalUnits() const noexcept { return totalUnits_; }

 private:
  Store() = default;

  struct Hit {
    uint32_t valueLength;  // of the value itself (an indirect entry's: the large block's)
    uint32_t flags;
    uint32_t checksum;
    uint32_t unit;
    uint64_t expiresAt;
    uint32_t largeChecksum;  // an indirect entry's: LargeBlock.valueChecksum
  };
  // kNoMemory: the buffer for a large value could not be allocated.
  enum class Walk { kMiss, kHit, kViolation, kNoMemory };
  struct SnapRecord {
    uint32_t ns;
    uint32_t keyLength;
    uint32_t valueLength;  // the bytes that follow the key in the snapshot
    uint32_t encoding;
    uint32_t keyHash;
    uint32_t checksum;
    // An indirect entry: its reference (checked by `checksum` with the key), and the large
    // block's valueChecksum over the value bytes.
    uint32_t indirect;
    uint32_t refUnit;
    uint32_t largeChecksum;
  };

  layout::Entry* EntryAt(uint32_t unit) const noexcept { return shm::EntryAt(base_, unit); }
  layout::Bucket* BucketFor(uint32_t hash) const noexcept { return &buckets_[hash & mask_]; }
  // The bounds of a chain walk by a reader or a writer (chain.h): blocks anywhere in the pool,
  // no more links than a valid chain can have.
  const ChainBounds& Chains() const noexcept { return chains_; }
  bool NamespaceLive(uint32_t ns) const noexcept {
    return ns >= 1 && ns <= maxNs_ && AtomicLoad(&nsTable_[ns].state) == layout::kNsStateLive;
  }
  // The life of each namespace's private counts (format.md §5, "Namespace policy records").
  // Invariant: nsCounts_[ns] holds only counts of the life (ns, nsCountGen_[ns]); slot 0 (id 0 is
  // no namespace) takes counts of lives that are over and is never flushed.
  //
  // Makes nsCounts_[ns] the counts of life `gen`, a generation this handle just loaded from the
  // record with the record live: counts of another life are discarded. Every generation given
  // here was loaded after the one nsCountGen_ holds (both loads of this thread, the later one in
  // program order), so a different one means a drop started (or a repair pass freed the record)
  // since that life was seen live: that life is over, and its counters were or will be zeroed by
  // the drop's last step and the next creation; adding its counts later would credit them to
  // whichever life holds the record then.
  void CountLife(uint32_t ns, uint32_t gen) noexcept {
    if (nsCountGen_[ns] == gen) return;
    nsCounts_[ns] = NsCounts{};
    nsCountGen_[ns] = gen;
  }
  // This handle resolved namespace ns in its life `gen` (a lookup that found it live, or its
  // creation): nsGen_, and the life of its counts. After this the two agree, so the counts of a
  // write that found ns current under its bucket lock (nsGen_ is then the live generation) go to
  // that life's slot with no check.
  void Resolved(uint32_t ns, uint32_t gen) noexcept {
    nsGen_[ns] = gen;
    CountLife(ns, gen);
  }
  // Where a read counts its hit or miss: ns's slot while its counts are of the life this handle
  // resolved, else slot 0. They differ only when a removal (RemovalCounts) met an entry of a later
  // life of the id: the life this handle resolved is then over, the read's check after its lookup
  // fails, and its count must not go to the later life. A compare of two private words: no
  // shared-memory access on the read's path.
  NsCounts& ReadCounts(uint32_t ns) noexcept {
    return nsCounts_[nsCountGen_[ns] == nsGen_[ns] ? ns : 0];
  }
  // Where a removal of an entry of namespace ns found under its bucket lock is counted: the hand,
  // the expiry sweep, a reader reclaiming an expired entry (and a delete or clear meeting one, in
  // a namespace current under the lock: its live life). Such a removal meets entries of any
  // namespace, one this handle never resolved or resolved in an earlier life, so the life is read
  // from the record: the generation, then the state. A dropper stores state 1 before it moves the
  // generation on, so a generation loaded before a state that shows live is that life's; and
  // between the two loads no drop can end and no new life begin: a drop frees the record only
  // after its second step took this bucket's lock (held here, so not skipped as free either).
  // Under the lock, an entry of a live record is of its current life: the drop of every earlier
  // life removed its entries from every bucket (or a repair pass did, holding every lock). A
  // record not live is being dropped: its counters are zeroed when the drop ends, and the removal
  // is counted in slot 0.
  NsCounts& RemovalCounts(uint32_t ns) noexcept {
    const uint32_t gen = AtomicLoad(&nsTable_[ns].generation);
    if (AtomicLoad(&nsTable_[ns].state) != layout::kNsStateLive) return nsCounts_[0];
    CountLife(ns, gen);
    return nsCounts_[ns];
  }
  // Whether this handle's counts of ns may be flushed: the record is live in the life the counts
  // belong to. Not NamespaceCurrent: a removal counts under namespaces this handle never resolved.
  bool CountsCurrent(uint32_t ns) const noexcept {
    return AtomicLoad(&nsTable_[ns].state) == layout::kNsStateLive &&
           AtomicLoad(&nsTable_[ns].generation) == nsCountGen_[ns];
  }
  // Whether the hand may evict entries of namespace ns (live, its policy or the store's clock).
  bool Evictable(uint32_t ns) const noexcept {
    if (!NamespaceLive(ns)) return false;
    uint32_t p = AtomicLoad(&nsPolicy_[ns].policy);
    if (p == kPolicyInherit) p = AtomicLoad(&evict_->policy);
    return p == kPolicyClock;
  }
  static bool Expired(uint64_t expiresAt, uint64_t now) noexcept {
    return expiresAt != 0 && expiresAt <= now;
  }

  // read.cpp
  // The large block an indirect entry's reference names, when it can be one (in the pool, a live
  // large block long enough, holding that length); nullptr otherwise. Racy reads: the caller's
  // version check decides whether what it copied counts.
  const layout::LargeBlock* LargeSource(uint32_t unit, uint32_t length) const noexcept;
  // large_ holds at least n bytes (false: out of memory).
  bool EnsureLarge(uint32_t n) noexcept;
  Status Lookup(uint32_t ns, const uint8_t* key, uint32_t keyLength, bool* found,
                Value* out) noexcept;
  Walk WalkForKey(layout::Bucket* b, uint32_t ns, const uint8_t* key, uint32_t keyLength,
                  uint32_t hash, Hit* hit) noexcept;
  // A reader met the bucket lock held as `seen`: waits for the writer, or repairs when the holder
  // is gone. kOk means "read again".
  Status AwaitWriter(LockWaiter* waiter, uint32_t* lock, uint32_t seen) noexcept;
  template <class WalkFn, class AcceptFn>
  Status ReadBucket(layout::Bucket* b, uint32_t lockedAfter, WalkFn&& walk,
                    AcceptFn&& accept) noexcept;
  // Copies the entries of ns (every namespace for 0) not expired at `now`.
  Status SnapshotBucket(uint32_t bucket, uint32_t ns, uint64_t now,
                        std::vector<uint8_t>* out) noexcept;
  bool CopyChain(layout::Bucket* b, uint32_t ns, uint64_t now, std::vector<uint8_t>* out) noexcept;

  // write.cpp
  // Acquires a bucket lock as a writer; a gone holder triggers a repair pass and a retry.
  Status LockBucket(layout::Bucket* b, uint32_t* held) noexcept;
  // Maps an allocator failure to a status; for kGone/kCorrupt repairs (the caller released its
  // bucket lock) and returns kOk to ask for a retry, with *retry set.
  Status HandleAllocFailure(AllocStatus s, bool* repaired, bool* retry) noexcept;
  struct Found {
    uint32_t* link = nullptr;  // the link pointing at `unit` (head or a predecessor's next)
    uint32_t unit = 0;         // 0: not found
    bool corrupt = false;
  };
  // Takes the bucket lock and finds (ns, key) under it; a corrupt chain gets one repair pass
  // (*repaired records it across the caller's retries). kOk means the lock is held.
  Status LockAndFind(layout::Bucket* b, uint32_t ns, const void* key, uint32_t keyLength,
                     uint32_t hash, uint32_t* held, Found* f, bool* repaired) noexcept;
  // Walks a chain under its lock for (ns, key); every index is checked.
  Found FindLocked(layout::Bucket* b, uint32_t ns, const void* key, uint32_t keyLength,
                   uint32_t hash) noexcept;
  // remove.cpp: clear(), one bucket at a time: the retries around the sweep of one chain under its
  // lock.
  enum class Sweep { kDone, kCorrupt, kFreeFailed };
  // dropGen: nullptr for clear() (the namespace must stay current), else the generation of the
  // drop under way (the record must still be dropping with it). kErrNamespaceDropped when not.
  // now: the instant a clear() judges expiry at (its expired entries are expirations, not in
  // *removed); 0 for a drop, which counts every entry it removes.
  Status ClearBucket(layout::Bucket* b, uint32_t ns, uint32_t* removed, const uint32_t* dropGen,
                     uint64_t now) noexcept;
  Status ClearAll(uint32_t ns, uint32_t* removed, const uint32_t* dropGen, uint64_t now) noexcept;
  bool StillClearing(uint32_t ns, const uint32_t* dropGen) const noexcept;
  // Takes NsState.lock (repairing when its holder is gone).
  Status LockNamespaces(uint32_t* held) noexcept;
  // LockNamespaces, then ERR_NAMESPACE_DROPPED (the lock released) unless `ns` is current.
  Status LockCurrentNamespace(uint32_t ns, uint32_t* held) noexcept;
  Sweep SweepNamespace(layout::Bucket* b, uint32_t ns, uint32_t* removed, uint64_t now) noexcept;
  uint64_t NowMs() const noexcept;
  // The expiry a set stores: see Set.
  uint64_t ExpiryFor(uint32_t ns, uint64_t expiresAt) const noexcept;

  // evict.cpp
  // Why an entry is removed outside delete/clear of a live entry: the hand evicted it, or it had
  // expired (also when a delete or clear met it so); or the hand evicted it whatever its mark, as
  // the block at the end of the run a write making room grows (EvictOne's runEnd).
  enum class Removal { kEvict, kExpire, kEvictInRun };
  // Under no lock: takes the bucket of `hash`, finds `unit` on its chain and removes it if it is
  // still a candidate (kEvict: not marked, of an evictable namespace; kEvictInRun: of an
  // evictable namespace, marked or not; kExpire: expired at now).
  // *freed: 0 when nothing was removed, else the units freed (the entry's block and its large
  // block, if any).
  Status RemoveUnit(uint32_t unit, uint32_t hash, Removal why, uint64_t now,
                    uint32_t* freed) noexcept;
  // Under b's lock: unlinks every expired entry of the chain; false on an invalid link.
  bool SweepChainLocked(layout::Bucket* b, uint64_t now) noexcept;
  // Accounting of one removed entry (counts of the bucket, namespace and store, and of entries
  // with an expiry when `expiring`; the handle's, in the life the entry belongs to:
  // RemovalCounts), `why` it was removed.
  void CountRemoved(layout::Bucket* b, uint32_t ns, uint32_t bytes, bool expiring,
                    Removal why) noexcept;
  // A get/has found the entry expired: removes it if it still is (lazy reclamation).
  void ReclaimExpired(uint32_t ns, const uint8_t* key, uint32_t keyLength, uint32_t hash) noexcept;
  // namespaces.cpp
  // Fills nsLive[1..maxNamespaces] with which namespace records are live; returns how many are.
  uint32_t LiveNamespaces(bool* nsLive) const noexcept;
  // The live namespace `name` found through the name index, its generation recorded in nsGen_
  // (and its counts made that life's: Resolved); 0 if none. Lock-free; a miss is trusted only
  // when NsState.lock did not change meanwhile.
  uint32_t FindNamespace(const void* name, uint32_t length, uint32_t hash, bool* sure) noexcept;
  // Under NsState.lock (or in a repair pass): the name index's entry of id, added or removed;
  // rebuilding it from the live records.
  void IndexInsert(uint32_t id, uint32_t hash) noexcept;
  void IndexRemove(uint32_t id) noexcept;
  void RebuildIndex() noexcept;
  // Under NsState.lock: takes the lowest free record for the name; 0 when none is free.
  uint32_t CreateLocked(const void* name, uint32_t length, uint32_t hash) noexcept;
  bool NameMatches(uint32_t id, const void* name, uint32_t length, uint32_t hash) const noexcept;
  uint8_t* NameOf(uint32_t id) const noexcept {
    return nsNames_ + uint64_t{id} * sizeof(layout::NsName);
  }
  // Forgets every parked block when RepairState.cuts moved since this handle last looked (§9 step
  // 3: a pass made holes of damaged units, and a block carved since over a parked block's units
  // may hold a copy of its mark). Called under a bucket lock, which no repair pass runs beside.
  void ForgetParkedIfCut() noexcept;
  // Empties the cache; blocks in it stay marked with this slot (orphaned_).
  void ForgetParked() noexcept;

  // cache.cpp: the blocks this handle parked (format.md §8, "Parked blocks"). Every call is made
  // with some bucket lock held (a set's), or by close() and a full store's writer: a repair
  // pass, which holds every bucket lock, never runs in the middle of one.
  // Takes a block of class cls this handle parked, without AllocState.lock (flags = cls << 8);
  // false when it has none.
  bool TakeParked(uint32_t cls, uint32_t* unit) noexcept;
  // A block of class cls for a set that found none parked (TakeParked returned false), under that
  // set's bucket lock: up to PARK_REFILL blocks of the class under one hold of AllocState.lock
  // (AllocBatch), the first for the set, the others parked for this handle's next sets of the
  // class, within PARK_PER_CLASS and PARK_MAX_UNITS (format.md §8, "Parked blocks"). `larger`
  // as AllocBlock's.
  AllocStatus Refill(uint32_t cls, uint32_t* unit, bool larger) noexcept;
  // The entry at `unit` was just unlinked under its bucket lock: parks its block (flags
  // FLAG_PARKED | class, next = this handle's owner slot) instead of freeing it. False when the
  // block is not parked: the class is full, PARK_MAX_UNITS would be passed, or the entry is
  // indirect (its large block is freed with it, under AllocState.lock).
  bool Park(uint32_t unit) noexcept;
  // Frees every block this handle parked (one hold of AllocState.lock); a gone allocator holder
  // is repaired first. kOk, or the status that kept them parked.
  Status ReturnParked() noexcept;
  // Whether a repair pass of this handle reclaims a block parked by owner slot o: o is this
  // handle's own (its cache is emptied by the pass), names no slot, or its owner is gone.
  // verdicts caches ClassifyOwner per slot for one pass (0 unknown, 1 live, 2 gone).
  bool ParkedOwnerGone(uint32_t o, uint8_t* verdicts) const noexcept;
  // compact.cpp
  // An entry moved into a hole of its class below it or at or above `above` (the window's end),
  // else into a block carved below it (format.md §8, "Compaction"); *to (when not null): that
  // block, 0 when nothing moved.
  // With runStart (a making-room write's move), below the run or its first block's head instead.
  Status MoveEntry(uint32_t unit, uint32_t above, CompactReport* r, uint32_t* to = nullptr,
                   uint32_t runStart = 0, uint32_t runStamp = 0) noexcept;
  // A write making room: moves the pinned entry at `unit`, the end of its run from `start` (with
  // the run's `stamp`), to the run's head or below it (*freed: its old block's units, 0 when
  // nothing moved; *to, *toUnits: the block it went to; format.md §8 "Joined runs").
  Status MoveOutOfRun(uint32_t unit, uint32_t start, uint32_t stamp, uint32_t* freed, uint32_t* to,
                      uint32_t* toUnits) noexcept;
  // compact_large.cpp: a large block in use moved down, wholly below itself; the window ends at
  // `above` (format.md §8).
  Status MoveLarge(uint32_t lu, uint32_t above, CompactReport* r) noexcept;
  AllocStatus RelinkLarge(layout::Bucket* b, uint32_t lu, uint32_t to, uint32_t n, uint32_t sum,
                          uint32_t above, CompactReport* r, bool* linked) noexcept;
  bool MergeWindow(uint32_t winStart, uint32_t winEnd, uint32_t freeHead,
                   CompactReport* r) noexcept;
  // A write making room makes the run [start, end) of free blocks its evictions left one free
  // large block; *joined its units, or 0 (compact.cpp). FreeAfter: the end of the free blocks
  // that follow `u` (a hint read without a lock).
  Status JoinFreed(uint32_t start, uint32_t end, uint32_t stamp, uint32_t* joined) noexcept;
  // CompactState.merged + gcCounter, modulo 2^32: changes whenever block starts may have gone (a
  // run merged by a step or joined by a write, a repair pass).
  uint32_t StampOf() const noexcept;
  uint32_t FreeAfter(uint32_t u) const noexcept;
  Status CompactAllocFailure(AllocStatus s) noexcept;

  // repair.cpp
  // One repair pass. Unless force, it is skipped when another pass completed while this one
  // waited for RepairState.lock (that pass already repaired what made the caller ask).
  Status RepairPass(bool force = false, const uint32_t* stuckWord = nullptr,
                    uint32_t seen = 0) noexcept;
  // A repair pass asked for because the lock word at `word` stayed `seen` with its holder gone:
  // skipped when the word changed meanwhile (released, or taken over by another repairer).
  Status RepairFor(const uint32_t* word, uint32_t seen) noexcept;
  // The pass itself, every lock held. Throws nothing but std::bad_alloc, and that only from step 4,
  // once step 3 may have changed the store (RepairPass then moves gcCounter all the same).
  Status RepairLocked();
  // Its steps, in order (repair.cpp says what each establishes).
  void RepairPool(internal::RepairScan* scan) noexcept;
  // Step 3's resync: marks in scan->refs the units the chains name, and returns the end of the
  // blocks proven entries keep beyond `head` (KeptEnd), or `head`; NextTrusted: the first of them
  // in [from, to) whose entry proves itself (Trusted), or 0.
  uint32_t ChainRefs(internal::RepairScan* scan, uint32_t head) noexcept;
  uint32_t KeptEnd(uint32_t unit, uint32_t head) const noexcept;
  uint32_t InFlightEnd(internal::RepairScan* scan, uint32_t from) noexcept;
  void CountCut(internal::RepairScan* scan) noexcept;
  uint32_t NextTrusted(const internal::RepairScan& scan, uint32_t from, uint32_t to,
                       uint32_t head) const noexcept;
  bool Trusted(uint32_t unit, uint32_t head) const noexcept;
  // Step 3: whether the block at `unit` with `flags` is a large block in flight of a live owner
  // other than this handle (its `writer`, judged as RebuildFreeLists judges it), and where a hole
  // that would end at `to` ends: at the first such block in [from, to) that ends by `head`.
  bool InFlightByLive(uint32_t unit, uint32_t flags, internal::RepairScan* scan) const noexcept;
  uint32_t HoleEnd(internal::RepairScan* scan, uint32_t from, uint32_t to, uint32_t head) noexcept;
  void DropUnnamedNamespaces() noexcept;
  void RepairChains(internal::RepairScan* scan);
  void RepairCounts(internal::RepairScan* scan) noexcept;
  void RebuildFreeLists(internal::RepairScan* scan) noexcept;
  void FreeGoneOwnerSlots(const internal::RepairScan& scan) noexcept;
  // Acquires every bucket lock in index order, then AllocState.lock and NsState.lock. With
  // takeover, gone holders are taken over; without, a gone holder releases everything and
  // returns kGone. Called with RepairState.lock held (passBeat_ started): every lock taken is a
  // unit of work of the heartbeat.
  LockResult AcquireAllLocks(bool takeover) noexcept;
  // Heartbeats once more, then releases NsState.lock, AllocState.lock and every bucket lock.
  void ReleaseAllLocks() noexcept;
  // Why the block a chain cursor is at (a block start of the pool) is not a valid entry of bucket
  // `bucket`, or nullptr when it is (the repair pass and verify() ask the same questions).
  const char* EntryProblem(const ChainCursor& at, uint32_t bucket,
                           const bool* nsLive) const noexcept;
  // Why an indirect entry's reference does not name its value (part of EntryProblem): the block
  // it names is not a live large block of that length whose valueChecksum matches. k and n are the
  // caller's keyLength and valueLength, the reference after k key bytes checked to lie within the
  // entry's block (never read again: see EntrySumMatches).
  const char* LargeProblem(const layout::Entry* e, uint32_t k, uint32_t n,
                           uint32_t keyHash) const noexcept;
  // For a repair pass, on an entry EntryProblem found damaged: when its checksum is wrong under
  // its flags and right with FLAG_INDIRECT flipped, one flipped bit is what the checksum says is
  // wrong (format.md §9, step 4), and the bit is flipped back. Returns whether it flipped it.
  bool MendIndirect(ChainCursor& c) noexcept;

  // verify.cpp
  // Throws nothing but std::bad_alloc; kErrNoMemory when its bitmaps cannot be allocated.
  // *goneWriter: a large block of a gone writer, linked by no entry, is waiting for a repair.
  Status VerifyLocked(VerifyReport* out, bool* goneWriter);
  // Stores the work done so far of a verify() with progress words (verify.cpp).
  void VerifyProgress(uint64_t done) noexcept;
  // Its checks, in order (verify.cpp says what each establishes). Each reports into scan.
  void VerifyHeader(internal::VerifyScan* scan);
  void VerifyPool(internal::VerifyScan* scan);
  void VerifyChains(internal::VerifyScan* scan);
  void VerifyFreeLists(internal::VerifyScan* scan);
  void VerifyLeaks(internal::VerifyScan* scan);
  void VerifyCounters(internal::VerifyScan* scan);
  void VerifyCells(internal::VerifyScan* scan);

  uint8_t* base_ = nullptr;
  uint64_t regionSize_ = 0;
  uint64_t totalSize_ = 0;
  uint32_t totalUnits_ = 0;
  uint32_t firstUnit_ = 0;
  uint32_t bucketCount_ = 0;
  uint32_t mask_ = 0;
  uint32_t maxEntries_ = 0;
  ChainBounds chains_;  // Chains(): the whole pool and ChainStepLimit of this store
  layout::Header* hdr_ = nullptr;
  layout::AllocState* alloc_ = nullptr;
  layout::NsState* nsState_ = nullptr;
  layout::RepairState* repairState_ = nullptr;
  uint32_t maxNs_ = 0;      // the header's maxNamespaces: ids 1..maxNs_
  uint32_t indexMask_ = 0;  // the name index's slot count - 1
  layout::Namespace* nsTable_ = nullptr;
  layout::NsPolicy* nsPolicy_ = nullptr;
  uint8_t* nsNames_ = nullptr;
  uint32_t* nsIndex_ = nullptr;
  layout::EvictState* evict_ = nullptr;
  layout::CompactState* compact_ = nullptr;
  layout::Owner* owners_ = nullptr;
  layout::Bucket* buckets_ = nullptr;
  CountCells cells_;  // the count cells (§5, "Count cells"), this handle's own chosen by its slot
  PoolView pool_;
  // AllocState.lock as the last allocator call that found its holder gone judged it
  // (pool_.goneSeen).
  uint32_t allocGoneSeen_ = 0;
  LockEnv env_;
  // RepairState.lock while a repair pass or verify() of this handle holds it (§9, "Heartbeat of
  // long passes"); the passes count their work on it.
  LockHeartbeat passBeat_;
  bool closed_ = true;
  uint64_t reads_ = 0;
  uint64_t writes_ = 0;
  // The entry block the last removal of this handle's hand freed (RemoveUnit): a write making room
  // joins it to the run its earlier evictions left (write.cpp, JoinRemoved).
  uint32_t removedUnit_ = 0;
  // The pinned entry at the end of a write's run where the hand stopped (EvictOne), for the write
  // to move down (write.cpp, KeepOutOfRun).
  uint32_t keptUnit_ = 0;
  // EvictState.roomLease as this handle's write stored it when it took the lease, 0 when it holds
  // none (a handle is used by one thread: at most one write holds it).
  uint32_t leaseHeld_ = 0;
  // The blocks this handle parked, PARK_PER_CLASS slots per class (parkedCount_ used), and their
  // units in all.
  uint32_t parked_[kClassCount * kParkPerClass] = {};
  uint8_t parkedCount_[kClassCount] = {};
  uint32_t parkedUnits_ = 0;
  // The allocations of this handle's sets that found no room (each then makes room, MakeRoom):
  // stats().allocationMisses, the work of sets in a full store.
  uint64_t allocMisses_ = 0;
  // The class of the last Refill and how many refills of it came in a row before (the batch is
  // 2^streak blocks, at most PARK_REFILL).
  static constexpr uint32_t kRefillMaxStreak = 31 - __builtin_clz(kParkRefill);
  uint32_t lastRefillClass_ = kClassCount;
  uint32_t refillStreak_ = 0;
  // RepairState.cuts when this handle last looked (ForgetParkedIfCut), and whether it forgot
  // parked blocks that still carry its mark (then Close marks its slot dead: §8 "Parked blocks").
  uint32_t cutsSeen_ = 0;
  bool orphaned_ = false;
  uint32_t evictions_ = 0;  // by this handle's hand: decides when the hand moves on (evict.cpp)
  // Units this handle's automatic compaction steps covered since one last moved or merged
  // anything (CompactFor, write.cpp).
  uint64_t idleUnits_ = 0;
  // Successful sets since this handle last looked at the fragmentation hint (AutoCompact).
  uint32_t autoTick_ = 0;
  // maxNs_ + 1: the generation of the life whose counts nsCounts_[id] holds (CountLife).
  std::unique_ptr<uint32_t[]> nsCountGen_;
  std::unique_ptr<NsCounts[]> nsCounts_;  // maxNs_ + 1, flushed with reads_ and writes_
  std::unique_ptr<uint32_t[]> nsGen_;     // maxNs_ + 1: each id's generation as resolved here
  std::unique_ptr<uint8_t[]> scratch_;    // kMaxKeyBytes + kMaxInlineValueBytes: one key ‖ value
  std::unique_ptr<uint8_t[]> large_;      // a large value a read copied, largeCap_ bytes
  uint32_t largeCap_ = 0;
  std::vector<uint8_t> snap_;     // ForEach's per-bucket copy, kept for reuse
  uint32_t* progress_ = nullptr;  // verify()'s progress words while it runs, else null
  uint64_t progressTotal_ = 0;    // the work of that verify(), unscaled
  uint32_t progressShift_ = 0;    // how far done and total are shifted right to fit a u32
};

template <class F>
Status Store::ForEach(uint32_t ns, F&& fn) {
  if (closed_) return layout::kErrClosed;
  if (ns > maxNs_) return layout::kErrInvalidArg;
  // The copy being visited is taken out of the handle, so that a ForEach called from fn fills a
  // buffer of its own instead of overwriting (or reallocating) the bytes fn was handed.
  std::vector<uint8_t> snap;
  snap.swap(snap_);
  Status s = layout::kOk;
  const uint64_t now = NowMs();  // one instant for the whole listing: expired entries are left out
  for (uint32_t b = 0; b < bucketCount_; ++b) {
    if (AtomicLoad(&buckets_[b].head) == 0) continue;
    s = SnapshotBucket(b, ns, now, &snap);
    if (s != layout::kOk) break;
    const uint8_t* p = snap.data();
    const uint8_t* end = p + snap.size();
    while (p < end) {
      SnapRecord r;
      std::memcpy(&r, p, sizeof r);
      p += sizeof r;
      fn(r.ns, p, r.keyLength, p + r.keyLength, r.valueLength, r.encoding);
      p += r.keyLength + r.valueLength;
    }
  }
  if (snap.capacity() > snap_.capacity()) snap_.swap(snap);  // keep the larger for reuse
  return s;
}

}  // namespace shm
