// What two cores pay for writing at random into one table, with no store code at all: the
// hardware part of the insert-scaling question (bench/README.md, "Insert scaling").
//
// An insert into the store writes at random into the bucket table (the bucket's version and
// slot) and appends its entry to the writer's own allocation region. This program does only
// that, with plain memory: each operation increments one 8-byte word of a random 64-byte line
// of a table (a read-modify-write, as a bucket's version) and writes 128 bytes at the next place
// of the writer's own log (an entry). One iteration performs kOps operations whatever the number
// of writers (writer w of W does kOps / W); its time is the longest writer's loop. Each line is
// chosen only after the previous one has been read, so that misses are paid one after another as
// in the store (whose work between two inserts is far longer than a core can look ahead). Three
// layouts of the table, chosen by the second argument:
//   0 shared:         every writer touches lines anywhere in one table of kTableBytes;
//   1 separate-half:  writer w of W touches only the w-th of W equal parts of that table (the
//                     same memory as 'shared', never a line another core wrote);
//   2 separate-full:  each writer has a table of kTableBytes of its own (each writer's footprint
//                     that of one writer alone, twice the memory in all).
// A line last written by the other core must come from that core's cache instead of the shared
// cache or memory; 'shared' against 'separate-half' is what that costs. The third argument adds
// that many shared counters (fetch_add of a word on a line of its own, the same words for every
// writer) to each operation, as an insert counts itself into the store's and its namespace's
// counts. The counter
// cpu_ns_per_item is the writers' CPU time per operation, as in bench/cpp/core.cc's BM_Insert.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr uint64_t kTableBytes = 64ull << 20;  // the bucket table of BM_Insert's store, rounded
constexpr uint64_t kLine = 64;
constexpr uint64_t kEntry = 128;
constexpr uint64_t kOps = 2000000;
constexpr uint64_t kLogBytes = kOps * kEntry;
// Counters on lines of their own (an insert adds 1 to the store's entryCount and to its
// namespace's count, two words on two lines that every writer writes).
constexpr uint32_t kCounterStride = kLine / sizeof(uint32_t);

uint8_t* MapRegion(uint64_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  std::memset(p, 0, bytes);  // no first-touch page faults inside the timing
  return static_cast<uint8_t*>(p);
}

uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct World {
  uint8_t* tables[2];
  uint8_t* logs[2];
  std::atomic<uint32_t>* counters;
  World() {
    counters = new (MapRegion(4 * kLine)) std::atomic<uint32_t>[3 * kCounterStride]();
    for (int i = 0; i < 2; ++i) {
      tables[i] = MapRegion(kTableBytes);
      logs[i] = MapRegion(kLogBytes);
    }
  }
};

World& TheWorld() {
  static World* w = new World();
  return *w;
}

// Writer w's loop: `ops` operations on lines [first, first + lines) of `table`, entries into
// `log`. xorshift64 picks the lines (the same sequence for a writer in every layout).
void Loop(uint8_t* table, uint64_t first, uint64_t lines, uint8_t* log, uint64_t ops, uint64_t seed,
          std::atomic<uint32_t>* counters, uint32_t nCounters) {
  uint64_t x = seed;
  uint8_t entry[kEntry];
  std::memset(entry, 'v', sizeof entry);
  for (uint64_t i = 0; i < ops; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    auto* word = reinterpret_cast<volatile uint64_t*>(table + (first + x % lines) * kLine);
    const uint64_t v = *word;
    *word = v + 1;
    // The next line depends on this one's value, as an insert's next bucket waits for the work
    // of this one: the misses of successive operations cannot overlap.
    x += v;
    std::memcpy(log + i * kEntry, entry, kEntry);
    for (uint32_t c = 0; c < nCounters; ++c) counters[c * kCounterStride].fetch_add(1);
  }
  benchmark::ClobberMemory();
}

void BM_TableTouch(benchmark::State& state) {
  World& w = TheWorld();
  const auto writers = static_cast<uint32_t>(state.range(0));
  const auto layout = state.range(1);
  const auto counters = static_cast<uint32_t>(state.range(2));
  const uint64_t allLines = kTableBytes / kLine;
  std::atomic<uint64_t> cpu{0};
  for (auto _ : state) {
    std::atomic<uint32_t> ready{0};
    std::atomic<uint32_t> go{0};
    std::vector<uint64_t> ns(writers);
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < writers; ++t) {
      threads.emplace_back([&, t] {
        uint8_t* table = layout == 2 ? w.tables[t] : w.tables[0];
        const uint64_t lines = layout == 1 ? allLines / writers : allLines;
        const uint64_t first = layout == 1 ? t * lines : 0;
        ready.fetch_add(1);
        while (go.load() == 0) {
        }
        const auto t0 = std::chrono::steady_clock::now();
        const uint64_t c0 = ThreadCpuNs();
        Loop(table, first, lines, w.logs[t], kOps / writers, 0x9E3779B97F4A7C15ull * (t + 1),
             w.counters, counters);
        cpu.fetch_add(ThreadCpuNs() - c0);
        ns[t] = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now() - t0)
                                          .count());
      });
    }
    while (ready.load() < writers) {
    }
    go = 1;
    for (auto& th : threads) th.join();
    state.SetIterationTime(static_cast<double>(*std::max_element(ns.begin(), ns.end())) * 1e-9);
  }
  state.counters["cpu_ns_per_item"] =
      static_cast<double>(cpu.load()) / static_cast<double>(state.iterations() * kOps);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kOps));
  static const char* const kLabels[] = {"shared", "separate-half", "separate-full"};
  state.SetLabel(std::string(kLabels[layout]) + (counters ? ", +counters" : ""));
}
BENCHMARK(BM_TableTouch)
    ->ArgNames({"writers", "layout", "counters"})
    ->Args({1, 0, 0})
    ->Args({2, 0, 0})
    ->Args({2, 1, 0})
    ->Args({2, 2, 0})
    ->Args({1, 0, 2})
    ->Args({2, 0, 2})
    ->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
