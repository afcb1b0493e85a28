#include "store/alloc.h"

namespace shm {

using layout::kSizeClasses;

uint32_t SizeClassFor(uint32_t units) noexcept {
  // Binary search over the 40 ascending classes.
  uint32_t lo = 0, hi = kClassCount;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (kSizeClasses[mid] < units) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

namespace {

AllocStatus LockAlloc(const PoolView& pool, const LockEnv& env, uint32_t* held) noexcept {
  switch (LockFast(&pool.alloc->lock, env, held)) {
    case LockResult::kAcquired:
      return AllocStatus::kOk;
    case LockResult::kGone:
      return AllocStatus::kGone;
    case LockResult::kTimeout:
      break;
  }
  return AllocStatus::kTimeout;
}

}  // namespace

namespace {

// Under AllocState.lock: pops the head of class c's list into *unit (kOk), or finds it corrupt.
AllocStatus PopList(const PoolView& pool, uint32_t c, uint32_t head, uint32_t freeHead,
                    uint32_t* unit) noexcept {
  layout::Entry* e = pool.EntryAt(head);
  const uint32_t size = kSizeClasses[c];
  uint32_t flags;
  uint32_t next;
  if (head < pool.firstUnit || head >= freeHead || freeHead > pool.totalUnits ||
      ((flags = AtomicLoad(&e->flags)) & kFlagFree) == 0 || ClassOfFlags(flags) != c ||
      static_cast<uint64_t>(head) + size > freeHead ||
      ((next = AtomicLoad(&e->next)) != 0 && (next < pool.firstUnit || next >= freeHead))) {
    return AllocStatus::kCorrupt;
  }
  AtomicStore(&pool.alloc->freeHeads[c], next);
  AtomicStore(&e->flags, c << kClassShift);
  *unit = head;
  return AllocStatus::kOk;
}

}  // namespace

AllocStatus AllocBlock(const PoolView& pool, const LockEnv& env, uint32_t cls, uint32_t* unit,
                       bool larger) noexcept {
  if (cls >= kClassCount) return AllocStatus::kFull;
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  layout::AllocState* a = pool.alloc;
  const uint32_t size = kSizeClasses[cls];
  const uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  const uint32_t head = AtomicLoad(&a->freeHeads[cls]);
  AllocStatus result = AllocStatus::kFull;
  if (head != 0) {
    result = PopList(pool, cls, head, freeHead, unit);
  } else if (freeHead >= pool.firstUnit && freeHead <= pool.totalUnits &&
             static_cast<uint64_t>(freeHead) + size <= pool.totalUnits) {
    AtomicStore(&pool.EntryAt(freeHead)->flags, cls << kClassShift);
    AtomicStore(&pool.header->freeHead, freeHead + size);
    *unit = freeHead;
    result = AllocStatus::kOk;
  } else if (freeHead < pool.firstUnit || freeHead > pool.totalUnits) {
    result = AllocStatus::kCorrupt;
  } else if (larger) {
    for (uint32_t c = cls + 1; c < kClassCount; ++c) {
      const uint32_t h = AtomicLoad(&a->freeHeads[c]);
      if (h == 0) continue;
      result = PopList(pool, c, h, freeHead, unit);
      break;
    }
  }
  Unlock(&a->lock, held);
  return result;
}

AllocStatus FreeBlock(const PoolView& pool, const LockEnv& env, uint32_t unit) noexcept {
  layout::Entry* e = pool.EntryAt(unit);
  const uint32_t cls = ClassOfFlags(AtomicLoad(&e->flags));
  if (cls >= kClassCount) return AllocStatus::kCorrupt;
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  layout::AllocState* a = pool.alloc;
  AtomicStore(&e->flags, kFlagFree | (cls << kClassShift));
  AtomicStore(&e->next, AtomicLoad(&a->freeHeads[cls]));
  AtomicStore(&a->freeHeads[cls], unit);
  Unlock(&a->lock, held);
  return AllocStatus::kOk;
}

AllocStatus FreeListUnits(const PoolView& pool, const LockEnv& env, uint64_t* freeListUnits,
                          uint32_t* freeHeadOut) noexcept {
  uint32_t held;
  AllocStatus s = LockAlloc(pool, env, &held);
  if (s != AllocStatus::kOk) return s;
  const uint32_t freeHead = AtomicLoad(&pool.header->freeHead);
  uint64_t units = 0;
  // A list cannot hold more blocks than the pool has units: cut the walk there (a cycle).
  const uint64_t maxSteps = pool.totalUnits;
  for (uint32_t c = 0; c < kClassCount; ++c) {
    uint32_t u = AtomicLoad(&pool.alloc->freeHeads[c]);
    for (uint64_t steps = 0; u != 0 && steps < maxSteps; ++steps) {
      if (u < pool.firstUnit || u >= freeHead || freeHead > pool.totalUnits) break;
      units += kSizeClasses[c];
      u = AtomicLoad(&pool.EntryAt(u)->next);
    }
  }
  Unlock(&pool.alloc->lock, held);
  *freeListUnits = units;
  *freeHeadOut = freeHead;
  return AllocStatus::kOk;
}

}  // namespace shm
