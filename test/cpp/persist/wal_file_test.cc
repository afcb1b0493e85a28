// Growing a log file with AllocateLogSpace (src/persist/wal_file.h): the file grows to cover the
// range, its blocks are allocated, it reads as zeros, and bad arguments are refused.
#include <gtest/gtest.h>
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

}  // namespace
}  // namespace shm::test
