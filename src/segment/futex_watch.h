// Many pending futex waits watched by a few threads: each watcher thread blocks in one
// futex_waitv call (futex.h WaitAny) over up to kWatchSlots waits plus a private control word,
// instead of one thread per wait. The owner (one thread, e.g. a JavaScript thread) adds waits;
// a watcher hands each settled wait to `deliver` on its own thread. No Node headers.
//
// Semantics of a watched wait (compared with futex.h Wait):
// - the caller checks the word before Add (not-equal is the caller's answer); a wait whose word
//   changes after Add settles as kOk, never kNotEqual: futex callers treat kOk as a hint and
//   re-check the word anyway.
// - a Wake(addr, n) reaches at most n waits: a watcher never holds two waits on the same word,
//   so each wait on a word is a kernel waiter of a different futex_waitv call. (Waits on one
//   word therefore need as many watchers as there are such waits.)
// - a wake that does not change the word can be missed when another wait of the same watcher is
//   woken at the same instant (futex_waitv reports one woken entry); the package's own wakers
//   always change the word first, and a changed word settles the wait.
// - a wait whose deadline passes settles as kTimedOut.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "segment/futex.h"

namespace shm::futex {

// Waits per watcher: futex_waitv's limit less the control word.
inline constexpr int kWatchSlots = kWaitAnyMax - 1;

struct Watcher;

struct WatchedWait {
  const uint32_t* addr = nullptr;  // stays mapped until the wait is delivered or Stop returns
  uint32_t expected = 0;
  int64_t deadline_ns = -1;             // absolute CLOCK_MONOTONIC (DeadlineAfter); < 0: none
  WaitResult result = WaitResult::kOk;  // set by the watcher before delivery
  Watcher* watcher = nullptr;           // the owner's bookkeeping
};

// Called on a watcher thread with a settled wait that the watcher no longer touches. It must
// not call back into the WaitWatch; the owner calls Done(w) later, on its own thread.
using DeliverFn = void (*)(void* ctx, WatchedWait* w);

class WaitWatch {
 public:
  WaitWatch(DeliverFn deliver, void* ctx) noexcept : deliver_(deliver), ctx_(ctx) {}
  ~WaitWatch() { Stop(); }
  WaitWatch(const WaitWatch&) = delete;
  WaitWatch& operator=(const WaitWatch&) = delete;

  // Starts watching `w` (the caller owns it until delivery). Returns 0, or an errno value when
  // no watcher could be started (then `w` is not watched).
  int Add(WatchedWait* w) noexcept;

  // After `w` was delivered: forgets it. A watcher other than the first one exits (and is
  // joined) when its last wait is done, so a burst of waits does not leave threads behind.
  void Done(WatchedWait* w) noexcept;

  // Stops watching `w` before it settles (its memory is about to go): true when it was still
  // pending, and then no watcher touches it any more and it is never delivered (Done is called
  // for it); false when a watcher has settled it already, and then it is delivered as usual (or
  // is being delivered now). Waits, without sleeping for long, for its watcher to leave the round
  // that may still read it.
  bool Cancel(WatchedWait* w) noexcept;

  // Stops and joins every watcher. Waits not yet delivered never will be; the owner frees them.
  void Stop() noexcept;

  // Watcher threads running now.
  size_t Threads() const noexcept { return watchers_.size(); }

 private:
  Watcher* Pick(const uint32_t* addr) noexcept;
  void Retire(size_t index) noexcept;

  DeliverFn deliver_;
  void* ctx_;
  std::vector<Watcher*> watchers_;  // owner thread only
};

}  // namespace shm::futex
