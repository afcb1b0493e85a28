// Owner slots of pure-JS-engine handles watched by the addon (docs/format.md §6, "Dead owners").
//
// worker.terminate() can stop a pure-JS-engine handle in the middle of an operation, with a lock
// held and its owner slot claimed. The slot names the host process, which lives on, so nothing in
// the record would tell other processes that the holder is gone. When the addon is loaded, a JS
// handle therefore registers its slot here: watchOwnerSlot adds a cleanup hook to the calling
// environment (the worker's), and when that environment is torn down (the worker ended or was
// terminated, or the process exits) the hook marks the slot dead, unless the slot was released
// and claimed again meanwhile. A handle claims its slot and starts watching it in one call
// (claimWatchedOwnerSlot); close() releases the slot and unregisters it in one call as well
// (releaseOwnerSlot).
//
// Native handles need none of this: a native call always completes, and their finalizers run at
// environment teardown, which releases their slots.
//
// A record's actor word (format.md §6, "Acting on a verdict") needs the same care: a JS party
// holds it while it frees or adopts a slot, or reclaims a pool's blocks, on a verdict about the
// record's owner. The word names the process, which lives on: a worker terminated while it held
// it left the slot to nobody for as long as the process lived. So a JS thread takes the word here
// (takeOwnerActor), which also adds a cleanup hook to its environment, and gives it back here
// (dropOwnerActor), which removes the hook: each is one native call, which worker.terminate()
// cannot cut short, so the hook exists exactly while the thread holds the word, and at the
// teardown of a thread that still holds it the hook gives it back. The stores that act on a
// verdict about a record (clearing its identity, then the CAS of its pid) are one native call as
// well (claimWatchedOwnerSlot for an adoption, freeOwnerSlot), so that a thread stopped while it
// holds the word has changed the record entirely or not at all; and so are the stores of a
// release (releaseOwnerSlot), for the same reason.
//
// The identities a JS handle records and the verdicts it makes about other processes' records
// are read here too when the addon is loaded (processIdentity, which lib/base/process.js calls):
// a permission model of the host (Node's --permission) can deny the JS code /proc, never this
// code, and a JS record without the start time and boot id that a native record of the same
// process holds was judged by its pid alone (format.md §6, "Identity unknown").
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "binding/base/args.h"
#include "binding/base/module.h"
#include "binding/segment/external_sab.h"
#include "ownership/owners.h"

namespace {

namespace L = shm::layout;

struct Watch {
  napi_env env = nullptr;
  napi_ref sab = nullptr;  // keeps the memory of the owner table alive until the hook has run
  L::Owner* owners = nullptr;
  uint32_t slot = 0;
  shm::OwnerIdentity id;
  uint32_t token = 0;
};

// Every watch of the process, by token (watches of all environments: tokens are handed to JS,
// which must not be able to name freed memory).
std::mutex& WatchMutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<uint32_t, Watch*>& Watches() {
  static std::unordered_map<uint32_t, Watch*> w;
  return w;
}
uint32_t nextToken = 1;

// Removes the watch from the registry and frees it (on the thread of its environment).
void Drop(Watch* w) {
  {
    std::lock_guard<std::mutex> g(WatchMutex());
    Watches().erase(w->token);
  }
  if (w->sab != nullptr) napi_delete_reference(w->env, w->sab);
  delete w;
}

// The environment of the handle is being torn down: its thread will never release the slot.
void OnTeardown(void* arg) {
  auto* w = static_cast<Watch*>(arg);
  shm::MarkOwnerSlotDead(w->owners, w->slot, w->id);
  Drop(w);
}

// The arguments (sab, tableOffset, slot) that name an owner record, shared by every function
// here: sets the table and the slot, or returns false with a JS exception.
bool RecordArgs(const Napi::CallbackInfo& info, L::Owner** owners, uint32_t* slotOut) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t length = 0;
  if (info.Length() < 1 || !GetSharedArrayBufferData(env, info[0], &data, &length)) {
    ThrowTypeError(env, "The \"buffer\" argument must be a SharedArrayBuffer");
    return false;
  }
  int64_t offset, slot;
  if (!GetIntegerArg(info, 1, "tableOffset", 0, kMaxSafeInteger, &offset) ||
      !GetIntegerArg(info, 2, "slot", 1, shm::kOwnerSlots - 1, &slot)) {
    return false;
  }
  const uint64_t end =
      static_cast<uint64_t>(offset) + (static_cast<uint64_t>(slot) + 1) * sizeof(L::Owner);
  if (offset % alignof(L::Owner) != 0 || end > length) {
    ThrowRangeError(env, "The owner record is not inside the buffer");
    return false;
  }
  *owners = reinterpret_cast<L::Owner*>(static_cast<uint8_t*>(data) + offset);
  *slotOut = static_cast<uint32_t>(slot);
  return true;
}

// The record and identity arguments shared by watchOwnerSlot and claimWatchedOwnerSlot: (sab,
// tableOffset, slot) name the record, `idAt` is the index of pid (then tid, startTime). Returns
// a Watch of it, its cleanup hook registered but no token yet, or nullptr with a JS exception.
Watch* NewWatch(const Napi::CallbackInfo& info, size_t idAt) {
  Napi::Env env = info.Env();
  L::Owner* owners = nullptr;
  uint32_t slot = 0;
  if (!RecordArgs(info, &owners, &slot)) return nullptr;
  int64_t pid, tid, start;
  if (!GetIntegerArg(info, idAt, "pid", 1, UINT32_MAX, &pid) ||
      !GetIntegerArg(info, idAt + 1, "tid", 0, UINT32_MAX, &tid) ||
      !GetIntegerArg(info, idAt + 2, "startTime", 0, kMaxSafeInteger, &start)) {
    return nullptr;
  }
  auto* w = new Watch();
  w->env = env;
  w->owners = owners;
  w->slot = slot;
  w->id.pid = static_cast<uint32_t>(pid);
  w->id.tid = static_cast<uint32_t>(tid);
  w->id.startTime = static_cast<uint64_t>(start);
  if (napi_create_reference(env, info[0], 1, &w->sab) != napi_ok ||
      napi_add_env_cleanup_hook(env, OnTeardown, w) != napi_ok) {
    if (w->sab != nullptr) napi_delete_reference(env, w->sab);
    delete w;
    ThrowStatus(env, L::kErrInvalidArg, "watchOwnerSlot: cannot register the cleanup hook");
    return nullptr;
  }
  return w;
}

// Gives watch `w` a token, under which unwatchOwnerSlot finds it.
Napi::Value Register(Napi::Env env, Watch* w) {
  {
    std::lock_guard<std::mutex> g(WatchMutex());
    w->token = nextToken++;
    if (nextToken == 0) nextToken = 1;
    Watches()[w->token] = w;
  }
  return Napi::Number::New(env, w->token);
}

// watchOwnerSlot(sab, tableOffset, slot, pid, tid, startTime) -> token
Napi::Value WatchOwnerSlot(const Napi::CallbackInfo& info) {
  Watch* w = NewWatch(info, 3);
  if (w == nullptr) return info.Env().Undefined();
  return Register(info.Env(), w);
}

// claimWatchedOwnerSlot(sab, tableOffset, slot, expectedPid, pid, tid, startTime, bootId) -> token,
// or 0 when the slot's pid word did not read expectedPid (nothing claimed, nothing watched).
// Claims the record (shm::ClaimOwnerSlotAt: a CAS of the pid word from expectedPid, then the
// identity; bootId a BigInt) and watches it in one native call, which worker.terminate() cannot
// cut short: a record of a pure-JS handle is watched from the moment it is claimed (format.md
// §6, "Dead owners"). A claim then watch made of two calls left a window in which a terminated
// thread kept a claimed record that nobody watched, live for as long as its process. An
// expectedPid other than 0 is an adoption (shm::AdoptOwnerSlotAt): the caller holds the record's
// actor word and judged the owner of that pid gone, and the gone owner's identity is cleared
// first, in the same call.
Napi::Value ClaimWatchedOwnerSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t expected;
  if (!GetIntegerArg(info, 3, "expectedPid", 0, UINT32_MAX, &expected)) return env.Undefined();
  if (info.Length() < 8 || !info[7].IsBigInt()) {
    ThrowTypeError(env, "The \"bootId\" argument must be of type bigint");
    return env.Undefined();
  }
  bool lossless = false;
  const uint64_t bootId = info[7].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    ThrowRangeError(env, "The \"bootId\" argument must be an unsigned 64-bit integer");
    return env.Undefined();
  }
  // The watch exists before the record names this thread: its cleanup hook marks the record dead
  // only while the record names the thread, so a watch of a record not (yet) claimed is harmless.
  Watch* w = NewWatch(info, 4);
  if (w == nullptr) return env.Undefined();
  shm::OwnerIdentity id = w->id;
  id.bootId = bootId;
  const bool claimed = expected == 0 ? shm::ClaimOwnerSlotAt(w->owners, w->slot, 0, id)
                                     : shm::AdoptOwnerSlotAt(w->owners, w->slot,
                                                             static_cast<uint32_t>(expected), id);
  if (!claimed) {
    napi_remove_env_cleanup_hook(env, OnTeardown, w);
    napi_delete_reference(env, w->sab);
    delete w;
    return Napi::Number::New(env, 0);
  }
  return Register(env, w);
}

// The watch of environment `env` registered under `token`, or nullptr.
Watch* FindWatch(napi_env env, int64_t token) {
  std::lock_guard<std::mutex> g(WatchMutex());
  auto it = Watches().find(static_cast<uint32_t>(token));
  return it != Watches().end() && it->second->env == env ? it->second : nullptr;
}

// Ends watch `w` of environment `env`: its cleanup hook removed, then the watch dropped.
void EndWatch(napi_env env, Watch* w) {
  napi_remove_env_cleanup_hook(env, OnTeardown, w);
  Drop(w);
}

// unwatchOwnerSlot(token) -> boolean: false for a token that is not a watch of this environment.
Napi::Value UnwatchOwnerSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t token;
  if (!GetIntegerArg(info, 0, "token", 0, UINT32_MAX, &token)) return env.Undefined();
  Watch* w = FindWatch(env, token);
  if (w == nullptr) return Napi::Boolean::New(env, false);
  EndWatch(env, w);
  return Napi::Boolean::New(env, true);
}

// releaseOwnerSlot(sab, tableOffset, slot, token) -> boolean: releases the record, which the
// calling thread holds (shm::ReleaseOwnerSlot: every field but pid cleared, then pid 0), and ends
// its watch `token` (0: none) in the same native call. Returns whether a watch was ended: false
// for 0 or a token that is not a watch of this record in this environment (the release is made
// all the same). As two JS steps, clearing the identity then storing pid 0, a thread stopped by
// worker.terminate() between them left its pid with no identity: a record its watch no longer
// matches (tid and start time cleared), so never marked dead, which this process counts as its
// own and other processes judge by the pid, taken for as long as the process lives. Ending the
// watch in the same call also leaves no moment in which the record is free and still watched: a
// watch that outlived its release would mark dead a later owner that reads as this thread
// (format.md §6, "Dead owners").
Napi::Value ReleaseOwnerSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  L::Owner* owners = nullptr;
  uint32_t slot = 0;
  int64_t token;
  if (!RecordArgs(info, &owners, &slot) ||
      !GetIntegerArg(info, 3, "token", 0, UINT32_MAX, &token)) {
    return env.Undefined();
  }
  Watch* w = token != 0 ? FindWatch(env, token) : nullptr;
  if (w != nullptr && &w->owners[w->slot] != &owners[slot]) w = nullptr;  // another record's
  shm::ReleaseOwnerSlot(owners, slot);
  if (w == nullptr) return Napi::Boolean::New(env, false);
  EndWatch(env, w);
  return Napi::Boolean::New(env, true);
}

// A record's actor word held by a JS thread, given back at the teardown of its environment if
// the thread has not given it back by then.
struct ActorHold {
  napi_env env = nullptr;
  napi_ref sab = nullptr;  // keeps the memory of the record alive until the hook has run
  L::Owner* record = nullptr;
  uint32_t pid = 0;
};

// Every hold of the process (the environments of all threads).
std::mutex& HoldMutex() {
  static std::mutex m;
  return m;
}
std::vector<ActorHold*>& Holds() {
  static std::vector<ActorHold*> h;
  return h;
}

// Removes the hold from the list and frees it (on the thread of its environment).
void DropHold(ActorHold* h) {
  {
    std::lock_guard<std::mutex> g(HoldMutex());
    auto& all = Holds();
    all.erase(std::find(all.begin(), all.end(), h));
  }
  napi_delete_reference(h->env, h->sab);
  delete h;
}

// The environment of a thread that holds the actor word is being torn down: the thread acts no
// more, and what it did is whole (module comment), so the word goes back to 0. No other party
// can have taken it meanwhile (a holder of this live process is never taken over), and the CAS
// from the pid guards that.
void OnActorTeardown(void* arg) {
  auto* h = static_cast<ActorHold*>(arg);
  shm::ReleaseOwnerActorOf(h->record, h->pid);
  DropHold(h);
}

// takeOwnerActor(sab, tableOffset, slot, pid) -> boolean: takes the record's actor word for
// process `pid` (shm::TakeOwnerActor), and if it did, holds it for this environment until
// dropOwnerActor, or until the environment's teardown.
Napi::Value TakeOwnerActor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  L::Owner* owners = nullptr;
  uint32_t slot = 0;
  int64_t pid;
  if (!RecordArgs(info, &owners, &slot) || !GetIntegerArg(info, 3, "pid", 1, UINT32_MAX, &pid)) {
    return env.Undefined();
  }
  auto* h = new ActorHold();
  h->env = env;
  h->record = &owners[slot];
  h->pid = static_cast<uint32_t>(pid);
  // The hook is registered before the word is taken, and removed if it is not: a hold is never
  // without its hook.
  if (napi_create_reference(env, info[0], 1, &h->sab) != napi_ok ||
      napi_add_env_cleanup_hook(env, OnActorTeardown, h) != napi_ok) {
    if (h->sab != nullptr) napi_delete_reference(env, h->sab);
    delete h;
    ThrowStatus(env, L::kErrInvalidArg, "takeOwnerActor: cannot register the cleanup hook");
    return env.Undefined();
  }
  shm::OwnerIdentity self;
  self.pid = h->pid;
  if (!shm::TakeOwnerActor(h->record, self)) {
    napi_remove_env_cleanup_hook(env, OnActorTeardown, h);
    napi_delete_reference(env, h->sab);
    delete h;
    return Napi::Boolean::New(env, false);
  }
  {
    std::lock_guard<std::mutex> g(HoldMutex());
    Holds().push_back(h);
  }
  return Napi::Boolean::New(env, true);
}

// dropOwnerActor(sab, tableOffset, slot) -> boolean: gives back the record's actor word, which
// this environment holds (takeOwnerActor), and ends the hold; false, nothing done, when it holds
// none of that record.
Napi::Value DropOwnerActor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  L::Owner* owners = nullptr;
  uint32_t slot = 0;
  if (!RecordArgs(info, &owners, &slot)) return env.Undefined();
  ActorHold* h = nullptr;
  {
    std::lock_guard<std::mutex> g(HoldMutex());
    for (ActorHold* e : Holds()) {
      if (e->env == static_cast<napi_env>(env) && e->record == &owners[slot]) {
        h = e;
        break;
      }
    }
  }
  if (h == nullptr) return Napi::Boolean::New(env, false);
  shm::DropOwnerActor(h->record);
  napi_remove_env_cleanup_hook(env, OnActorTeardown, h);
  DropHold(h);
  return Napi::Boolean::New(env, true);
}

// freeOwnerSlot(sab, tableOffset, slot, judgedPid) -> boolean: frees the record of a gone owner
// (shm::FreeOwnerSlotAt: its identity cleared, then CAS(pid, judgedPid, 0)), for a caller that
// holds the record's actor word and judged the owner of judgedPid gone. Returns whether the CAS
// succeeded.
Napi::Value FreeOwnerSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  L::Owner* owners = nullptr;
  uint32_t slot = 0;
  int64_t judged;
  if (!RecordArgs(info, &owners, &slot) ||
      !GetIntegerArg(info, 3, "judgedPid", 1, UINT32_MAX, &judged)) {
    return env.Undefined();
  }
  return Napi::Boolean::New(env, shm::FreeOwnerSlotAt(owners, slot, static_cast<uint32_t>(judged)));
}

// processIdentity(pid) -> { gone, startTime, bootId }: what this process reads of process `pid`
// (shm::ReadProcessIdentity): whether it is gone, its start time and the boot id, as BigInts, 0n
// when unknown. The same reads as the identities and verdicts of native handles.
Napi::Value ProcessIdentity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t pid;
  if (!GetIntegerArg(info, 0, "pid", 1, UINT32_MAX, &pid)) return env.Undefined();
  const shm::ProcessIdentity p = shm::ReadProcessIdentity(static_cast<uint32_t>(pid));
  Napi::Object r = Napi::Object::New(env);
  r.Set("gone", Napi::Boolean::New(env, p.gone));
  r.Set("startTime", Napi::BigInt::New(env, p.startTime));
  r.Set("bootId", Napi::BigInt::New(env, p.bootId));
  return r;
}

}  // namespace

void InitOwnership(Napi::Env env, Napi::Object exports) {
  exports.Set("watchOwnerSlot", Napi::Function::New(env, WatchOwnerSlot, "watchOwnerSlot"));
  exports.Set("unwatchOwnerSlot", Napi::Function::New(env, UnwatchOwnerSlot, "unwatchOwnerSlot"));
  exports.Set("claimWatchedOwnerSlot",
              Napi::Function::New(env, ClaimWatchedOwnerSlot, "claimWatchedOwnerSlot"));
  exports.Set("takeOwnerActor", Napi::Function::New(env, TakeOwnerActor, "takeOwnerActor"));
  exports.Set("dropOwnerActor", Napi::Function::New(env, DropOwnerActor, "dropOwnerActor"));
  exports.Set("releaseOwnerSlot", Napi::Function::New(env, ReleaseOwnerSlot, "releaseOwnerSlot"));
  exports.Set("freeOwnerSlot", Napi::Function::New(env, FreeOwnerSlot, "freeOwnerSlot"));
  exports.Set("processIdentity", Napi::Function::New(env, ProcessIdentity, "processIdentity"));
}
