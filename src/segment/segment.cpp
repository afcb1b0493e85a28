#include "segment/segment.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shm {
namespace {

// "/" + name + NUL, the form shm_open wants.
struct ShmPath {
  char buf[kMaxShmNameLength + 2];
};

bool ValidId(SegmentKind kind, const char* id) noexcept {
  if (id == nullptr) return false;
  if (kind == SegmentKind::kShm) return ValidShmName(id);
  if (kind != SegmentKind::kFile) return false;
  const size_t n = strnlen(id, kMaxPathLength + 1);
  return n >= 1 && n <= kMaxPathLength;
}

// Precondition: ValidId(kind, id).
void MakeShmPath(const char* name, ShmPath* out) noexcept {
  out->buf[0] = '/';
  const size_t n = strnlen(name, kMaxShmNameLength);
  memcpy(out->buf + 1, name, n);
  out->buf[n + 1] = '\0';
}

// open(2) or shm_open(3) of a valid id. Returns the descriptor or -1 with errno set.
// O_CLOEXEC always: a child process must not inherit (and keep alive) the descriptor.
// O_NOCTTY: a path naming a terminal must not become our controlling terminal (it is then
// refused as "not a regular file").
int OpenId(SegmentKind kind, const char* id, int flags, mode_t mode) noexcept {
  flags |= O_CLOEXEC | O_NOCTTY;
  int fd;
  do {
    if (kind == SegmentKind::kShm) {
      ShmPath p;
      MakeShmPath(id, &p);
      fd = shm_open(p.buf, flags, mode);
    } else {
      fd = open(id, flags, mode);
    }
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int UnlinkId(SegmentKind kind, const char* id) noexcept {
  if (kind == SegmentKind::kShm) {
    ShmPath p;
    MakeShmPath(id, &p);
    return shm_unlink(p.buf);
  }
  return unlink(id);
}

const char* OpenSyscall(SegmentKind kind) noexcept {
  return kind == SegmentKind::kShm ? "shm_open" : "open";
}

int FlockRetry(int fd, int op) noexcept {
  int rc;
  do {
    rc = flock(fd, op);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

// Opens for Create: tries O_CREAT|O_EXCL first so that *created tells whether this call made
// the object (only then is the exact mode applied and the object removed on failure). Without
// `exclusive`, an existing object is opened instead; if it disappears between the two calls
// the loop tries again.
Status OpenForCreate(const CreateOptions& o, int* fd_out, bool* created, SysError* err) noexcept {
  for (int attempt = 0; attempt < 64; ++attempt) {
    int fd = OpenId(o.kind, o.id, O_RDWR | O_CREAT | O_EXCL, static_cast<mode_t>(o.mode));
    if (fd >= 0) {
      *fd_out = fd;
      *created = true;
      return layout::kOk;
    }
    if (errno != EEXIST || o.exclusive) return Fail(errno, OpenSyscall(o.kind), err);
    fd = OpenId(o.kind, o.id, O_RDWR, 0);
    if (fd >= 0) {
      *fd_out = fd;
      *created = false;
      return layout::kOk;
    }
    if (errno != ENOENT) return Fail(errno, OpenSyscall(o.kind), err);
  }
  return Fail(EAGAIN, OpenSyscall(o.kind), err);
}

// Releases the blocks a failed grow allocated past the object's end: a truncate to the size it
// has frees what lies past it (a hole punched there is not, on ext4) and changes no byte a
// mapping reaches, so the failed grow leaves the object as it was. Best effort: the blocks are
// freed with the object anyway.
void ReleasePastEnd(int fd, uint64_t end) noexcept {
  const int saved = errno;
  int rc;
  do {
    rc = ftruncate(fd, static_cast<off_t>(end));
  } while (rc < 0 && errno == EINTR);
  errno = saved;
}

// Blocks every blockable signal in the calling thread for its lifetime (Block()), then puts the
// thread's mask back. A large allocation on tmpfs that a signal interrupts gives back every page
// it allocated and fails with EINTR, so under signals that come faster than it allocates (SIGCHLD
// of many children exiting, a profiler's timer) retrying would start from nothing each time and
// never finish; blocked, a signal stays pending and is delivered once the mask is restored, after
// the allocation. SIGKILL and SIGSTOP cannot be blocked: a fatal signal still ends the call.
class SignalsBlocked {
 public:
  SignalsBlocked() noexcept = default;
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;
  ~SignalsBlocked() {
    if (blocked_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  // Best effort: should the mask not change, the callers' EINTR retries still apply.
  void Block() noexcept {
    if (blocked_) return;
    sigset_t all;
    sigfillset(&all);
    blocked_ = pthread_sigmask(SIG_BLOCK, &all, &old_) == 0;
  }

 private:
  sigset_t old_{};
  bool blocked_ = false;
};

// True for the errors with which fallocate(2) says the file system (or the mode) has no
// allocation without writing: NFS before 4.2, some FUSE file systems.
bool FallocateUnsupported(int e) noexcept {
  return e == EOPNOTSUPP || e == ENOSYS;
}

// fallocate(2) with EINTR retried. glibc's fallocate is the system call alone: it allocates
// blocks without writing a byte, or fails (EOPNOTSUPP where the file system cannot), unlike
// posix_fallocate (see GrowLocked). Returns 0 or -1 with errno set.
int FallocateRetry(int fd, int mode, uint64_t offset, uint64_t len) noexcept {
  int rc;
  do {
    rc = fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(len));
  } while (rc < 0 && errno == EINTR);
  return rc;
}

// Grows the object behind fd to at least `size` (never shrinks) and, with reserve, allocates
// its blocks. Holds an exclusive flock so that concurrent shmstore creators serialise; the size
// is read again under the lock. *mapped_size receives max(current size, size).
//
// The size changes in one step, from `current` to `size`, never through sizes between: an opener
// by name or path maps the object at the size it finds and checks a header against it, so a size
// between would make it refuse the creator's structure as too small. ftruncate sets the size at
// once; posix_fallocate does not where the file system has no single-step allocation: ext4 raises
// the size in steps for a large range, and glibc's fallback (NFS, some FUSE file systems) writes
// one byte per block. So with reserve the blocks are allocated with the size kept where the file
// system can, and the size set after in one step; elsewhere the size is set first and the blocks
// allocated after.
//
// glibc's fallback is not an allocation but a read and a write per block: it reads one byte and,
// where it read a zero, writes a zero back. Over bytes that other processes have mapped and write
// (an existing store opened or grown by a second process), a byte they write between that read
// and that write is overwritten with zero. So the fallback runs only over [current, size), the
// range this call adds, which no other process has written yet (it lies past the end every
// earlier opener mapped; creators serialise on the flock, and whoever maps the new size meanwhile
// waits for the structure the creator writes after this call). [0, current) is allocated only by
// the fallocate system call, which writes no data: with the size kept over [0, size) when the
// object grows, with mode 0 (which leaves the size as it is, the range ending at or before the
// end) over the existing bytes otherwise. Where the file system has no fallocate at all, the
// existing bytes stay as they are (allocated when their creator reserved them, sparse otherwise)
// and only the added range is allocated.
//
// With reserve:
//   grow, keep-size fallocate works    fallocate(KEEP_SIZE, [0, size)), then ftruncate(size)
//   grow, keep-size mode unsupported   fallocate(0, [0, current)) where it works,
//                                      ftruncate(size), then posix_fallocate([current, size))
//   already `size` long or more        fallocate(0, [0, size)) where it works, nothing else
Status GrowLocked(int fd, uint64_t size, bool reserve, uint64_t* mapped_size,
                  SysError* err) noexcept {
  if (FlockRetry(fd, LOCK_EX) < 0) return Fail(errno, "flock", err);
  Status status = layout::kOk;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    status = Fail(errno, "fstat", err);
  } else if (!S_ISREG(st.st_mode)) {
    status = FailStatus(layout::kErrInvalidArg, "not a regular file", err);
  } else {
    const uint64_t current = static_cast<uint64_t>(st.st_size);
    // A request larger than the free space of the file system is refused before anything is
    // allocated (or the size changed): on tmpfs posix_fallocate would otherwise take memory page
    // by page until ENOSPC, and where /dev/shm is larger than RAM that ends with the OOM killer,
    // not ENOSPC.
    struct statvfs vfs;
    const bool tooBig = reserve && size > current && fstatvfs(fd, &vfs) == 0 && vfs.f_blocks != 0 &&
                        size - current > uint64_t{vfs.f_bavail} * uint64_t{vfs.f_frsize};
    bool allocated = false;  // by keep-size fallocate, before the size is set
    bool emulate = false;    // keep-size fallocate unsupported: posix_fallocate after the size
    // The allocations below run with the signals blocked (SignalsBlocked), restored when this
    // block ends.
    SignalsBlocked quiet;
    if (reserve && !tooBig) quiet.Block();
    if (tooBig) {
      status = Fail(ENOSPC, "posix_fallocate", err);
    } else if (reserve && current < size) {
      // Where the file system can (tmpfs, ext4, xfs, btrfs), the blocks are allocated first with
      // the size kept, and the size is set after: an opener finds the old size (and waits) until
      // every page is there, so it never reads a page that is not allocated yet (on tmpfs a read
      // of a hole takes a page, and fails with SIGBUS when there is none left); and a failed
      // allocation leaves the size as it was. EINTR (a signal that could not be blocked, or a
      // mask that could not be set) is retried; on tmpfs the retry starts over, since an
      // interrupted allocation gives back the pages it allocated.
      if (FallocateRetry(fd, FALLOC_FL_KEEP_SIZE, 0, size) == 0) {
        allocated = true;
      } else if (!FallocateUnsupported(errno)) {
        status = Fail(errno, "fallocate", err);
        ReleasePastEnd(fd, current);  // what a file system kept of a partial allocation
      } else if (current > 0 && FallocateRetry(fd, 0, 0, current) < 0 &&
                 !FallocateUnsupported(errno)) {
        // The existing bytes as for an object already long enough (below); mode 0 over
        // [0, current) leaves the size as it is.
        status = Fail(errno, "fallocate", err);
      } else {
        emulate = true;
      }
    } else if (reserve) {
      // Already `size` long or more (an open of an existing object with reserve): its bytes may be
      // mapped and written by other processes, so only the system call, which writes nothing,
      // may allocate them; mode 0 over [0, size) leaves the size as it is. Where the file system
      // has none, nothing is allocated: the object is as its creator left it.
      if (FallocateRetry(fd, 0, 0, size) < 0 && !FallocateUnsupported(errno)) {
        status = Fail(errno, "fallocate", err);
      }
    }
    if (status == layout::kOk && current < size) {
      int rc;
      do {
        rc = ftruncate(fd, static_cast<off_t>(size));
      } while (rc < 0 && errno == EINTR);
      if (rc < 0) {
        status = Fail(errno, "ftruncate", err);
        if (allocated) ReleasePastEnd(fd, current);
      }
    }
    if (status == layout::kOk && emulate) {
      // Without fallocate's keep-size mode, and only for the range this call added (current <
      // size): posix_fallocate tries fallocate itself and falls back to writing a byte per
      // block, which is safe there and only there (see above). It returns the error number
      // instead of setting errno; the size is `size` already, so it only allocates. With the
      // signals blocked nothing but a signal that cannot be blocked interrupts it; EINTR is
      // retried all the same, and the retry starts over on a file system that gives back what an
      // interrupted call allocated (tmpfs) or continues where one keeps it (ext4, xfs).
      //
      // When it fails, the object keeps the size set above, sparse past what was allocated, and
      // is not truncated back: an opener may have mapped it at that size meanwhile, and pages cut
      // off under its mapping would SIGBUS on its next read (of the header it waits on). Create
      // removes an object it created, so only a grow of an existing one (exclusive = false) leaves
      // a larger, sparse object after a failure; growing never shrinks, and none of the callers
      // reads the size of what a failed create leaves.
      int rc;
      do {
        rc = posix_fallocate(fd, static_cast<off_t>(current), static_cast<off_t>(size - current));
      } while (rc == EINTR);
      if (rc != 0) status = Fail(rc, "posix_fallocate", err);
    }
    *mapped_size = current > size ? current : size;
  }
  FlockRetry(fd, LOCK_UN);
  return status;
}

Status MapFd(int fd, uint64_t size, uint8_t** out, SysError* err) noexcept {
  if (size == 0) return FailStatus(layout::kErrBadSize, "too small to map (0 bytes)", err);
  if (size > kMaxSegmentSize) {
    return FailStatus(layout::kErrShmTooLarge, "larger than the platform can map", err);
  }
  void* p = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Fail(errno, "mmap", err);
  *out = static_cast<uint8_t*>(p);
  return layout::kOk;
}

}  // namespace

bool ValidShmName(const char* name) noexcept {
  if (name == nullptr) return false;
  size_t n = 0;
  for (; name[n] != '\0'; ++n) {
    if (n >= kMaxShmNameLength) return false;
    const char c = name[n];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  if (n == 0) return false;
  // "/." and "/.." would name /dev/shm itself or its parent.
  return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

Segment::~Segment() {
  Close();
}

Segment::Segment(Segment&& other) noexcept
    : fd_(other.fd_), data_(other.data_), size_(other.size_) {
  other.fd_ = -1;
  other.data_ = nullptr;
  other.size_ = 0;
}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    data_ = other.data_;
    size_ = other.size_;
    other.fd_ = -1;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void Segment::CloseFd() noexcept {
  // close(2) must not be retried on EINTR on Linux: the descriptor is released either way.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

uint8_t* Segment::ReleaseMapping() noexcept {
  uint8_t* p = data_;
  data_ = nullptr;
  return p;
}

void Segment::Close() noexcept {
  if (data_ != nullptr) Unmap(data_, size_);
  data_ = nullptr;
  CloseFd();
}

Status Segment::Create(const CreateOptions& o, Segment* out, SysError* err) noexcept {
  if (out == nullptr || !ValidId(o.kind, o.id)) {
    return FailStatus(layout::kErrInvalidArg, "invalid name or path", err);
  }
  out->Close();
  if (o.size == 0) return FailStatus(layout::kErrInvalidArg, "size must be at least 1", err);
  if (o.size > kMaxSegmentSize) {
    return FailStatus(layout::kErrShmTooLarge, "larger than the platform can map", err);
  }
  if (o.mode > 0777) return FailStatus(layout::kErrInvalidArg, "mode must be 0..0o777", err);

  int fd = -1;
  bool created = false;
  Status status = OpenForCreate(o, &fd, &created, err);
  if (status != layout::kOk) return status;

  // The open mode was filtered by the umask; apply the exact mode the caller asked for.
  if (created && fchmod(fd, static_cast<mode_t>(o.mode)) < 0) status = Fail(errno, "fchmod", err);

  uint64_t mapped_size = 0;
  if (status == layout::kOk) status = GrowLocked(fd, o.size, o.reserve, &mapped_size, err);
  uint8_t* data = nullptr;
  if (status == layout::kOk) status = MapFd(fd, mapped_size, &data, err);
  if (status != layout::kOk) {
    if (created) UnlinkId(o.kind, o.id);
    ::close(fd);
    return status;
  }
  out->fd_ = fd;
  out->data_ = data;
  out->size_ = mapped_size;
  return layout::kOk;
}

Status Segment::Open(SegmentKind kind, const char* id, Segment* out, SysError* err) noexcept {
  if (out == nullptr || !ValidId(kind, id)) {
    return FailStatus(layout::kErrInvalidArg, "invalid name or path", err);
  }
  out->Close();
  const int fd = OpenId(kind, id, O_RDWR, 0);
  if (fd < 0) return Fail(errno, OpenSyscall(kind), err);
  struct stat st;
  Status status = layout::kOk;
  uint8_t* data = nullptr;
  if (fstat(fd, &st) < 0) {
    status = Fail(errno, "fstat", err);
  } else if (!S_ISREG(st.st_mode)) {
    status = FailStatus(layout::kErrInvalidArg, "not a regular file", err);
  } else {
    status = MapFd(fd, static_cast<uint64_t>(st.st_size), &data, err);
  }
  if (status != layout::kOk) {
    ::close(fd);
    return status;
  }
  out->fd_ = fd;
  out->data_ = data;
  out->size_ = static_cast<uint64_t>(st.st_size);
  return layout::kOk;
}

Status Segment::Mode(uint32_t* out, SysError* err) const noexcept {
  if (out == nullptr) return FailStatus(layout::kErrInvalidArg, "no output", err);
  if (fd_ < 0) return FailStatus(layout::kErrClosed, "segment is closed", err);
  struct stat st;
  if (fstat(fd_, &st) < 0) return Fail(errno, "fstat", err);
  *out = static_cast<uint32_t>(st.st_mode & 0777);
  return layout::kOk;
}

Status Segment::FileSize(uint64_t* out, SysError* err) const noexcept {
  if (out == nullptr) return FailStatus(layout::kErrInvalidArg, "no output", err);
  if (fd_ < 0) return FailStatus(layout::kErrClosed, "segment is closed", err);
  struct stat st;
  if (fstat(fd_, &st) < 0) return Fail(errno, "fstat", err);
  *out = static_cast<uint64_t>(st.st_size);
  return layout::kOk;
}

Status Segment::Unlink(SegmentKind kind, const char* id, SysError* err) noexcept {
  if (!ValidId(kind, id)) return FailStatus(layout::kErrInvalidArg, "invalid name or path", err);
  if (UnlinkId(kind, id) < 0)
    return Fail(errno, kind == SegmentKind::kShm ? "shm_unlink" : "unlink", err);
  return layout::kOk;
}

Status Unmap(void* data, uint64_t size) noexcept {
  if (data == nullptr || size == 0) return layout::kOk;
  if (munmap(data, static_cast<size_t>(size)) < 0) return Fail(errno, "munmap", nullptr);
  return layout::kOk;
}

Status DetachMapping(void* data, uint64_t size) noexcept {
  if (data == nullptr || size == 0) return layout::kOk;
  void* p = mmap(data, static_cast<size_t>(size), PROT_READ | PROT_WRITE,
                 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return Fail(errno, "mmap", nullptr);
  return layout::kOk;
}

}  // namespace shm
