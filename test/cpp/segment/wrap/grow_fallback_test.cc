// Tests of how Segment::Create allocates where the file system has no fallocate (NFS, some FUSE
// file systems). Built into its own program, linked with -Wl,--wrap=fallocate and
// -Wl,--wrap=posix_fallocate (CMakeLists.txt): the calls the segment room makes go through the
// __wrap_ functions below, which record them and can make fallocate fail with EOPNOTSUPP.
//
// glibc's posix_fallocate falls back, without fallocate, to reading one byte per block and
// writing a zero where it read one: over bytes another process has mapped and writes, a write
// made between the read and the write is lost. The invariant checked here: that fallback never
// covers a byte the object had before the call.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "segment/segment.h"

namespace {

struct Call {
  int mode;  // fallocate's mode; -1 for posix_fallocate
  uint64_t offset;
  uint64_t len;
};

bool g_fallocate_unsupported = false;
std::vector<Call> g_fallocate_calls;
std::vector<Call> g_posix_fallocate_calls;

}  // namespace

extern "C" {
int __real_fallocate(int fd, int mode, off_t offset, off_t len);
int __real_posix_fallocate(int fd, off_t offset, off_t len);

int __wrap_fallocate(int fd, int mode, off_t offset, off_t len) {
  g_fallocate_calls.push_back({mode, static_cast<uint64_t>(offset), static_cast<uint64_t>(len)});
  if (g_fallocate_unsupported) {
    errno = EOPNOTSUPP;
    return -1;
  }
  return __real_fallocate(fd, mode, offset, len);
}

// The real posix_fallocate runs (on tmpfs it allocates with the system call, which glibc calls
// directly, not through the wrapped symbol): only the range asked for is of interest.
int __wrap_posix_fallocate(int fd, off_t offset, off_t len) {
  g_posix_fallocate_calls.push_back(
      {-1, static_cast<uint64_t>(offset), static_cast<uint64_t>(len)});
  return __real_posix_fallocate(fd, offset, len);
}
}

namespace {

using shm::CreateOptions;
using shm::Segment;
using shm::SegmentKind;
namespace L = shm::layout;

constexpr uint64_t kOld = 64 * 1024;
constexpr uint64_t kNew = 256 * 1024;

// A fresh shm object name, removed when the test ends, with the recorders reset.
class GrowFallback : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    name_ = "shmstore-cpp-wrap-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    Reset(false);
  }
  void TearDown() override {
    g_fallocate_unsupported = false;
    Segment::Unlink(SegmentKind::kShm, name_.c_str(), nullptr);
  }
  static void Reset(bool unsupported) {
    g_fallocate_unsupported = unsupported;
    g_fallocate_calls.clear();
    g_posix_fallocate_calls.clear();
  }
  CreateOptions Opts(uint64_t size, bool exclusive) const {
    CreateOptions o;
    o.kind = SegmentKind::kShm;
    o.id = name_.c_str();
    o.size = size;
    o.exclusive = exclusive;
    o.reserve = true;
    return o;
  }
  uint64_t SizeOnDisk() const {
    struct stat st;
    if (stat(("/dev/shm/" + name_).c_str(), &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_size);
  }
  std::string name_;
};

TEST_F(GrowFallback, NewObjectIsAllocatedByTheFallbackAndSized) {
  Reset(true);
  Segment s;
  ASSERT_EQ(Segment::Create(Opts(kOld, true), &s, nullptr), L::kOk);
  EXPECT_EQ(s.size(), kOld);
  EXPECT_EQ(SizeOnDisk(), kOld);
  ASSERT_EQ(g_posix_fallocate_calls.size(), 1u);
  EXPECT_EQ(g_posix_fallocate_calls[0].offset, 0u);
  EXPECT_EQ(g_posix_fallocate_calls[0].len, kOld);
}

TEST_F(GrowFallback, GrowRunsTheFallbackOnlyOverTheAddedRange) {
  Segment a;
  ASSERT_EQ(Segment::Create(Opts(kOld, true), &a, nullptr), L::kOk);
  for (uint64_t i = 0; i < kOld; i += 4096) a.data()[i + 7] = 0x5a;

  Reset(true);
  Segment b;
  ASSERT_EQ(Segment::Create(Opts(kNew, false), &b, nullptr), L::kOk);
  EXPECT_EQ(b.size(), kNew);
  EXPECT_EQ(SizeOnDisk(), kNew);
  // Not one byte below the old size is covered by the fallback; the added range is, entirely.
  uint64_t covered = 0;
  for (const Call& c : g_posix_fallocate_calls) {
    EXPECT_GE(c.offset, kOld) << "posix_fallocate(" << c.offset << ", " << c.len << ")";
    covered += c.len;
  }
  EXPECT_EQ(covered, kNew - kOld);
  // Every allocation of the existing bytes went through the system call (which writes nothing).
  for (const Call& c : g_fallocate_calls) EXPECT_LE(c.offset + c.len, kNew);
  for (uint64_t i = 0; i < kOld; i += 4096) ASSERT_EQ(b.data()[i + 7], 0x5a) << i;
}

TEST_F(GrowFallback, ReserveOpenOfALongEnoughObjectDoesNotRunTheFallback) {
  Segment a;
  ASSERT_EQ(Segment::Create(Opts(kOld, true), &a, nullptr), L::kOk);
  a.data()[100] = 1;

  Reset(true);
  for (uint64_t size : {kOld, uint64_t{4096}}) {
    Segment b;
    ASSERT_EQ(Segment::Create(Opts(size, false), &b, nullptr), L::kOk);
    EXPECT_EQ(b.size(), kOld);
    EXPECT_EQ(b.data()[100], 1);
  }
  EXPECT_EQ(SizeOnDisk(), kOld);
  EXPECT_TRUE(g_posix_fallocate_calls.empty());
}

// Where the file system has fallocate, a reserve-open of a long-enough object allocates its
// range with the system call alone, mode 0 (which cannot change the size), and not with the
// fallback.
TEST_F(GrowFallback, ReserveOpenUsesTheSystemCallWhereThereIsOne) {
  Segment a;
  ASSERT_EQ(Segment::Create(Opts(kOld, true), &a, nullptr), L::kOk);

  Reset(false);
  Segment b;
  ASSERT_EQ(Segment::Create(Opts(4096, false), &b, nullptr), L::kOk);
  EXPECT_EQ(b.size(), kOld);
  EXPECT_EQ(SizeOnDisk(), kOld);
  EXPECT_TRUE(g_posix_fallocate_calls.empty());
  ASSERT_EQ(g_fallocate_calls.size(), 1u);
  EXPECT_EQ(g_fallocate_calls[0].mode, 0);
  EXPECT_EQ(g_fallocate_calls[0].offset, 0u);
  EXPECT_EQ(g_fallocate_calls[0].len, 4096u);
}

// A grow where fallocate works keeps the size until every block is there (keep-size mode over
// the whole range), and never needs the fallback.
TEST_F(GrowFallback, GrowWithFallocateAllocatesBeforeTheSize) {
  Segment a;
  ASSERT_EQ(Segment::Create(Opts(kOld, true), &a, nullptr), L::kOk);

  Reset(false);
  Segment b;
  ASSERT_EQ(Segment::Create(Opts(kNew, false), &b, nullptr), L::kOk);
  EXPECT_EQ(SizeOnDisk(), kNew);
  EXPECT_TRUE(g_posix_fallocate_calls.empty());
  ASSERT_EQ(g_fallocate_calls.size(), 1u);
  EXPECT_EQ(g_fallocate_calls[0].mode, FALLOC_FL_KEEP_SIZE);
  EXPECT_EQ(g_fallocate_calls[0].offset, 0u);
  EXPECT_EQ(g_fallocate_calls[0].len, kNew);
}

}  // namespace
