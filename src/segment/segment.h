// Shared memory segments: a POSIX shared memory object (shm_open) or a regular file, mapped
// MAP_SHARED read-write. No Node headers, no exceptions: every operation returns a Status and
// fills a SysError with the errno and the system call on failure.
//
// Invariants:
// - A segment is never shrunk: creating over an existing object only grows it, and growth is
//   done under an exclusive flock so that two concurrent creators cannot shrink each other's
//   result (ftruncate to a smaller size would make the other side's pages SIGBUS).
// - Growing sets the new size in one step (ftruncate), never through sizes between: an opener
//   finds the old size (0 for a new object) or the new one. With reserve (the default) the whole
//   requested range is allocated at creation, before the size is set where the file system has
//   fallocate's keep-size mode (a failed allocation leaves the size as it was) and after it
//   elsewhere (posix_fallocate; a failed allocation leaves the new size in place, sparse: see
//   GrowLocked), so a full /dev/shm or disk is reported as kErrShmNoSpace there instead of a
//   SIGBUS on first touch. Without it the object is
//   sparse and a later write to a hole can SIGBUS when the file system is full: the caller
//   accepted that risk.
// - Bytes that exist already (an open or grow of an existing object) are never written: they are
//   allocated only by the fallocate system call, and left as they are where the file system has
//   none. posix_fallocate's fallback, which writes a zero byte per block, runs only over the range
//   a grow adds (a write of another process between its read and its write would be lost).
// - A failed create removes the object when (and only when) this call created it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/sys_error.h"
#include "layout/layout_gen.h"

namespace shm {

// The limits are declared in scripts/layout-spec.js (shared with lib/segment.js).
// The largest size accepted for a segment: 2^47 bytes is the whole user address space of
// x86-64 with 4-level paging, so nothing larger can be mapped. Sizes below it can still fail
// with kErrShmTooLarge when mmap finds no room (ENOMEM).
inline constexpr uint64_t kMaxSegmentSize = layout::kMaxSegmentBytes;

// Names of POSIX shared memory objects, without the leading '/' (added internally):
// 1..kMaxShmNameLength characters of [A-Za-z0-9._-], and not "." or "..".
inline constexpr size_t kMaxShmNameLength = layout::kMaxSegmentNameBytes;

// Longest path accepted for file segments (PATH_MAX includes the terminating NUL).
inline constexpr size_t kMaxPathLength = layout::kMaxSegmentPathBytes;

enum class SegmentKind : uint8_t {
  kShm = 0,   // id is a shared memory object name, e.g. "my-app.store"
  kFile = 1,  // id is a file system path
};

struct CreateOptions {
  SegmentKind kind = SegmentKind::kShm;
  const char* id = nullptr;  // NUL-terminated name or path
  uint64_t size = 0;         // 1..kMaxSegmentSize
  uint32_t mode = 0600;      // permission bits (0..0777) applied exactly, umask ignored
  bool exclusive = true;     // fail with kErrShmExists when the object exists
  bool reserve = true;       // allocate the range now (see GrowLocked) instead of sparse
};

// True when `name` is a valid shared memory object name (see kMaxShmNameLength).
bool ValidShmName(const char* name) noexcept;

// One mapping of a segment plus the descriptor it was mapped from. Move-only; the destructor
// closes the descriptor and unmaps the mapping it still owns.
class Segment {
 public:
  Segment() noexcept = default;
  ~Segment();
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Creates (or, with exclusive = false, opens and grows) a segment and maps it. The mapped
  // size is max(existing size, options.size). On failure *out is left empty.
  static Status Create(const CreateOptions& options, Segment* out, SysError* err) noexcept;

  // Opens an existing segment and maps it at its current size. A size of 0 is kErrBadSize
  // (nothing to map); something that is not a regular file is kErrInvalidArg.
  static Status Open(SegmentKind kind, const char* id, Segment* out, SysError* err) noexcept;

  // Removes the name (shm_unlink) or the file (unlink). Existing mappings stay valid.
  static Status Unlink(SegmentKind kind, const char* id, SysError* err) noexcept;

  uint8_t* data() const noexcept { return data_; }
  uint64_t size() const noexcept { return size_; }
  int fd() const noexcept { return fd_; }
  bool mapped() const noexcept { return data_ != nullptr; }

  // The permission bits (0..0777) of the object behind the descriptor (fstat), as they are now:
  // its creator's mode, unless someone changed them since. The descriptor names the object this
  // segment mapped even after its name was unlinked or given to another object. kErrClosed once
  // the descriptor is closed.
  Status Mode(uint32_t* out, SysError* err) const noexcept;

  // The size in bytes of the object behind the descriptor (fstat), as it is now: larger than
  // size() when it grew since it was mapped. kErrClosed once the descriptor is closed.
  Status FileSize(uint64_t* out, SysError* err) const noexcept;

  // Closes the descriptor; the mapping (if still owned) stays until Close or destruction.
  void CloseFd() noexcept;

  // Hands ownership of the mapping to the caller, who must release it with Unmap(data, size).
  // The segment keeps its descriptor. Returns the mapping address (nullptr if none).
  uint8_t* ReleaseMapping() noexcept;

  // Unmaps the mapping if still owned and closes the descriptor. Idempotent.
  void Close() noexcept;

 private:
  int fd_ = -1;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Unmaps a mapping released with Segment::ReleaseMapping. Safe to call from any thread.
Status Unmap(void* data, uint64_t size) noexcept;

// Replaces the mapping [data, data + size) in place with private, zero-filled anonymous memory
// (MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE): the shared pages are released at once
// (an unlinked segment's memory is freed), while stale pointers into the range stay valid and
// see zeros instead of faulting. The range must still be released later with Unmap.
Status DetachMapping(void* data, uint64_t size) noexcept;

}  // namespace shm
