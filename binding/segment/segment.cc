// Native segment handles: segmentCreate / segmentOpen return a SegmentHandle that owns the
// descriptor and, until the first buffer() call, the mapping.
//
// Ownership of the mapping (the invariant that makes close() safe with other threads):
// - Before buffer() is first called, the handle owns the mapping; close() or the handle's
//   finalizer unmaps it (no SharedArrayBuffer exists, so nothing else can reach it).
// - buffer() creates the one SharedArrayBuffer for the mapping and hands the mapping to its V8
//   backing store; from then on only the backing-store deleter unmaps it, when the last
//   reference in any thread (this one, workers it was posted to) is gone.
// - close() closes the descriptor and drops the handle's reference. If this thread's buffer
//   object is the only reference left anywhere, it also detaches the range (shm::DetachMapping):
//   V8 does not count shared backing stores as memory pressure, so without this a loop of
//   create/close/unlink would keep every segment's pages alive until some unrelated GC. Stale
//   views in this thread then see zeros, never a fault; other threads are never detached. A
//   close(false) (the buffer is still used by other handles of this thread) never detaches, and
//   neither does a close while a native thread pins the memory (SharedMemoryPin, the msg jobs
//   of binding/msg): the pin is one more reference to the backing store.
// - A detach first rejects this thread's futex.waitAsync calls pending in the range
//   (RejectFutexWaitsIn, futex.cc): through the zeros nothing here could wake them any more.
#include <string>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/segment/external_sab.h"
#include "binding/segment/futex.h"
#include "segment/segment.h"

namespace {

using shm::layout::Status;

void UnmapDeleter(void* data, size_t length, void*) {
  shm::Unmap(data, length);
}

// The type tag of a SegmentHandle object (napi_type_tag_object): its methods and accessors
// called on another object (Function.prototype.call, a borrowed getter) refuse it instead of
// reading an object another part of the addon wrapped as a SegmentHandle.
constexpr napi_type_tag kSegmentHandleTag = {0x73686d7365676d65ull, 0x6e7448616e646c65ull};

class SegmentHandle : public Napi::ObjectWrap<SegmentHandle> {
 public:
  using Member = Napi::Value (SegmentHandle::*)(const Napi::CallbackInfo&);

  // The methods are set on the prototype after the class is made: the class's own methods carry
  // a V8 signature, whose check of `this` throws a TypeError without a code before the call.
  static Napi::Function Define(Napi::Env env) {
    Napi::Function cls = DefineClass(
        env, "SegmentHandle",
        {Napi::ClassPropertyDescriptor<SegmentHandle>(Property<&SegmentHandle::Size>("size", true)),
         Napi::ClassPropertyDescriptor<SegmentHandle>(
             Property<&SegmentHandle::Closed>("closed", true)),
         Napi::ClassPropertyDescriptor<SegmentHandle>(Property<&SegmentHandle::Mode>("mode", true)),
         Napi::ClassPropertyDescriptor<SegmentHandle>(
             Property<&SegmentHandle::FileSize>("fileSize", true))});
    // Raw calls: a failure (only in a worker terminated while it loads the addon, which ends
    // anyway) leaves the class without its methods, never a fatal error of node-addon-api.
    napi_value proto = nullptr;
    if (env.IsExceptionPending() || cls.IsEmpty() ||
        napi_get_named_property(env, cls, "prototype", &proto) != napi_ok) {
      return cls;
    }
    const napi_property_descriptor methods[] = {Property<&SegmentHandle::Buffer>("buffer", false),
                                                Property<&SegmentHandle::Close>("close", false)};
    napi_define_properties(env, proto, 2, methods);
    return cls;
  }

  // A handle constructed from JS (new SegmentHandle()) is empty and closed. It is tagged
  // first: an untagged object is never taken for a handle.
  explicit SegmentHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SegmentHandle>(info) {
    napi_type_tag_object(info.Env(), info.This(), &kSegmentHandleTag);
  }
  ~SegmentHandle() override { seg_.Close(); }

  void Adopt(shm::Segment&& seg) {
    size_ = seg.size();
    seg_ = std::move(seg);
    closed_ = false;
  }

 private:
  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      ThrowStatus(env, shm::layout::kErrClosed, "segment is closed");
      return env.Undefined();
    }
    if (!sab_.IsEmpty()) {
      Napi::Value v = sab_.Value();
      if (!v.IsEmpty() && !v.IsUndefined()) return v;
      // The one SharedArrayBuffer was collected (only possible when JS dropped it): V8 allows
      // one backing store per address, and the mapping went with it.
      ThrowStatus(env, shm::layout::kErrClosed, "segment buffer was released");
      return env.Undefined();
    }
    uint8_t* data = seg_.data();
    napi_value result = nullptr;
    napi_status st = CreateExternalSharedArrayBuffer(env, data, static_cast<size_t>(size_),
                                                     UnmapDeleter, nullptr, &result);
    if (st != napi_ok) {
      ThrowStatus(env, shm::layout::kErrShmIo,
                  "cannot create a SharedArrayBuffer over the segment");
      return env.Undefined();
    }
    mapped_ = seg_.ReleaseMapping();  // now owned by the backing store (see the header comment)
    Napi::Value sab(env, result);
    // Weak: the JS Segment caches the buffer strongly; this only answers repeated calls.
    sab_ = Napi::Weak(sab.As<Napi::Object>());
    return sab;
  }

  // close(release = true): idempotent; closes the descriptor; unmaps only a mapping no buffer
  // was made for. release: false keeps the pages of a buffer that other handles of this thread
  // still use (lib/segment/segment.js, holdBuffer); only `false` itself means so.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed_) return info.Env().Undefined();
    const bool release =
        !(info.Length() > 0 && info[0].IsBoolean() && !info[0].As<Napi::Boolean>().Value());
    closed_ = true;
    seg_.Close();
    if (!sab_.IsEmpty()) {
      Napi::Value sab = sab_.Value();
      if (release && !sab.IsEmpty() && sab.IsObject() &&
          IsSoleSharedArrayBufferReference(info.Env(), sab)) {
        RejectFutexWaitsIn(info.Env(), mapped_, static_cast<size_t>(size_));
        shm::DetachMapping(mapped_, size_);
      }
      sab_.Reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(size_));
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), closed_);
  }
  // The permission bits of the object this handle mapped (fstat of its descriptor, which close()
  // closes: ERR_CLOSED after it).
  Napi::Value Mode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      ThrowStatus(env, shm::layout::kErrClosed, "segment is closed");
      return env.Undefined();
    }
    uint32_t mode = 0;
    shm::SysError err;
    const Status s = seg_.Mode(&mode, &err);
    if (s != shm::layout::kOk) {
      ThrowStatus(env, s, "cannot read the segment's mode", &err);
      return env.Undefined();
    }
    return Napi::Number::New(env, mode);
  }

  // The size of the object this handle mapped, as it is now (fstat of its descriptor): larger
  // than `size` when it grew since. ERR_CLOSED after close().
  Napi::Value FileSize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      ThrowStatus(env, shm::layout::kErrClosed, "segment is closed");
      return env.Undefined();
    }
    uint64_t size = 0;
    shm::SysError err;
    const Status s = seg_.FileSize(&size, &err);
    if (s != shm::layout::kOk) {
      ThrowStatus(env, s, "cannot read the segment's size", &err);
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(size));
  }

  // The handle a method or accessor was called on, or nullptr with a TypeError (code
  // ERR_INVALID_ARG, as every bad argument of the addon) when `this` is not a SegmentHandle.
  static SegmentHandle* Self(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    napi_value self = info.This();
    napi_valuetype type = napi_undefined;
    bool tagged = false;
    void* handle = nullptr;
    if (napi_typeof(env, self, &type) != napi_ok || type != napi_object ||
        napi_check_object_type_tag(env, self, &kSegmentHandleTag, &tagged) != napi_ok || !tagged ||
        napi_unwrap(env, self, &handle) != napi_ok || handle == nullptr) {
      ThrowTypeError(info.Env(), "The \"this\" value must be a SegmentHandle");
      return nullptr;
    }
    return static_cast<SegmentHandle*>(handle);
  }

  // The Node-API callback of `method`, reached only through Self(): node-addon-api's own
  // wrappers unwrap any wrapped object and throw an Error without a code for anything else.
  template <Member method>
  static napi_value Call(napi_env env, napi_callback_info cb) {
    Napi::CallbackInfo info(env, cb);
    SegmentHandle* self = Self(info);
    if (self == nullptr) return nullptr;
    return (self->*method)(info);
  }

  // A method (the prototype's function) or a read-only accessor, with the attributes
  // node-addon-api gives both by default (napi_default).
  template <Member method>
  static napi_property_descriptor Property(const char* name, bool accessor) {
    napi_property_descriptor d{};
    d.utf8name = name;
    if (accessor) {
      d.getter = Call<method>;
    } else {
      d.method = Call<method>;
    }
    d.attributes = napi_default;
    return d;
  }

  shm::Segment seg_;
  uint8_t* mapped_ = nullptr;  // the mapping once owned by the backing store
  uint64_t size_ = 0;
  bool closed_ = true;
  Napi::ObjectReference sab_;
};

bool GetTarget(const Napi::CallbackInfo& info, shm::SegmentKind* kind, std::string* id) {
  int64_t k = 0;
  if (!GetIntegerArg(info, 0, "kind", 0, 1, &k)) return false;
  *kind = static_cast<shm::SegmentKind>(k);
  return GetStringArg(info, 1, *kind == shm::SegmentKind::kShm ? "name" : "path", id);
}

std::string Describe(shm::SegmentKind kind, const std::string& id) {
  return kind == shm::SegmentKind::kShm ? "shared memory segment '" + id + "'"
                                        : "file segment '" + id + "'";
}

Napi::Value Wrap(Napi::Env env, shm::Segment&& seg) {
  Napi::Object obj = GetAddonData(env)->segment_class.New({});
  if (env.IsExceptionPending()) return env.Undefined();
  SegmentHandle::Unwrap(obj)->Adopt(std::move(seg));
  return obj;
}

// segmentCreate(kind, id, size, mode, exclusive, reserve) -> SegmentHandle
Napi::Value SegmentCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  shm::CreateOptions o;
  std::string id;
  int64_t size = 0, mode = 0;
  if (!GetTarget(info, &o.kind, &id) ||
      !GetIntegerArg(info, 2, "size", 1, kMaxSafeInteger, &size) ||
      !GetIntegerArg(info, 3, "mode", 0, 0777, &mode) ||
      !GetBoolArg(info, 4, "exclusive", &o.exclusive) ||
      !GetBoolArg(info, 5, "reserve", &o.reserve)) {
    return env.Undefined();
  }
  o.id = id.c_str();
  o.size = static_cast<uint64_t>(size);
  o.mode = static_cast<uint32_t>(mode);
  shm::Segment seg;
  shm::SysError err;
  const Status s = shm::Segment::Create(o, &seg, &err);
  if (s != shm::layout::kOk) {
    ThrowStatus(env, s, "cannot create " + Describe(o.kind, id), &err);
    return env.Undefined();
  }
  return Wrap(env, std::move(seg));
}

// segmentOpen(kind, id) -> SegmentHandle
Napi::Value SegmentOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  shm::SegmentKind kind;
  std::string id;
  if (!GetTarget(info, &kind, &id)) return env.Undefined();
  shm::Segment seg;
  shm::SysError err;
  const Status s = shm::Segment::Open(kind, id.c_str(), &seg, &err);
  if (s != shm::layout::kOk) {
    ThrowStatus(env, s, "cannot open " + Describe(kind, id), &err);
    return env.Undefined();
  }
  return Wrap(env, std::move(seg));
}

// segmentUnlink(kind, id) -> undefined
Napi::Value SegmentUnlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  shm::SegmentKind kind;
  std::string id;
  if (!GetTarget(info, &kind, &id)) return env.Undefined();
  shm::SysError err;
  const Status s = shm::Segment::Unlink(kind, id.c_str(), &err);
  if (s != shm::layout::kOk) ThrowStatus(env, s, "cannot unlink " + Describe(kind, id), &err);
  return env.Undefined();
}

}  // namespace

void InitSegment(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = SegmentHandle::Define(env);
  GetAddonData(env)->segment_class = Napi::Persistent(cls);
  exports.Set("SegmentHandle", cls);
  exports.Set("segmentCreate", Napi::Function::New(env, SegmentCreate, "segmentCreate"));
  exports.Set("segmentOpen", Napi::Function::New(env, SegmentOpen, "segmentOpen"));
  exports.Set("segmentUnlink", Napi::Function::New(env, SegmentUnlink, "segmentUnlink"));
  exports.Set("maxSegmentSize", Napi::Number::New(env, static_cast<double>(shm::kMaxSegmentSize)));
}
