// Tests of src/segment/segment.h and src/base/sys_error.h: the C++ core without Node.
#include "segment/segment.h"

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include "base/sys_error.h"

namespace {

using shm::CreateOptions;
using shm::Segment;
using shm::SegmentKind;
using shm::SysError;
namespace L = shm::layout;

std::string UniqueName(const char* tag) {
  static int counter = 0;
  return "shmstore-cpp-" + std::string(tag) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(++counter);
}

// Removes the shm object when the test ends, whatever happened.
struct ShmName {
  explicit ShmName(const char* tag) : name(UniqueName(tag)) {}
  ~ShmName() { Segment::Unlink(SegmentKind::kShm, name.c_str(), nullptr); }
  std::string path() const { return "/dev/shm/" + name; }
  std::string name;
};

// o.id points into `name`: the caller keeps it alive (string literals pick this overload).
CreateOptions Opts(const char* name, uint64_t size) {
  CreateOptions o;
  o.kind = SegmentKind::kShm;
  o.id = name;
  o.size = size;
  return o;
}
CreateOptions Opts(const std::string& name, uint64_t size) {
  return Opts(name.c_str(), size);
}

TEST(SysError, MapsErrnoToStableStatus) {
  EXPECT_EQ(shm::StatusFromErrno(0), L::kOk);
  EXPECT_EQ(shm::StatusFromErrno(ENOENT), L::kErrShmNotFound);
  EXPECT_EQ(shm::StatusFromErrno(EEXIST), L::kErrShmExists);
  EXPECT_EQ(shm::StatusFromErrno(EACCES), L::kErrShmAccess);
  EXPECT_EQ(shm::StatusFromErrno(EPERM), L::kErrShmAccess);
  EXPECT_EQ(shm::StatusFromErrno(ENOSPC), L::kErrShmNoSpace);
  EXPECT_EQ(shm::StatusFromErrno(EDQUOT), L::kErrShmNoSpace);
  EXPECT_EQ(shm::StatusFromErrno(ENOMEM), L::kErrShmTooLarge);
  EXPECT_EQ(shm::StatusFromErrno(EFBIG), L::kErrShmTooLarge);
  EXPECT_EQ(shm::StatusFromErrno(EINVAL), L::kErrInvalidArg);
  EXPECT_EQ(shm::StatusFromErrno(EISDIR), L::kErrInvalidArg);
  EXPECT_EQ(shm::StatusFromErrno(EIO), L::kErrShmIo);
  EXPECT_EQ(shm::StatusFromErrno(12345), L::kErrShmIo);
  EXPECT_STREQ(shm::ErrnoName(ENOENT), "ENOENT");
  EXPECT_STREQ(shm::ErrnoName(123456), "E?");
}

TEST(SysError, FailRecordsErrnoAndSyscall) {
  SysError err;
  EXPECT_EQ(shm::Fail(EACCES, "open", &err), L::kErrShmAccess);
  EXPECT_EQ(err.err, EACCES);
  EXPECT_STREQ(err.syscall, "open");
  EXPECT_EQ(shm::FailStatus(L::kErrBadSize, "why", &err), L::kErrBadSize);
  EXPECT_EQ(err.err, 0);
  EXPECT_STREQ(err.detail, "why");
  EXPECT_EQ(shm::Fail(ENOENT, "x", nullptr), L::kErrShmNotFound);  // null out is allowed
}

TEST(Segment, ValidShmName) {
  EXPECT_TRUE(shm::ValidShmName("a"));
  EXPECT_TRUE(shm::ValidShmName("My-app_1.store"));
  EXPECT_TRUE(shm::ValidShmName(std::string(200, 'x').c_str()));
  EXPECT_FALSE(shm::ValidShmName(std::string(201, 'x').c_str()));
  EXPECT_FALSE(shm::ValidShmName(nullptr));
  EXPECT_FALSE(shm::ValidShmName(""));
  EXPECT_FALSE(shm::ValidShmName("."));
  EXPECT_FALSE(shm::ValidShmName(".."));
  EXPECT_FALSE(shm::ValidShmName("/a"));
  EXPECT_FALSE(shm::ValidShmName("a/b"));
  EXPECT_FALSE(shm::ValidShmName("a b"));
}

TEST(Segment, CreateOpenShareMemory) {
  ShmName n("share");
  Segment a;
  SysError err;
  ASSERT_EQ(Segment::Create(Opts(n.name, 4096), &a, &err), L::kOk);
  EXPECT_EQ(a.size(), 4096u);
  EXPECT_TRUE(a.mapped());
  EXPECT_GE(a.fd(), 0);
  memcpy(a.data() + 100, "hello", 5);

  Segment b;
  ASSERT_EQ(Segment::Open(SegmentKind::kShm, n.name.c_str(), &b, &err), L::kOk);
  EXPECT_EQ(b.size(), 4096u);
  EXPECT_NE(a.data(), b.data());  // two mappings of the same memory
  EXPECT_EQ(memcmp(b.data() + 100, "hello", 5), 0);

  struct stat st;
  ASSERT_EQ(stat(n.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Segment, ExclusiveAndNotFound) {
  ShmName n("excl");
  Segment a, b;
  SysError err;
  ASSERT_EQ(Segment::Create(Opts(n.name, 64), &a, &err), L::kOk);
  EXPECT_EQ(Segment::Create(Opts(n.name, 64), &b, &err), L::kErrShmExists);
  EXPECT_EQ(err.err, EEXIST);
  EXPECT_STREQ(err.syscall, "shm_open");
  EXPECT_FALSE(b.mapped());

  ShmName missing("missing");
  EXPECT_EQ(Segment::Open(SegmentKind::kShm, missing.name.c_str(), &b, &err), L::kErrShmNotFound);
  EXPECT_EQ(err.err, ENOENT);
  EXPECT_EQ(Segment::Unlink(SegmentKind::kShm, missing.name.c_str(), &err), L::kErrShmNotFound);
}

TEST(Segment, NeverShrinksAndGrows) {
  ShmName n("grow");
  Segment a, b, c;
  ASSERT_EQ(Segment::Create(Opts(n.name, 8192), &a, nullptr), L::kOk);
  a.data()[8000] = 42;
  CreateOptions small = Opts(n.name, 10);
  small.exclusive = false;
  ASSERT_EQ(Segment::Create(small, &b, nullptr), L::kOk);
  EXPECT_EQ(b.size(), 8192u);
  EXPECT_EQ(b.data()[8000], 42);
  CreateOptions big = Opts(n.name, 100000);
  big.exclusive = false;
  big.reserve = false;
  ASSERT_EQ(Segment::Create(big, &c, nullptr), L::kOk);
  EXPECT_EQ(c.size(), 100000u);
  EXPECT_EQ(c.data()[8000], 42);
  struct stat st;
  ASSERT_EQ(stat(n.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 100000);
}

TEST(Segment, ExactModeIgnoresUmask) {
  ShmName n("mode");
  const mode_t old = umask(077);
  CreateOptions o = Opts(n.name, 1);
  o.mode = 0644;
  Segment s;
  ASSERT_EQ(Segment::Create(o, &s, nullptr), L::kOk);
  umask(old);
  struct stat st;
  ASSERT_EQ(fstat(s.fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

// Mode() reads the permission bits of the object the descriptor names: the creator's exact mode,
// for an opener too, a change made since, and still after the name is unlinked (the rebuild of a
// persisted store records what an attached handle's segment has).
TEST(Segment, ModeReadsTheObjectsPermissions) {
  ShmName n("getmode");
  const mode_t old = umask(077);
  CreateOptions o = Opts(n.name, 1);
  o.mode = 0640;
  Segment a;
  ASSERT_EQ(Segment::Create(o, &a, nullptr), L::kOk);
  umask(old);
  uint32_t mode = 0;
  ASSERT_EQ(a.Mode(&mode, nullptr), L::kOk);
  EXPECT_EQ(mode, 0640u);
  Segment b;
  ASSERT_EQ(Segment::Open(SegmentKind::kShm, n.name.c_str(), &b, nullptr), L::kOk);
  ASSERT_EQ(b.Mode(&mode, nullptr), L::kOk);
  EXPECT_EQ(mode, 0640u);
  ASSERT_EQ(fchmod(a.fd(), 0604), 0);
  ASSERT_EQ(b.Mode(&mode, nullptr), L::kOk);
  EXPECT_EQ(mode, 0604u);
  ASSERT_EQ(Segment::Unlink(SegmentKind::kShm, n.name.c_str(), nullptr), L::kOk);
  ASSERT_EQ(b.Mode(&mode, nullptr), L::kOk);
  EXPECT_EQ(mode, 0604u);
  b.Close();
  SysError err;
  EXPECT_EQ(b.Mode(&mode, &err), L::kErrClosed);
  EXPECT_EQ(a.Mode(nullptr, &err), L::kErrInvalidArg);
}

TEST(Segment, SizeLimits) {
  ShmName n("limits");
  Segment s;
  SysError err;
  EXPECT_EQ(Segment::Create(Opts(n.name, 0), &s, &err), L::kErrInvalidArg);
  EXPECT_EQ(Segment::Create(Opts(n.name, shm::kMaxSegmentSize + 1), &s, &err), L::kErrShmTooLarge);
  // Fits the limit but not the address space: mmap ENOMEM; the object is removed again.
  CreateOptions o = Opts(n.name, shm::kMaxSegmentSize - 4096);
  o.reserve = false;
  EXPECT_EQ(Segment::Create(o, &s, &err), L::kErrShmTooLarge);
  EXPECT_STREQ(err.syscall, "mmap");
  struct stat st;
  EXPECT_NE(stat(n.path().c_str(), &st), 0);
  // 64 GiB sparse maps fine.
  o.size = uint64_t{64} << 30;
  ASSERT_EQ(Segment::Create(o, &s, &err), L::kOk);
  s.data()[o.size - 1] = 1;
  EXPECT_EQ(s.data()[o.size - 1], 1);
}

TEST(Segment, ZeroSizeAndNotRegular) {
  ShmName n("zero");
  Segment s;
  SysError err;
  FILE* f = fopen(n.path().c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  EXPECT_EQ(Segment::Open(SegmentKind::kShm, n.name.c_str(), &s, &err), L::kErrBadSize);
  EXPECT_NE(strstr(err.detail, "too small to map"), nullptr);
  EXPECT_EQ(Segment::Open(SegmentKind::kFile, "/dev/null", &s, &err), L::kErrInvalidArg);
  EXPECT_STREQ(err.detail, "not a regular file");
  EXPECT_EQ(Segment::Open(SegmentKind::kFile, "/", &s, &err), L::kErrInvalidArg);
  EXPECT_EQ(err.err, EISDIR);
}

TEST(Segment, InvalidArguments) {
  Segment s;
  SysError err;
  EXPECT_EQ(Segment::Create(Opts("a/b", 1), &s, &err), L::kErrInvalidArg);
  EXPECT_EQ(Segment::Create(Opts("..", 1), &s, &err), L::kErrInvalidArg);
  CreateOptions o = Opts("x", 1);
  o.id = nullptr;
  EXPECT_EQ(Segment::Create(o, &s, &err), L::kErrInvalidArg);
  o = Opts("x", 1);
  o.mode = 01000;
  EXPECT_EQ(Segment::Create(o, &s, &err), L::kErrInvalidArg);
  o.kind = static_cast<SegmentKind>(7);
  o.mode = 0600;
  EXPECT_EQ(Segment::Create(o, &s, &err), L::kErrInvalidArg);
  EXPECT_EQ(Segment::Create(Opts("x", 1), nullptr, &err), L::kErrInvalidArg);
  EXPECT_EQ(Segment::Open(SegmentKind::kFile, "", &s, &err), L::kErrInvalidArg);
  EXPECT_EQ(Segment::Unlink(SegmentKind::kShm, "", &err), L::kErrInvalidArg);
}

TEST(Segment, FileSegmentAndNoSpace) {
  char dir[] = "/tmp/shmstore-cpp-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/seg";
  CreateOptions o;
  o.kind = SegmentKind::kFile;
  o.id = file.c_str();
  o.size = 1 << 20;
  o.reserve = false;
  {
    Segment s;
    ASSERT_EQ(Segment::Create(o, &s, nullptr), L::kOk);
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 1 << 20);
    EXPECT_EQ(st.st_blocks, 0);  // sparse
  }
  EXPECT_EQ(Segment::Unlink(SegmentKind::kFile, file.c_str(), nullptr), L::kOk);
  rmdir(dir);

  // Larger than the whole of /dev/shm with reserve: ENOSPC before anything is allocated.
  ShmName n("nospace");
  CreateOptions big = Opts(n.name, uint64_t{1} << 46);
  Segment s;
  SysError err;
  const L::Status st = Segment::Create(big, &s, &err);
  if (st == L::kErrShmNoSpace) {
    EXPECT_STREQ(err.syscall, "posix_fallocate");
    struct stat sb;
    EXPECT_NE(stat(n.path().c_str(), &sb), 0) << "removed after a failed create";
  } else {
    GTEST_SKIP() << "/dev/shm is larger than 64 TiB or unlimited (status " << st << ")";
  }
}

TEST(Segment, MoveReleaseAndClose) {
  ShmName n("move");
  Segment a;
  ASSERT_EQ(Segment::Create(Opts(n.name, 4096), &a, nullptr), L::kOk);
  Segment b(std::move(a));
  EXPECT_FALSE(a.mapped());
  EXPECT_TRUE(b.mapped());
  Segment c;
  c = std::move(b);
  EXPECT_TRUE(c.mapped());
  uint64_t size = c.size();
  uint8_t* p = c.ReleaseMapping();
  EXPECT_FALSE(c.mapped());
  c.Close();  // closes the fd; the released mapping stays usable
  p[0] = 1;
  EXPECT_EQ(shm::Unmap(p, size), L::kOk);
  c.Close();  // idempotent
}

// An opener maps a segment at the size it finds: a reserved create sets the final size in one
// step, so that nobody ever finds a size between 0 and it. posix_fallocate alone raises the
// size in steps on ext4 for a large range (every 8 to 120 MiB past 2 GiB), and glibc's fallback
// (file systems without fallocate) block by block. A thread polls the file's size meanwhile and
// records every size above 0 it sees. 2 GiB where the file system has room for it and is not
// tmpfs (whose pages are memory; tmpfs sets the size at once anyway), else 64 MiB.
TEST(Segment, ReservedCreateSetsTheSizeInOneStep) {
  char dir[] = "/tmp/shmstore-cpp-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/whole";
  uint64_t size = uint64_t{64} << 20;
  struct statfs fs;
  if (statfs(dir, &fs) == 0 && fs.f_type != TMPFS_MAGIC &&
      uint64_t{fs.f_bavail} * uint64_t{fs.f_bsize} > 4 * (uint64_t{2} << 30)) {
    size = uint64_t{2} << 30;
  }
  std::atomic<bool> done{false};
  std::set<int64_t> seen;
  std::thread poller([&] {
    struct stat st;
    for (bool last = false; !last;) {
      last = done.load();  // one more look after the create returned
      if (stat(file.c_str(), &st) == 0 && st.st_size > 0) seen.insert(st.st_size);
    }
  });
  CreateOptions o;
  o.kind = SegmentKind::kFile;
  o.id = file.c_str();
  o.size = size;
  Segment s;
  SysError err;
  const L::Status status = Segment::Create(o, &s, &err);
  done.store(true);
  poller.join();
  EXPECT_EQ(status, L::kOk) << err.syscall << " " << err.err;
  EXPECT_EQ(s.size(), size);
  EXPECT_EQ(seen, std::set<int64_t>{static_cast<int64_t>(size)});
  s.Close();
  Segment::Unlink(SegmentKind::kFile, file.c_str(), nullptr);
  rmdir(dir);
}

// The signals the test below sends, counted by their no-op handler.
std::atomic<uint64_t> g_handled{0};
void CountSignal(int) {
  g_handled.fetch_add(1, std::memory_order_relaxed);
}

// On tmpfs an allocation interrupted by a signal gives back every page it allocated (EINTR), so
// a large reserved create that merely retried would start from nothing at each signal and never
// finish while signals came faster than it allocates (SIGCHLD of many children exiting). The
// create blocks the blockable signals while it allocates: another thread signals the creating
// thread every 100 µs, through a handler installed without SA_RESTART, and the create of 256 MiB
// on /dev/shm completes while the signals still come (the sender gives up after kMaxSignals, at
// least 20 s of signals, far longer than the allocation takes: a create that finishes only then
// failed). After it the thread's signal mask is what it was, and the signals held back were
// delivered.
TEST(Segment, ReservedCreateCompletesUnderFrequentSignals) {
  constexpr uint64_t kSize = uint64_t{256} << 20;
  constexpr uint64_t kMaxSignals = 200000;
  struct statvfs vfs;
  if (statvfs("/dev/shm", &vfs) != 0 ||
      uint64_t{vfs.f_bavail} * uint64_t{vfs.f_frsize} < 2 * kSize) {
    GTEST_SKIP() << "/dev/shm has not 512 MiB free";
  }
  ShmName n("signals");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = CountSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: an interrupted call fails with EINTR
  struct sigaction old;
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  sigset_t before;
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &before), 0);
  const pthread_t creator = pthread_self();
  std::atomic<bool> done{false};
  std::atomic<uint64_t> sent{0};
  std::thread sender([&] {
    while (!done.load() && sent.load() < kMaxSignals) {
      pthread_kill(creator, SIGUSR2);
      sent.fetch_add(1);
      usleep(100);
    }
  });
  // The first signals are handled before the create starts.
  while (g_handled.load() == 0) usleep(100);
  CreateOptions o = Opts(n.name, kSize);
  o.reserve = true;
  Segment s;
  SysError err;
  const L::Status status = Segment::Create(o, &s, &err);
  const uint64_t sentDuringCreate = sent.load();
  const uint64_t handledAfterCreate = g_handled.load();
  done.store(true);
  sender.join();
  sigset_t after;
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &after), 0);
  sigaction(SIGUSR2, &old, nullptr);
  EXPECT_EQ(status, L::kOk) << err.syscall << " " << err.err;
  EXPECT_EQ(s.size(), kSize);
  EXPECT_LT(sentDuringCreate, kMaxSignals) << "the create finished only once the signals stopped";
  for (int sig = 1; sig < NSIG; ++sig) {
    EXPECT_EQ(sigismember(&after, sig), sigismember(&before, sig)) << "signal " << sig;
  }
  EXPECT_GT(handledAfterCreate, 0u);
}

TEST(Segment, FileSizeReadsTheObjectNow) {
  ShmName n("filesize");
  Segment a;
  ASSERT_EQ(Segment::Create(Opts(n.name, 4096), &a, nullptr), L::kOk);
  uint64_t now = 0;
  ASSERT_EQ(a.FileSize(&now, nullptr), L::kOk);
  EXPECT_EQ(now, 4096u);
  // Grown by another creator: this mapping keeps its size, the object is larger.
  CreateOptions grow = Opts(n.name, 8192);
  grow.exclusive = false;
  Segment b;
  ASSERT_EQ(Segment::Create(grow, &b, nullptr), L::kOk);
  ASSERT_EQ(a.FileSize(&now, nullptr), L::kOk);
  EXPECT_EQ(now, 8192u);
  EXPECT_EQ(a.size(), 4096u);
  EXPECT_EQ(a.FileSize(nullptr, nullptr), L::kErrInvalidArg);
  a.Close();
  EXPECT_EQ(a.FileSize(&now, nullptr), L::kErrClosed);
}

TEST(Segment, SharedAcrossFork) {
  ShmName n("fork");
  Segment s;
  ASSERT_EQ(Segment::Create(Opts(n.name, 4096), &s, nullptr), L::kOk);
  auto* counter = reinterpret_cast<std::atomic<uint32_t>*>(s.data());
  constexpr int kAdds = 200000;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Segment child;
    if (Segment::Open(SegmentKind::kShm, n.name.c_str(), &child, nullptr) != L::kOk) _exit(2);
    auto* c = reinterpret_cast<std::atomic<uint32_t>*>(child.data());
    for (int i = 0; i < kAdds; ++i) c->fetch_add(1);
    _exit(0);
  }
  for (int i = 0; i < kAdds; ++i) counter->fetch_add(1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(counter->load(), 2u * kAdds);
}

}  // namespace
