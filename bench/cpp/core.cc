// Google Benchmark microbenchmarks of the C++ core (shmstore_core), on the reference workload
// of bench/README.md ("Workload"): 100,000 keys "key:" + 10 zero-padded digits (14 bytes),
// 100-byte values, random order from a seeded shuffle. Built by CMake with -DSHMSTORE_BENCH=ON
// (every bench/cpp/*.cc becomes a program bench_<name>); run by `npm run bench:cpp`.
//
// Each benchmark runs single-threaded and with ->Threads(2). The store lives in one region that
// this program maps itself (mmap MAP_SHARED | MAP_ANONYMOUS, like a shm segment) and formats
// with shm::Store::Create; every benchmark thread attaches its own shm::Store handle (a handle
// is single-threaded), exactly as two worker_threads would. Times are per operation and per
// thread (Google Benchmark's convention for ->Threads(n): "Time" is wall time per iteration of
// one thread; items_per_second is the aggregate over threads). BM_SetUpdateProcesses does the
// updates of BM_SetUpdate in 1 and 2 fork()ed processes instead of threads; BM_Insert and
// BM_InsertProcesses insert new keys, on a store of their own (InsertWorld), a fixed number per
// iteration shared among their own 1 or 2 threads or processes (manual time).
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "store/alloc.h"
#include "store/store.h"

namespace {

constexpr uint32_t kKeys = 100000;
constexpr uint32_t kKeyLen = 14;
constexpr uint32_t kValueLen = 100;
constexpr uint32_t kBuckets = 131072;  // a power of two >= keys (load factor 0.76)
constexpr uint32_t kMaxEntries = 3 * kKeys;
constexpr uint64_t kRegionSize = 96ull << 20;

using Key = std::array<char, kKeyLen>;

Key MakeKey(uint32_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key:%010u", n);
  Key k;
  std::memcpy(k.data(), buf, kKeyLen);
  return k;
}

std::vector<uint32_t> Shuffled(uint32_t n, uint32_t seed) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = i;
  std::mt19937 rng(seed);
  for (uint32_t i = n - 1; i > 0; --i) {
    uint32_t j = std::uniform_int_distribution<uint32_t>(0, i)(rng);
    std::swap(v[i], v[j]);
  }
  return v;
}

uint8_t* MapRegion(uint64_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::abort();
  }
  return static_cast<uint8_t*>(p);
}

uint32_t Tid() {
  return static_cast<uint32_t>(syscall(SYS_gettid));
}

void Check(shm::Status s, const char* what) {
  if (s != shm::layout::kOk) {
    std::fprintf(stderr, "%s failed: status %d\n", what, static_cast<int>(s));
    std::abort();
  }
}

// The shared fixture: one region holding the 100,000 reference keys in namespace "bench", the
// keys that hit (k_0..k_99999), keys that miss (k_100000..), and two value sets.
struct World {
  uint8_t* base = nullptr;
  uint32_t ns = 0;
  std::vector<Key> keys;    // keys[n] = key number n
  std::vector<Key> misses;  // never inserted
  std::vector<uint32_t> order;
  std::vector<std::array<uint8_t, kValueLen>> values[2];

  World() {
    base = MapRegion(kRegionSize);
    Check(shm::Store::Create(base, kRegionSize, kBuckets, kMaxEntries), "Create");
    keys.reserve(kKeys);
    misses.reserve(kKeys);
    for (uint32_t n = 0; n < kKeys; ++n) {
      keys.push_back(MakeKey(n));
      misses.push_back(MakeKey(n + kKeys));
    }
    for (int v = 0; v < 2; ++v) {
      values[v].resize(kKeys);
      for (uint32_t n = 0; n < kKeys; ++n) {
        for (uint32_t i = 0; i < kValueLen; ++i) values[v][n][i] = 'a' + (n * 7 + i + v * 13) % 26;
      }
    }
    order = Shuffled(kKeys, 20240601);
    std::unique_ptr<shm::Store> st = Attach();
    Check(st->ResolveNamespace("bench", 5, true, &ns), "ResolveNamespace");
    for (uint32_t n : Shuffled(kKeys, 7)) {
      Check(st->Set(ns, keys[n].data(), kKeyLen, values[0][n].data(), kValueLen, 1), "Set");
    }
  }

  std::unique_ptr<shm::Store> Attach() const {
    std::unique_ptr<shm::Store> st;
    Check(shm::Store::Attach(base, kRegionSize, static_cast<uint32_t>(getpid()), Tid(), 0, &st),
          "Attach");
    return st;
  }
};

World& TheWorld() {
  static World* w = new World();  // built once, on first use, never torn down
  return *w;
}

// Each thread walks the shuffled order from its own offset.
inline uint32_t Start(const benchmark::State& state) {
  return static_cast<uint32_t>(state.thread_index()) * (kKeys / 2 + 12345) % kKeys;
}

// ---- XXH32 of keys ------------------------------------------------------------------------------

void BM_Xxh32Key(benchmark::State& state) {
  World& w = TheWorld();
  uint32_t i = Start(state);
  uint32_t acc = 0;
  for (auto _ : state) {
    const Key& k = w.keys[w.order[i]];
    acc += shm::KeyHash(k.data(), kKeyLen, w.ns);
    if (++i == kKeys) i = 0;
  }
  benchmark::DoNotOptimize(acc);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kKeyLen);
}
BENCHMARK(BM_Xxh32Key)->Threads(1)->Threads(2)->UseRealTime();

// ---- get hit / miss -----------------------------------------------------------------------------

void BM_GetHit(benchmark::State& state) {
  World& w = TheWorld();
  auto st = w.Attach();
  uint32_t i = Start(state);
  uint64_t bytes = 0;
  for (auto _ : state) {
    const Key& k = w.keys[w.order[i]];
    bool found;
    shm::Store::Value v;
    st->Get(w.ns, k.data(), kKeyLen, &found, &v);
    if (!found) state.SkipWithError("a get hit missed");
    bytes += v.length;
    if (++i == kKeys) i = 0;
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetHit)->Threads(1)->Threads(2)->UseRealTime();

void BM_GetMiss(benchmark::State& state) {
  World& w = TheWorld();
  auto st = w.Attach();
  uint32_t i = Start(state);
  for (auto _ : state) {
    const Key& k = w.misses[w.order[i]];
    bool found;
    shm::Store::Value v;
    st->Get(w.ns, k.data(), kKeyLen, &found, &v);
    if (found) state.SkipWithError("a get miss hit");
    if (++i == kKeys) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetMiss)->Threads(1)->Threads(2)->UseRealTime();

// ---- set (update an existing key with a new 100-byte value) ------------------------------------
// BM_SetUpdate takes each key's own value from the 10 MB value table (a cache miss on the source,
// as in the JS benchmark, where every key has its own value string); BM_SetUpdateHotValue copies
// from a ring of 64 values that stay in cache, like a value the caller has just built.

void BM_SetUpdate(benchmark::State& state) {
  World& w = TheWorld();
  auto st = w.Attach();
  uint32_t i = Start(state);
  int variant = 1;
  for (auto _ : state) {
    uint32_t n = w.order[i];
    shm::Status s =
        st->Set(w.ns, w.keys[n].data(), kKeyLen, w.values[variant][n].data(), kValueLen, 1);
    if (s != shm::layout::kOk) state.SkipWithError("set failed");
    if (++i == kKeys) {
      i = 0;
      variant ^= 1;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetUpdate)->Threads(1)->Threads(2)->UseRealTime();

void BM_SetUpdateHotValue(benchmark::State& state) {
  World& w = TheWorld();
  auto st = w.Attach();
  uint32_t i = Start(state);
  uint32_t r = 0;
  for (auto _ : state) {
    uint32_t n = w.order[i];
    shm::Status s =
        st->Set(w.ns, w.keys[n].data(), kKeyLen, w.values[r & 1][r & 63].data(), kValueLen, 1);
    if (s != shm::layout::kOk) state.SkipWithError("set failed");
    ++r;
    if (++i == kKeys) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetUpdateHotValue)->Threads(1)->Threads(2)->UseRealTime();

// ---- set update by 1 and 2 processes ----------------------------------------------------------
// The same updates as BM_SetUpdate, by fork()ed processes on the shared region, each attached
// with its own handle and writing its own keys (positions p, p + n, ... of the shuffled order).
// They start together on a flag in shared memory; the iteration's time is the longest of their
// timed loops (fork, attach and exit are outside it), items are all their sets.

struct Gate {
  std::atomic<uint32_t> ready{0};
  std::atomic<uint32_t> go{0};
  std::atomic<uint64_t> ns[2];
  std::atomic<uint64_t> cpuNs[2];  // each writer's CPU time over its timed loop
  std::atomic<uint32_t> failed{0};
};

// The calling thread's CPU time in ns.
uint64_t ThreadCpuNs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// Forks `procs` (1 or 2) writers that start together on the gate: writer p runs `attach()` (its
// own handle), waits for "go", then times `loop(handle, p)`, which returns how many of its writes
// failed. Returns the longest of their timed loops in ns (fork, attach and exit outside it).
template <typename Attach, typename Loop>
uint64_t RunForked(benchmark::State& state, Gate* gate, uint32_t procs, Attach attach, Loop loop) {
  gate->ready = 0;
  gate->go = 0;
  gate->failed = 0;
  pid_t pids[2] = {};
  for (uint32_t p = 0; p < procs; ++p) {
    pids[p] = fork();
    if (pids[p] != 0) continue;
    auto st = attach();
    gate->ready.fetch_add(1);
    while (gate->go.load() == 0) {
    }
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = ThreadCpuNs();
    gate->failed.fetch_add(loop(st.get(), p));
    gate->cpuNs[p] = ThreadCpuNs() - c0;
    gate->ns[p] = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    st.reset();
    _exit(0);
  }
  while (gate->ready.load() < procs) {
  }
  gate->go = 1;
  uint64_t longest = 0;
  for (uint32_t p = 0; p < procs; ++p) {
    int status = 0;
    waitpid(pids[p], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("a writer failed");
    longest = std::max<uint64_t>(longest, gate->ns[p].load());
  }
  if (gate->failed.load() != 0) state.SkipWithError("a write failed");
  return longest;
}

void BM_SetUpdateProcesses(benchmark::State& state) {
  World& w = TheWorld();
  const uint32_t procs = static_cast<uint32_t>(state.range(0));
  constexpr uint32_t kSets = 300000;
  auto* gate = new (MapRegion(4096)) Gate();
  for (auto _ : state) {
    const uint64_t ns = RunForked(
        state, gate, procs, [&] { return w.Attach(); },
        [&](shm::Store* st, uint32_t p) {
          uint32_t failed = 0;
          uint32_t i = p;
          int variant = 1;
          for (uint32_t k = 0; k < kSets; ++k) {
            const uint32_t n = w.order[i];
            if (st->Set(w.ns, w.keys[n].data(), kKeyLen, w.values[variant][n].data(), kValueLen,
                        1) != shm::layout::kOk) {
              ++failed;
            }
            i += procs;
            if (i >= kKeys) {
              i = p;
              variant ^= 1;
            }
          }
          return failed;
        });
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
  }
  munmap(gate, 4096);
  state.SetItemsProcessed(state.iterations() * procs * kSets);
  state.SetLabel("disjoint keys, one handle per process");
}
BENCHMARK(BM_SetUpdateProcesses)->ArgName("processes")->Arg(1)->Arg(2)->UseManualTime();

// ---- insert (a new key) by 1 and 2 threads and processes ----------------------------------------
// One iteration inserts the same kInsertTotal new keys whatever the number of writers: writer w of
// W (a thread or a fork()ed process, its own handle) sets keys w * kInsertTotal / W .. (w + 1) *
// kInsertTotal / W - 1, with 100-byte values from a small table, into a store formatted afresh
// before the iteration (untimed), so that 1 and 2 writers do the same work on the same store
// states. The cost of an insert grows with what the store holds (a miss walks the whole chain of
// its bucket, and the table and the entries cover more memory): writers that each insert for the
// same time fill a store twice as far with 2 as with 1, which measured the fill as much as the
// scaling (bench/README.md, "Insert scaling"). Nothing is deleted: the next iteration meets no
// freed space and runs no compaction. The iteration's time is the longest of the writers' timed
// loops; the region's pages are touched once, before the first iteration. The counter
// cpu_ns_per_item is the writers' CPU time (summed) per insert: on a machine that does not give
// each writer a core of its own the wall-clock rate of 2 says little, while the same CPU time per
// insert with 2 writers as with 1 says that nothing they share makes an insert dearer.

constexpr uint32_t kInsertTotal = 1000000;
constexpr uint32_t kInsertFirst = 10 * kKeys;
constexpr uint32_t kInsertBuckets = 1u << 20;
constexpr uint32_t kInsertMaxEntries = 2 * kInsertTotal;
constexpr uint64_t kInsertRegionSize = 384ull << 20;
constexpr uint32_t kInsertValues = 4096;

struct InsertWorld {
  uint8_t* base = nullptr;
  uint32_t ns = 0;
  std::vector<Key> keys;  // keys[i], i < kInsertTotal
  std::vector<std::array<uint8_t, kValueLen>> values;

  InsertWorld() {
    base = MapRegion(kInsertRegionSize);
    std::memset(base, 0, kInsertRegionSize);  // no first-touch page faults inside the timing
    keys.reserve(kInsertTotal);
    for (uint32_t n = 0; n < kInsertTotal; ++n) keys.push_back(MakeKey(kInsertFirst + n));
    values.resize(kInsertValues);
    for (uint32_t n = 0; n < kInsertValues; ++n) {
      for (uint32_t i = 0; i < kValueLen; ++i) values[n][i] = 'a' + (n * 7 + i) % 26;
    }
  }

  // Formats an empty store over the region (the pages stay mapped) with namespace "bench".
  void Reset() {
    Check(shm::Store::Create(base, kInsertRegionSize, kInsertBuckets, kInsertMaxEntries), "Create");
    std::unique_ptr<shm::Store> st = Attach();
    Check(st->ResolveNamespace("bench", 5, true, &ns), "ResolveNamespace");
  }

  std::unique_ptr<shm::Store> Attach() const {
    std::unique_ptr<shm::Store> st;
    Check(
        shm::Store::Attach(base, kInsertRegionSize, static_cast<uint32_t>(getpid()), Tid(), 0, &st),
        "Attach");
    return st;
  }

  // Writer w of `writers` inserts its share of the keys through st; returns how many failed.
  uint32_t InsertShare(shm::Store* st, uint32_t w, uint32_t writers) const {
    uint32_t failed = 0;
    const uint32_t end = static_cast<uint32_t>(uint64_t{kInsertTotal} * (w + 1) / writers);
    for (uint32_t i = static_cast<uint32_t>(uint64_t{kInsertTotal} * w / writers); i < end; ++i) {
      if (st->Set(ns, keys[i].data(), kKeyLen, values[i % kInsertValues].data(), kValueLen, 1) !=
          shm::layout::kOk) {
        ++failed;
      }
    }
    return failed;
  }
};

InsertWorld& TheInsertWorld() {
  static InsertWorld* w = new InsertWorld();
  return *w;
}

// RunForked's threads: `writers` threads, each with its own handle, start together on the gate;
// returns the longest of their timed loops in ns (thread start, attach and join outside it).
template <typename Attach, typename Loop>
uint64_t RunThreaded(benchmark::State& state, Gate& gate, uint32_t writers, Attach attach,
                     Loop loop) {
  gate.ready = 0;
  gate.go = 0;
  gate.failed = 0;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      auto st = attach();
      gate.ready.fetch_add(1);
      while (gate.go.load() == 0) {
      }
      const auto t0 = std::chrono::steady_clock::now();
      const uint64_t c0 = ThreadCpuNs();
      gate.failed.fetch_add(loop(st.get(), t));
      gate.cpuNs[t] = ThreadCpuNs() - c0;
      gate.ns[t] = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - t0)
                                             .count());
    });
  }
  while (gate.ready.load() < writers) {
  }
  gate.go = 1;
  uint64_t longest = 0;
  for (uint32_t t = 0; t < writers; ++t) {
    threads[t].join();
    longest = std::max<uint64_t>(longest, gate.ns[t].load());
  }
  if (gate.failed.load() != 0) state.SkipWithError("an insert failed");
  return longest;
}

void BM_Insert(benchmark::State& state) {
  InsertWorld& w = TheInsertWorld();
  const uint32_t writers = static_cast<uint32_t>(state.range(0));
  Gate gate;
  uint64_t cpu = 0;
  for (auto _ : state) {
    w.Reset();
    const uint64_t ns = RunThreaded(
        state, gate, writers, [&] { return w.Attach(); },
        [&](shm::Store* st, uint32_t t) { return w.InsertShare(st, t, writers); });
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    for (uint32_t t = 0; t < writers; ++t) cpu += gate.cpuNs[t].load();
  }
  state.counters["cpu_ns_per_item"] =
      static_cast<double>(cpu) / static_cast<double>(state.iterations() * kInsertTotal);
  state.SetItemsProcessed(state.iterations() * kInsertTotal);
  state.SetLabel("new keys, one handle per thread");
}
BENCHMARK(BM_Insert)->ArgName("threads")->Arg(1)->Arg(2)->UseManualTime();

void BM_InsertProcesses(benchmark::State& state) {
  InsertWorld& w = TheInsertWorld();
  const uint32_t procs = static_cast<uint32_t>(state.range(0));
  auto* gate = new (MapRegion(4096)) Gate();
  uint64_t cpu = 0;
  for (auto _ : state) {
    w.Reset();
    const uint64_t ns = RunForked(
        state, gate, procs, [&] { return w.Attach(); },
        [&](shm::Store* st, uint32_t p) { return w.InsertShare(st, p, procs); });
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    for (uint32_t p = 0; p < procs; ++p) cpu += gate->cpuNs[p].load();
  }
  munmap(gate, 4096);
  state.counters["cpu_ns_per_item"] =
      static_cast<double>(cpu) / static_cast<double>(state.iterations() * kInsertTotal);
  state.SetItemsProcessed(state.iterations() * kInsertTotal);
  state.SetLabel("new keys, one handle per process");
}
BENCHMARK(BM_InsertProcesses)->ArgName("processes")->Arg(1)->Arg(2)->UseManualTime();

// ---- delete (of existing keys; every key deleted is put back untimed) ---------------------------

void BM_Delete(benchmark::State& state) {
  World& w = TheWorld();
  auto st = w.Attach();
  // Thread t deletes the keys at positions t, t + threads, ... of the shuffled order, so that
  // two threads never delete the same key; after a full pass the keys are reinserted (timer
  // paused once per pass, not per key).
  const uint32_t t = static_cast<uint32_t>(state.thread_index());
  const uint32_t step = static_cast<uint32_t>(state.threads());
  uint32_t i = t;
  uint32_t from = t;
  auto restore = [&](uint32_t upto) {
    for (uint32_t j = from; j < upto; j += step) {
      uint32_t n = w.order[j];
      st->Set(w.ns, w.keys[n].data(), kKeyLen, w.values[0][n].data(), kValueLen, 1);
    }
  };
  for (auto _ : state) {
    uint32_t n = w.order[i];
    bool existed = false;
    st->Delete(w.ns, w.keys[n].data(), kKeyLen, &existed);
    if (!existed) state.SkipWithError("delete found no key");
    i += step;
    if (i >= kKeys) {
      state.PauseTiming();
      restore(kKeys);
      i = from = t;
      state.ResumeTiming();
    }
  }
  restore(i);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Delete)->Threads(1)->Threads(2)->UseRealTime();

// ---- allocator: AllocBlock + FreeBlock of a reference-entry block (9 units) ---------------------

struct AllocWorld {
  uint8_t* base = nullptr;
  shm::PoolView pool;
  uint32_t cls = 0;
  AllocWorld() {
    const uint64_t size = 16ull << 20;
    const uint32_t buckets = 1024;
    base = MapRegion(size);
    Check(shm::Store::Create(base, size, buckets, 1u << 20), "Create");
    pool.base = base;
    pool.header = reinterpret_cast<shm::layout::Header*>(base);
    pool.alloc = reinterpret_cast<shm::layout::AllocState*>(base + shm::layout::kAllocOffset);
    pool.firstUnit = static_cast<uint32_t>(shm::EntriesOffset(buckets) / shm::layout::kBlockUnit);
    pool.totalUnits = static_cast<uint32_t>(size / shm::layout::kBlockUnit);
    cls = shm::SizeClassFor(shm::UnitsForEntry(kKeyLen, kValueLen));
  }
};

AllocWorld& TheAllocWorld() {
  static AllocWorld* w = new AllocWorld();
  return *w;
}

void BM_AllocFree(benchmark::State& state) {
  AllocWorld& w = TheAllocWorld();
  shm::LockEnv env;
  env.regionBase = w.base;
  env.owners = reinterpret_cast<shm::layout::Owner*>(w.base + shm::layout::kOwnersOffset);
  env.self = shm::IdentityOf(static_cast<uint32_t>(getpid()), Tid());
  env.selfSlot = shm::ClaimOwnerSlot(env.owners, env.self);
  if (env.selfSlot == 0) {
    state.SkipWithError("no owner slot");
    return;
  }
  shm::RegisterLiveSlot(w.base, env.selfSlot);
  // A few blocks in flight per thread, so that frees and allocations interleave like sets do.
  constexpr int kInFlight = 8;
  uint32_t held[kInFlight] = {};
  for (int j = 0; j < kInFlight; ++j) shm::AllocBlock(w.pool, env, w.cls, &held[j]);
  int j = 0;
  for (auto _ : state) {
    if (shm::FreeBlock(w.pool, env, held[j]) != shm::AllocStatus::kOk ||
        shm::AllocBlock(w.pool, env, w.cls, &held[j]) != shm::AllocStatus::kOk) {
      state.SkipWithError("alloc/free failed");
      break;
    }
    if (++j == kInFlight) j = 0;
  }
  for (uint32_t u : held) shm::FreeBlock(w.pool, env, u);
  shm::UnregisterLiveSlot(w.base, env.selfSlot);
  shm::ReleaseOwnerSlot(env.owners, env.selfSlot);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("one free + one alloc per iteration");
}
BENCHMARK(BM_AllocFree)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
