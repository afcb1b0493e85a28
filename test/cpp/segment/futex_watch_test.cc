// Tests of src/segment/futex_watch.h: many waits on few threads, the kernel's wake counts on one
// word, deadlines, words that change without a wake, Stop with waits pending, cancelled waits,
// and owners and wakers racing (also run under ThreadSanitizer).
#include "segment/futex_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace futex = shm::futex;
using futex::WaitResult;
using futex::WatchedWait;

// Collects delivered waits; the owner thread takes them.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<WatchedWait*> got;

  static void Deliver(void* ctx, WatchedWait* w) {
    Sink* s = static_cast<Sink*>(ctx);
    std::lock_guard<std::mutex> g(s->mu);
    s->got.push_back(w);
    s->cv.notify_all();
  }
  WatchedWait* Take() {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return !got.empty(); });
    WatchedWait* w = got.front();
    got.pop_front();
    return w;
  }
  size_t Count() {
    std::lock_guard<std::mutex> g(mu);
    return got.size();
  }
};

uint32_t* Word(std::atomic<uint32_t>& a) {
  return reinterpret_cast<uint32_t*>(&a);
}

// Wakes `addr` with `count` until `n` kernel waiters in total were woken (a waiter may not have
// entered the kernel yet).
void WakeUntil(const uint32_t* addr, int count, int n) {
  int woken = 0;
  while (woken < n) {
    woken += futex::Wake(addr, count);
    if (woken < n) std::this_thread::yield();
  }
  ASSERT_EQ(woken, n);
}

TEST(FutexWatch, ManyWaitsOnFewThreads) {
  Sink sink;
  futex::WaitWatch watch(Sink::Deliver, &sink);
  constexpr int kWaits = 300;
  std::vector<std::atomic<uint32_t>> words(kWaits);
  std::vector<WatchedWait> waits(kWaits);
  for (int i = 0; i < kWaits; i++) {
    waits[i].addr = Word(words[i]);
    ASSERT_EQ(watch.Add(&waits[i]), 0);
  }
  EXPECT_EQ(watch.Threads(), 3u);  // 127 waits per watcher
  for (int i = 0; i < kWaits; i++) {
    words[i].store(1);
    futex::Wake(Word(words[i]), INT_MAX);
  }
  for (int i = 0; i < kWaits; i++) {
    WatchedWait* w = sink.Take();
    EXPECT_EQ(w->result, WaitResult::kOk);
    watch.Done(w);
  }
  EXPECT_EQ(watch.Threads(), 1u);  // the extra watchers exited with their last wait
}

TEST(FutexWatch, WakeCountsOnOneWord) {
  Sink sink;
  futex::WaitWatch watch(Sink::Deliver, &sink);
  std::atomic<uint32_t> word{0};
  WatchedWait a, b, c;
  for (WatchedWait* w : {&a, &b, &c}) {
    w->addr = Word(word);
    ASSERT_EQ(watch.Add(w), 0);
  }
  EXPECT_EQ(watch.Threads(), 3u);  // never two waits on one word in one futex_waitv
  // The word never changes: only the wakes settle waits, one per woken kernel waiter.
  WakeUntil(Word(word), 1, 1);
  WatchedWait* first = sink.Take();
  EXPECT_EQ(first->result, WaitResult::kOk);
  WakeUntil(Word(word), INT_MAX, 2);
  for (int i = 0; i < 2; i++) {
    WatchedWait* w = sink.Take();
    EXPECT_NE(w, first);
    EXPECT_EQ(w->result, WaitResult::kOk);
  }
  EXPECT_EQ(sink.Count(), 0u);
}

TEST(FutexWatch, DeadlinesSettleOnlyTheirWaits) {
  Sink sink;
  futex::WaitWatch watch(Sink::Deliver, &sink);
  std::atomic<uint32_t> w0{0}, w1{0}, w2{0};
  WatchedWait soon, later, never;
  soon.addr = Word(w0);
  soon.deadline_ns = futex::DeadlineAfter(2000000);
  later.addr = Word(w1);
  later.deadline_ns = futex::DeadlineAfter(20000000);
  never.addr = Word(w2);
  for (WatchedWait* w : {&soon, &later, &never}) ASSERT_EQ(watch.Add(w), 0);
  WatchedWait* x = sink.Take();
  WatchedWait* y = sink.Take();
  EXPECT_EQ(x, &soon);
  EXPECT_EQ(y, &later);
  EXPECT_EQ(x->result, WaitResult::kTimedOut);
  EXPECT_EQ(y->result, WaitResult::kTimedOut);
  EXPECT_GE(futex::MonotonicNs(), later.deadline_ns);
  EXPECT_EQ(sink.Count(), 0u);
  watch.Stop();  // `never` stays pending: never delivered
  EXPECT_EQ(sink.Count(), 0u);
  EXPECT_EQ(watch.Threads(), 0u);
}

TEST(FutexWatch, ChangedWordSettlesOkNotNotEqual) {
  Sink sink;
  futex::WaitWatch watch(Sink::Deliver, &sink);
  std::atomic<uint32_t> w0{0}, w1{0};
  WatchedWait changed, other;
  changed.addr = Word(w0);
  ASSERT_EQ(watch.Add(&changed), 0);
  w0.store(7);  // no wake: the next change of the set makes the watcher re-check
  other.addr = Word(w1);
  other.deadline_ns = futex::DeadlineAfter(1000000);
  ASSERT_EQ(watch.Add(&other), 0);
  WatchedWait* a = sink.Take();
  WatchedWait* b = sink.Take();
  if (a != &changed) std::swap(a, b);
  EXPECT_EQ(a, &changed);
  EXPECT_EQ(a->result, WaitResult::kOk);
  EXPECT_EQ(b->result, WaitResult::kTimedOut);
}

TEST(FutexWatch, CancelledWaitsAreNeverDeliveredAndTheirWatcherGoesOn) {
  Sink sink;
  futex::WaitWatch watch(Sink::Deliver, &sink);
  std::atomic<uint32_t> w0{0}, w1{0};
  WatchedWait gone, kept;
  gone.addr = Word(w0);
  kept.addr = Word(w1);
  ASSERT_EQ(watch.Add(&gone), 0);
  ASSERT_EQ(watch.Add(&kept), 0);
  EXPECT_TRUE(watch.Cancel(&gone));
  EXPECT_FALSE(watch.Cancel(&gone));  // not watched any more
  // Its word changes and is woken: nothing comes of it, while the other wait still settles.
  w0.store(1);
  futex::Wake(Word(w0), INT_MAX);
  w1.store(1);
  futex::Wake(Word(w1), INT_MAX);
  WatchedWait* w = sink.Take();
  EXPECT_EQ(w, &kept);
  EXPECT_FALSE(watch.Cancel(w));  // delivered: the owner gets it through Done as usual
  watch.Done(w);
  EXPECT_EQ(sink.Count(), 0u);
  // A wait on the cancelled word can be added again (the word is forgotten) and settles.
  WatchedWait again;
  again.addr = Word(w0);
  again.expected = 1;
  ASSERT_EQ(watch.Add(&again), 0);
  EXPECT_EQ(watch.Threads(), 1u);
  w0.store(2);
  futex::Wake(Word(w0), INT_MAX);
  EXPECT_EQ(sink.Take(), &again);
  watch.Done(&again);
}

// Waits cancelled while wakers settle them: each wait is either cancelled (true, never
// delivered) or delivered once (Cancel false), never both, and a cancelled wait may be freed at
// once (its memory is reused by the next round here).
TEST(FutexWatch, CancelRacesSettling) {
  Sink sink;
  constexpr int kWords = 100;
  constexpr int kRounds = 30;
  std::vector<std::atomic<uint32_t>> words(kWords);
  futex::WaitWatch watch(Sink::Deliver, &sink);
  for (int r = 0; r < kRounds; r++) {
    std::vector<std::unique_ptr<WatchedWait>> waits;
    for (int i = 0; i < kWords; i++) {
      waits.push_back(std::make_unique<WatchedWait>());
      waits[i]->addr = Word(words[i]);
      waits[i]->expected = words[i].load();
      ASSERT_EQ(watch.Add(waits[i].get()), 0);
    }
    std::thread waker([&] {
      for (int i = 0; i < kWords; i += 2) {
        words[i].fetch_add(1);
        futex::Wake(Word(words[i]), INT_MAX);
      }
    });
    int cancelled = 0;
    for (int i = kWords - 1; i >= 0; i--) {
      if (watch.Cancel(waits[i].get())) {
        waits[i].reset();  // freed at once: no watcher reads it any more
        cancelled++;
      }
    }
    waker.join();
    for (int i = 0; i < kWords - cancelled; i++) {
      WatchedWait* w = sink.Take();
      bool known = false;
      for (auto& p : waits) known = known || p.get() == w;
      EXPECT_TRUE(known);
      watch.Done(w);
    }
    EXPECT_EQ(sink.Count(), 0u);
  }
}

// Several threads store and wake words while the owner keeps adding and retiring waits: every
// wait settles ok exactly once (a lost wake would hang, a double delivery would miscount).
TEST(FutexWatch, OwnerAndWakersRace) {
  Sink sink;
  constexpr int kWords = 200;  // two watchers
  constexpr int kRounds = 20;
  std::vector<std::atomic<uint32_t>> words(kWords);
  std::vector<WatchedWait> waits(kWords);
  std::atomic<int> round{0};
  std::atomic<bool> quit{false};
  std::vector<std::thread> wakers;
  for (int t = 0; t < 3; t++) {
    wakers.emplace_back([&, t] {
      while (!quit.load()) {
        const uint32_t r = static_cast<uint32_t>(round.load());
        for (int i = t; i < kWords; i += 3) {
          uint32_t v = r;
          if (words[i].compare_exchange_strong(v, r + 1)) futex::Wake(Word(words[i]), INT_MAX);
        }
        std::this_thread::yield();
      }
    });
  }
  {
    futex::WaitWatch watch(Sink::Deliver, &sink);
    for (int r = 0; r < kRounds; r++) {
      for (int i = 0; i < kWords; i++) {
        waits[i].addr = Word(words[i]);
        waits[i].expected = static_cast<uint32_t>(r);
        ASSERT_EQ(watch.Add(&waits[i]), 0);
      }
      round.store(r);
      std::vector<int> seen(kWords, 0);
      for (int i = 0; i < kWords; i++) {
        WatchedWait* w = sink.Take();
        EXPECT_EQ(w->result, WaitResult::kOk);
        seen[w - waits.data()]++;
        watch.Done(w);
      }
      for (int i = 0; i < kWords; i++) EXPECT_EQ(seen[i], 1) << i;
    }
  }
  quit.store(true);
  for (auto& t : wakers) t.join();
}

}  // namespace
