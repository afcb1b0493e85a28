#include "segment/futex_watch.h"

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <new>

namespace shm::futex {

struct Watcher {
  DeliverFn deliver = nullptr;
  void* ctx = nullptr;
  pthread_t thread{};

  // The control word, private to this process: the owner changes it (under mu) and wakes it
  // whenever the watcher must re-read its set. The watcher reads it under mu before each
  // futex_waitv, so a change made after that read makes the call return (EAGAIN or woken).
  alignas(4) uint32_t ctl = 0;

  std::mutex mu;
  bool stop = false;                     // guarded by mu
  uint64_t round = 0;                    // guarded by mu: snapshots of slots taken so far
  int cancelling = 0;                    // guarded by mu: Cancel calls waiting for the next round
  std::condition_variable turned;        // a new round began (notified only when cancelling)
  WatchedWait* slots[kWatchSlots] = {};  // guarded by mu: the waits not yet delivered
  int n = 0;                             // guarded by mu

  // Owner thread only: the words of the waits added and not yet Done (a superset of slots),
  // never two equal (see futex_watch.h).
  const uint32_t* words[kWatchSlots] = {};
  int live = 0;
};

namespace {

// False when `w` is not (any more) a slot of `wt`.
bool RemoveSlot(Watcher* wt, WatchedWait* w) {
  for (int i = 0; i < wt->n; i++) {
    if (wt->slots[i] == w) {
      wt->slots[i] = wt->slots[--wt->n];
      return true;
    }
  }
  return false;
}

// Settles the waits of one round: the woken entry, the waits whose word changed, the waits
// whose deadline passed. After an unexpected error (EFAULT...) the words are probed through
// the kernel (a zero-timeout Wait), which cannot fault in user space.
bool Settle(WatchedWait* w, int index, int rc, bool probe, int64_t now) noexcept {
  if (rc == index + 1) {
    w->result = WaitResult::kOk;
    return true;
  }
  if (probe) {
    const WaitResult r = Wait(w->addr, w->expected, 0);
    if (r != WaitResult::kTimedOut) {
      w->result = r == WaitResult::kInvalid ? WaitResult::kInvalid : WaitResult::kOk;
      return true;
    }
  } else if (__atomic_load_n(w->addr, __ATOMIC_SEQ_CST) != w->expected) {
    w->result = WaitResult::kOk;
    return true;
  }
  if (w->deadline_ns >= 0 && now >= w->deadline_ns) {
    w->result = WaitResult::kTimedOut;
    return true;
  }
  return false;
}

void* Run(void* arg) {
  Watcher* wt = static_cast<Watcher*>(arg);
  WaitAnyEntry e[kWaitAnyMax];
  WatchedWait* snap[kWatchSlots];
  WatchedWait* out[kWatchSlots];
  std::unique_lock<std::mutex> lk(wt->mu);
  for (;;) {
    if (wt->stop) return nullptr;
    // A new snapshot: the waits cancelled before it are not in it, and nothing of the last round
    // touches them any more.
    ++wt->round;
    if (wt->cancelling > 0) wt->turned.notify_all();
    e[0] = {&wt->ctl, __atomic_load_n(&wt->ctl, __ATOMIC_RELAXED), true};
    const int n = wt->n;
    int64_t deadline = -1;
    for (int i = 0; i < n; i++) {
      WatchedWait* w = wt->slots[i];
      snap[i] = w;
      e[i + 1] = {w->addr, w->expected, false};
      if (w->deadline_ns >= 0 && (deadline < 0 || w->deadline_ns < deadline)) {
        deadline = w->deadline_ns;
      }
    }
    lk.unlock();
    // Only this thread and Cancel remove slots, and Cancel waits for the next round before its
    // caller may free the wait: every wait of `snap` stays readable until then.
    const int rc = WaitAny(e, n + 1, deadline);
    const int64_t now = MonotonicNs();
    const bool probe = rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT && rc != -EINTR;
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (Settle(snap[i], i, rc, probe, now)) out[k++] = snap[i];
    }
    lk.lock();
    if (k == 0) continue;
    int d = 0;  // a wait cancelled meanwhile is no slot any more: never delivered
    for (int i = 0; i < k; i++) {
      if (RemoveSlot(wt, out[i])) out[d++] = out[i];
    }
    k = d;
    lk.unlock();
    // The owner may free a wait as soon as it is delivered: nothing here touches it after.
    for (int i = 0; i < k; i++) wt->deliver(wt->ctx, out[i]);
    lk.lock();
  }
}

// Makes the watcher re-read its set (under mu, see Watcher::ctl).
void Poke(Watcher* wt) {
  __atomic_store_n(&wt->ctl, __atomic_load_n(&wt->ctl, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

}  // namespace

Watcher* WaitWatch::Pick(const uint32_t* addr) noexcept {
  for (Watcher* wt : watchers_) {
    if (wt->live == kWatchSlots) continue;
    bool same = false;
    for (int i = 0; i < wt->live && !same; i++) same = wt->words[i] == addr;
    if (!same) return wt;
  }
  return nullptr;
}

int WaitWatch::Add(WatchedWait* w) noexcept {
  Watcher* wt = Pick(w->addr);
  if (wt == nullptr) {
    wt = new (std::nothrow) Watcher();
    if (wt == nullptr) return ENOMEM;
    wt->deliver = deliver_;
    wt->ctx = ctx_;
    try {
      watchers_.push_back(wt);
    } catch (...) {
      delete wt;
      return ENOMEM;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    // The loop's arrays take ~5 KiB; the default 8 MiB of address space is not needed.
    pthread_attr_setstacksize(&attr, 64 * 1024);
    const int rc = pthread_create(&wt->thread, &attr, Run, wt);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      watchers_.pop_back();
      delete wt;
      return rc;
    }
  }
  w->watcher = wt;
  wt->words[wt->live++] = w->addr;
  {
    std::lock_guard<std::mutex> g(wt->mu);
    wt->slots[wt->n++] = w;
    Poke(wt);
  }
  WakePrivate(&wt->ctl, 1);
  return 0;
}

void WaitWatch::Done(WatchedWait* w) noexcept {
  Watcher* wt = w->watcher;
  if (wt == nullptr) return;
  w->watcher = nullptr;
  for (int i = 0; i < wt->live; i++) {
    if (wt->words[i] == w->addr) {
      wt->words[i] = wt->words[--wt->live];
      break;
    }
  }
  if (wt->live > 0 || watchers_.empty() || watchers_[0] == wt) return;
  for (size_t i = 1; i < watchers_.size(); i++) {
    if (watchers_[i] == wt) {
      Retire(i);
      return;
    }
  }
}

bool WaitWatch::Cancel(WatchedWait* w) noexcept {
  Watcher* wt = w->watcher;
  if (wt == nullptr) return false;
  {
    std::unique_lock<std::mutex> lk(wt->mu);
    if (!RemoveSlot(wt, w)) return false;  // settled: the watcher delivers it
    const uint64_t seen = wt->round;
    ++wt->cancelling;
    Poke(wt);
    lk.unlock();
    WakePrivate(&wt->ctl, 1);  // out of futex_waitv, if it sleeps: a new round begins
    lk.lock();
    wt->turned.wait(lk, [&] { return wt->round != seen; });
    --wt->cancelling;
  }
  Done(w);
  return true;
}

void WaitWatch::Retire(size_t index) noexcept {
  Watcher* wt = watchers_[index];
  {
    std::lock_guard<std::mutex> g(wt->mu);
    wt->stop = true;
    Poke(wt);
  }
  WakePrivate(&wt->ctl, 1);
  pthread_join(wt->thread, nullptr);
  delete wt;
  watchers_.erase(watchers_.begin() + static_cast<std::ptrdiff_t>(index));
}

void WaitWatch::Stop() noexcept {
  while (!watchers_.empty()) Retire(watchers_.size() - 1);
}

}  // namespace shm::futex
