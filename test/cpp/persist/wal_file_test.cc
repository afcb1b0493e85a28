// Growing a log file with AllocateLogSpace (src/persist/wal_file.h): the file grows to cover the
// range, its blocks are allocated, it reads as zeros, and bad arguments are refused. Prefaulting
// its mapping with PrefaultLogSpace: stores into the range then take no page fault, and no byte
// changes. TryLockFileExclusive: the flock a backup takes its directory with.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "persist/wal_file.h"

namespace shm::test {
namespace {

TEST(WalFile, AllocatesAndGrows) {
  char path[] = "/tmp/shmstore-wal-file-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_EQ(pwrite(fd, "head", 4, 0), 4);
  const int rc = AllocateLogSpace(fd, 4096, 1 << 20);
  if (rc == EOPNOTSUPP) {
    close(fd);
    GTEST_SKIP() << "the file system of /tmp has no fallocate";
  }
  ASSERT_EQ(rc, 0);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 4096 + (1 << 20));
  // Every block of the range is allocated (st_blocks counts 512-byte units).
  EXPECT_GE(static_cast<int64_t>(st.st_blocks) * 512, int64_t{1} << 20);
  std::vector<char> back(8192, 1);
  ASSERT_EQ(pread(fd, back.data(), back.size(), 4096), static_cast<ssize_t>(back.size()));
  for (char c : back) ASSERT_EQ(c, 0);
  // The bytes before the range are kept, and a range inside the file leaves its size.
  char head[4] = {};
  ASSERT_EQ(pread(fd, head, 4, 0), 4);
  EXPECT_EQ(std::string(head, 4), "head");
  ASSERT_EQ(AllocateLogSpace(fd, 0, 4096), 0);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 4096 + (1 << 20));
  close(fd);
}

TEST(WalFile, RefusesBadArguments) {
  EXPECT_EQ(AllocateLogSpace(-1, 0, 4096), EBADF);
  EXPECT_EQ(AllocateLogSpace(0, 0, 0), EINVAL);
  EXPECT_EQ(AllocateLogSpace(0, UINT64_MAX, 1), EINVAL);
  EXPECT_EQ(AllocateLogSpace(0, 1, static_cast<uint64_t>(INT64_MAX)), EINVAL);
}

// TryLockFileExclusive: an exclusive flock of a directory, which another open of it cannot take
// until the holder closes its descriptor (the try says EWOULDBLOCK at once instead of waiting);
// a bad descriptor is refused with EBADF.
TEST(WalFile, LocksADirectoryExclusively) {
  char dir[] = "/tmp/shmstore-dir-lock-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const int a = open(dir, O_RDONLY | O_DIRECTORY);
  const int b = open(dir, O_RDONLY | O_DIRECTORY);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_EQ(TryLockFileExclusive(a), 0);
  EXPECT_EQ(flock(b, LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  EXPECT_EQ(TryLockFileExclusive(b), EWOULDBLOCK);
  close(a);
  EXPECT_EQ(TryLockFileExclusive(b), 0);
  close(b);
  rmdir(dir);
  EXPECT_EQ(TryLockFileExclusive(-1), EBADF);
}

// Minor page faults of this thread so far.
long ThreadFaults() {
  struct rusage ru {};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

TEST(WalFile, PrefaultMakesPagesPresentWithoutChangingThem) {
  char path[] = "/tmp/shmstore-wal-prefault-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t pages = 256;
  const size_t length = pages * page;
  if (AllocateLogSpace(fd, 0, length) == EOPNOTSUPP) {
    ASSERT_EQ(ftruncate(fd, length), 0);
  }
  // A record already in the file, in the middle of the first page prefaulted.
  ASSERT_EQ(pwrite(fd, "record", 6, page + 100), 6);
  auto* map =
      static_cast<uint8_t*>(mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(map, MAP_FAILED);
  // From an offset inside a page: the whole page is included.
  const int rc = PrefaultLogSpace(map + page + 100, length - page - 100);
  if (rc == EINVAL) {
    munmap(map, length);
    close(fd);
    GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE";
  }
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(map) + page + 100, 6), "record");
  for (size_t i = page; i < length; ++i) {
    if (i < page + 100 || i >= page + 106) {
      ASSERT_EQ(map[i], 0) << i;
    }
  }
  // Stores into every prefaulted page fault no more (one store per page, each a fault without
  // the prefault; a few faults of the test's own are allowed).
  const long before = ThreadFaults();
  for (size_t p = 1; p < pages; ++p) map[p * page + 8] = 1;
  EXPECT_LT(ThreadFaults() - before, 8);
  // The page before the range was not prefaulted: its store faults.
  const long first = ThreadFaults();
  map[8] = 1;
  EXPECT_GE(ThreadFaults() - first, 1);
  munmap(map, length);
  // An unmapped range is refused, nothing done.
  EXPECT_EQ(PrefaultLogSpace(map, length), ENOMEM);
  EXPECT_EQ(PrefaultLogSpace(map, 0), 0);
  close(fd);
}

}  // namespace
}  // namespace shm::test
