// The ownership room on its own (docs/format.md §1, §6, §9): lock words, process identities read
// from /proc, owner slots (claim, adopt, release, free, dead marking), the gone rule for each of
// its causes, and waiting for a held lock word. No store: an owner table and lock words in memory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/atomic.h"
#include "base/process.h"
#include "layout/layout_gen.h"
#include "ownership/heartbeat.h"
#include "ownership/lockword.h"
#include "ownership/owners.h"
#include "ownership/waiter.h"

namespace shm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The id of a process that existed and is gone (forked, exited, reaped).
uint32_t DeadPid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return static_cast<uint32_t>(pid);
}

// A live process other than this one, that sleeps until the object goes away.
class Sleeper {
 public:
  Sleeper() {
    pid_ = fork();
    if (pid_ == 0) {
      for (;;) pause();
    }
  }
  ~Sleeper() { Kill(); }
  // Ends the child and reaps it (once).
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -pid_;
  }
  uint32_t pid() const { return static_cast<uint32_t>(pid_ < 0 ? -pid_ : pid_); }

 private:
  pid_t pid_;
};

// An owner table, all zero, as in a new store.
struct Table {
  std::vector<layout::Owner> records = std::vector<layout::Owner>(kOwnerSlots);
  layout::Owner* owners() { return records.data(); }
  layout::Owner* at(uint32_t o) { return &records[o]; }
  bool Zero(uint32_t o) const {
    static const layout::Owner zero{};
    return std::memcmp(&records[o], &zero, sizeof zero) == 0;
  }
};

OwnerIdentity Me(uint32_t tid = 1) {
  return IdentityOf(static_cast<uint32_t>(getpid()), tid);
}

// ---- lock words ---------------------------------------------------------------------------------

TEST(LockWord, Encoding) {
  EXPECT_EQ(LockAcquiredWord(0, 5), (5u << 20) | 1u);
  EXPECT_EQ(LockReleasedWord((5u << 20) | 1u), 2u);
  EXPECT_EQ(LockAcquiredWord(0xFFFFE, 7), (7u << 20) | 0xFFFFFu);
  EXPECT_EQ(LockReleasedWord((7u << 20) | 0xFFFFFu), 0u);  // the version wraps, owner cleared
  EXPECT_EQ(LockTakeoverWord((9u << 20) | 33u, 4), (4u << 20) | 33u);
  EXPECT_EQ(LockHeartbeatWord((4095u << 20) | 33u), (4095u << 20) | 35u);
  EXPECT_TRUE(LockIsHeld(LockAcquiredWord(10, 1)));
  EXPECT_FALSE(LockIsHeld(LockReleasedWord(LockAcquiredWord(10, 1))));
  EXPECT_EQ(LockOwnerOf(LockAcquiredWord(10, 4095)), 4095u);
}

TEST(LockWord, UnlockReleasesOnlyItsOwnHold) {
  uint32_t word = 0;
  uint32_t held = 0;
  ASSERT_TRUE(TryLockFrom(&word, word, 3, &held));
  EXPECT_FALSE(TryLockFrom(&word, 0, 4, &held)) << "a held word is not taken";
  // Another owner presumed slot 3 gone and took the lock over.
  const uint32_t taken = LockTakeoverWord(held, 4);
  word = taken;
  Unlock(&word, held);
  EXPECT_EQ(word, taken);
  Unlock(&word, taken);
  EXPECT_EQ(word, LockReleasedWord(taken));
}

TEST(LockWord, HeartbeatAdvancesByTwoWhileHeld) {
  uint32_t word = 0;
  uint32_t held = 0;
  ASSERT_TRUE(TryLockFrom(&word, word, 6, &held));
  LockHeartbeat beat;
  beat.Start(&word, held);
  for (uint32_t i = 0; i + 1 < LockHeartbeat::kUnitsPerBeat; ++i) beat.Work();
  EXPECT_EQ(word, held);
  beat.Work();
  EXPECT_EQ(word, LockHeartbeatWord(held));
  // Taken over: the heartbeat stops and Release() leaves the new holder's word alone.
  const uint32_t taken = LockTakeoverWord(word, 7);
  word = taken;
  beat.Beat();
  beat.Release();
  EXPECT_EQ(word, taken);
}

// ---- /proc --------------------------------------------------------------------------------------

TEST(ProcessIdentity, ParsesStarttimeAfterTheLastParenthesis) {
  // Field n holds the number n, the command name has spaces and parentheses.
  std::string stat = "123 (a) b (c)) S";
  for (int f = 4; f <= 52; ++f) stat += " " + std::to_string(f);
  stat += "\n";
  bool zombie = true;
  EXPECT_EQ(ParseStatStartTime(stat.c_str(), &zombie), 22u);
  EXPECT_FALSE(zombie);
  std::string z = stat;
  z.replace(z.find(") S ") + 2, 1, "Z");
  EXPECT_EQ(ParseStatStartTime(z.c_str(), &zombie), 22u);
  EXPECT_TRUE(zombie);
  EXPECT_EQ(ParseStatStartTime("garbage", &zombie), 0u);
  EXPECT_EQ(ParseStatStartTime("1 (x) S 1 2", &zombie), 0u);
}

TEST(ProcessIdentity, ParsesTheBootIdAsFormatMdSays) {
  EXPECT_EQ(ParseBootId("97b4b383-d5d9-4d53-a0b6-c3acb7efe7aa\n"), 0x97b4b383d5d94d53u);
  EXPECT_EQ(ParseBootId("97B4B383-D5D9-4D53-A0B6-C3ACB7EFE7AA"), 0x97b4b383d5d94d53u);
  EXPECT_EQ(ParseBootId("97b4b383-d5d9"), 0u);
  EXPECT_EQ(ParseBootId("97b4b383-x5d9-4d53-a0b6-c3acb7efe7aa"), 0u);
  // Stored little-endian, the record's bytes are the digits' bytes in reverse order.
  const uint64_t id = 0x97b4b383d5d94d53u;
  uint8_t bytes[8];
  std::memcpy(bytes, &id, 8);
  const uint8_t want[8] = {0x53, 0x4d, 0xd9, 0xd5, 0x83, 0xb3, 0xb4, 0x97};
  EXPECT_EQ(std::memcmp(bytes, want, 8), 0);
}

TEST(ProcessIdentity, ReadsThisProcessOthersAndGoneOnes) {
  const ProcessStat self = ReadProcessStat(static_cast<uint32_t>(getpid()));
  EXPECT_FALSE(self.gone);
  EXPECT_GT(self.startTime, 0u);
  EXPECT_EQ(OwnStartTime(), self.startTime);
  EXPECT_NE(BootId(), 0u);
  {
    Sleeper other;
    const ProcessStat st = ReadProcessStat(other.pid());
    EXPECT_FALSE(st.gone);
    EXPECT_GE(st.startTime, self.startTime);
  }
  EXPECT_TRUE(ReadProcessStat(DeadPid()).gone);
  EXPECT_TRUE(ProcessGone(0));
  // A zombie (exited, not reaped) still answers kill(pid, 0) but is gone.
  const pid_t z = fork();
  if (z == 0) _exit(0);
  for (int i = 0; i < 200 && !ProcessGone(static_cast<uint32_t>(z)); ++i) SleepMicros(1000);
  EXPECT_TRUE(ProcessGone(static_cast<uint32_t>(z)));
  waitpid(z, nullptr, 0);
}

// What the addon hands the pure-JS library (processIdentity) is what IdentityOf and the gone rule
// read: this process's kept start time, another's start time and liveness, the boot id.
TEST(ProcessIdentity, ReadProcessIdentityIsWhatIdentitiesAndVerdictsRead) {
  const uint32_t me = static_cast<uint32_t>(getpid());
  const ProcessIdentity self = ReadProcessIdentity(me);
  EXPECT_FALSE(self.gone);
  EXPECT_EQ(self.startTime, OwnStartTime());
  EXPECT_EQ(self.bootId, BootId());
  const OwnerIdentity id = IdentityOf(me, 7);
  EXPECT_EQ(id.startTime, self.startTime);
  EXPECT_EQ(id.bootId, self.bootId);
  {
    Sleeper other;
    const ProcessIdentity p = ReadProcessIdentity(other.pid());
    const ProcessStat st = ReadProcessStat(other.pid());
    EXPECT_FALSE(p.gone);
    EXPECT_EQ(p.startTime, st.startTime);
    EXPECT_EQ(p.bootId, BootId());
  }
  const ProcessIdentity gone = ReadProcessIdentity(DeadPid());
  EXPECT_TRUE(gone.gone);
  EXPECT_EQ(gone.startTime, 0u);
  EXPECT_TRUE(ReadProcessIdentity(0).gone);
}

TEST(ProcessIdentity, OwnStartTimeIsReadAgainInAForkedChild) {
  const uint64_t parent = OwnStartTime();  // cached in the parent
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  SleepMicros(30000);  // a later clock tick than the parent's start (ticks are 10 ms)
  const pid_t pid = fork();
  if (pid == 0) {
    const uint64_t mine = OwnStartTime();
    const bool ok = mine == ReadProcessStat(static_cast<uint32_t>(getpid())).startTime;
    const char c = ok ? (mine != parent ? 'y' : 'n') : 'x';
    (void)!write(fds[1], &c, 1);
    _exit(0);
  }
  char c = 0;
  EXPECT_EQ(read(fds[0], &c, 1), 1);
  waitpid(pid, nullptr, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(c, 'y') << "a forked child recorded its parent's start time";
}

// ---- owner slots and the gone rule --------------------------------------------------------------

TEST(OwnerSlots, ClaimWritesTheIdentityAndReleaseClearsTheRecord) {
  Table t;
  const OwnerIdentity me = Me(5);
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), me), 1u);
  OwnerIdentity b = me;
  b.tid = 77;
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), b), 2u);
  EXPECT_EQ(t.at(2)->pid, me.pid);
  EXPECT_EQ(t.at(2)->tid, 77u);
  EXPECT_EQ(t.at(2)->startTime, me.startTime);
  EXPECT_EQ(t.at(2)->bootId, me.bootId);
  EXPECT_EQ(t.at(2)->state, kOwnerLive);
  EXPECT_EQ(t.at(2)->actor, 0u);
  ReleaseOwnerSlot(t.owners(), 1);
  EXPECT_TRUE(t.Zero(1));
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), me), 1u) << "the lowest free slot is reused";
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), OwnerIdentity{}), 0u) << "pid 0 cannot claim";
}

TEST(OwnerSlots, ClaimWithASpreadTakesSlotsThatFarApartFirst) {
  Table t;
  OwnerIdentity id = Me(5);
  std::vector<uint32_t> got;
  for (uint32_t k = 0; k < kOwnerSlots; ++k) {
    id.tid = 100 + k;
    got.push_back(ClaimOwnerSlot(t.owners(), id, kOwnerSlots, 4));
  }
  std::vector<uint32_t> expected;
  for (uint32_t first = 1; first <= 4; ++first) {
    for (uint32_t o = first; o < kOwnerSlots; o += 4) expected.push_back(o);
  }
  expected.push_back(0);  // every slot taken
  EXPECT_EQ(got, expected);
  ReleaseOwnerSlot(t.owners(), 9);
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), id, kOwnerSlots, 4), 9u);
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), id, kOwnerSlots, 0), 0u) << "spread 0 claims nothing";
}

TEST(OwnerSlots, ClaimAtTakesTheSlotOnlyFromTheExpectedPid) {
  Table t;
  const OwnerIdentity me = Me(5);
  EXPECT_TRUE(ClaimOwnerSlotAt(t.owners(), 3, 0, me));
  EXPECT_EQ(t.at(3)->tid, 5u);
  EXPECT_EQ(t.at(3)->bootId, me.bootId);
  OwnerIdentity b = me;
  b.tid = 6;
  EXPECT_FALSE(ClaimOwnerSlotAt(t.owners(), 3, 0, b)) << "a claimed slot is not free";
  EXPECT_EQ(t.at(3)->tid, 5u) << "a failed claim writes nothing";
  EXPECT_TRUE(ClaimOwnerSlotAt(t.owners(), 3, me.pid, b)) << "an adopter's CAS from the judged pid";
  EXPECT_EQ(t.at(3)->tid, 6u);
  EXPECT_FALSE(ClaimOwnerSlotAt(t.owners(), 0, 0, me)) << "slot 0 is never claimed";
  EXPECT_FALSE(ClaimOwnerSlotAt(t.owners(), 4, 0, OwnerIdentity{})) << "pid 0 cannot claim";
  EXPECT_TRUE(t.Zero(4));
}

class GoneRule : public ::testing::Test {
 protected:
  OwnerStatus StatusOf(const OwnerIdentity& id, const OwnerIdentity& reader) {
    const uint32_t o = ClaimOwnerSlot(t.owners(), id);
    EXPECT_NE(o, 0u);
    const OwnerStatus s = ClassifyOwner(t.at(o), reader);
    ReleaseOwnerSlot(t.owners(), o);
    return s;
  }
  OwnerStatus StatusOf(const OwnerIdentity& id) { return StatusOf(id, me); }
  Table t;
  Sleeper child;
  OwnerIdentity me = Me();
  OwnerIdentity other = IdentityOf(child.pid(), 1);
};

TEST_F(GoneRule, EachCause) {
  EXPECT_EQ(ClassifyOwner(t.at(5), me), OwnerStatus::kGone) << "a free slot";
  EXPECT_EQ(StatusOf(me), OwnerStatus::kThisProcess);
  OwnerIdentity x = me;
  x.tid = 9;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kThisProcess) << "another thread of this process";
  x.startTime = 0;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kThisProcess) << "unknown start time: the pid alone";
  x = me;
  x.startTime += 1;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kGone) << "an earlier process with this pid";
  x = me;
  x.bootId ^= 1;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kGone) << "this pid in another boot";
  EXPECT_EQ(StatusOf(other), OwnerStatus::kOtherProcess);
  x = other;
  x.startTime = 0;
  x.bootId = 0;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kGone) << "no identity at all: holds nothing (rule 6)";
  x = other;
  x.startTime += 12345;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kGone) << "the pid was reused";
  x = other;
  x.bootId += 1;
  EXPECT_EQ(StatusOf(x), OwnerStatus::kGone) << "another boot";
  OwnerIdentity unknownBoot = me;
  unknownBoot.bootId = 0;
  EXPECT_EQ(StatusOf(x, unknownBoot), OwnerStatus::kOtherProcess) << "a reader without a boot id";
  x = other;
  x.pid = DeadPid();
  EXPECT_EQ(StatusOf(x), OwnerStatus::kGone) << "the process is gone";
  // Dead, whatever else the record says.
  const uint32_t o = ClaimOwnerSlot(t.owners(), other);
  ASSERT_TRUE(MarkOwnerSlotDead(t.owners(), o, other));
  EXPECT_EQ(ClassifyOwner(t.at(o), me), OwnerStatus::kGone);
  const uint32_t mine = ClaimOwnerSlot(t.owners(), me);
  ASSERT_TRUE(MarkOwnerSlotDead(t.owners(), mine, me));
  EXPECT_EQ(ClassifyOwner(t.at(mine), me), OwnerStatus::kGone) << "a dead thread of this process";
}

// A record with a pid and no identity (a claim not finished, a freeing or adoption stopped
// between its stores, or damage) holds nothing (format.md §6, rule 6): judged by its pid it held
// any lock it named while a process had that pid. A record of the reader's own pid is judged by
// the same-process rules (a thread of this process may be its claimer). Its slot is still freed
// or adopted only by rules 1 to 5: a claimer between its claim and its identity reads so too.
TEST_F(GoneRule, ARecordWithoutIdentityIsGoneButKeepsItsSlotWhileItsPidLives) {
  auto bare = [&](uint32_t pid) {
    OwnerIdentity id;
    id.pid = pid;
    return ClaimOwnerSlot(t.owners(), id);
  };
  const uint32_t live = bare(other.pid);
  const uint32_t ours = bare(me.pid);
  const uint32_t ended = bare(DeadPid());
  EXPECT_EQ(ClassifyOwner(t.at(live), me), OwnerStatus::kGone);
  EXPECT_EQ(ClassifyOwner(t.at(ended), me), OwnerStatus::kGone);
  EXPECT_EQ(ClassifyOwner(t.at(ours), me), OwnerStatus::kThisProcess) << "the same-process rules";
  OwnerIdentity half = other;
  half.startTime = 0;
  EXPECT_EQ(StatusOf(half), OwnerStatus::kOtherProcess) << "half an identity is an identity";
  // A reader that knows no identity of its own: every complete record holds one (or the marker).
  OwnerIdentity blind = me;
  blind.startTime = kOwnerStartUnknown;
  blind.bootId = 0;
  EXPECT_EQ(ClassifyOwner(t.at(live), blind), OwnerStatus::kGone);
  EXPECT_EQ(ClassifyOwner(t.at(ours), blind), OwnerStatus::kThisProcess);
  EXPECT_FALSE(OwnerGoneAsRead(t.at(live), ReadOwner(t.at(live)), me));
  EXPECT_FALSE(FreeGoneOwnerSlot(t.owners(), live, me));
  EXPECT_FALSE(FreeGoneOwnerSlot(t.owners(), ours, me));
  EXPECT_TRUE(FreeGoneOwnerSlot(t.owners(), ended, me));
  EXPECT_EQ(t.at(live)->pid, other.pid);
  EXPECT_EQ(t.at(ours)->pid, me.pid);
  Table full;
  OwnerIdentity id;
  id.pid = other.pid;
  for (uint32_t o = 1; o < kOwnerSlots; ++o) ASSERT_NE(ClaimOwnerSlot(full.owners(), id), 0u);
  EXPECT_EQ(AdoptDeadOwnerSlot(full.owners(), me), 0u) << "no slot of a live pid is adopted";
}

// An owner that could not read its identity (no /proc, a permission model that denies it, no
// file descriptor left at its first read) writes kOwnerStartUnknown as its start time: its
// record is judged by its pid (rules 1 to 5), by every reader, and never by rule 6. Written as 0,
// it read as a record without identity, and every party that knows its own took its locks while
// it lived.
TEST_F(GoneRule, ARecordWhoseIdentityIsUnknownIsJudgedByItsPid) {
  EXPECT_EQ(IdentityOf(DeadPid(), 1).startTime, kOwnerStartUnknown)
      << "a start time that cannot be read is written as the marker";
  OwnerIdentity unknown = other;
  unknown.startTime = kOwnerStartUnknown;
  unknown.bootId = 0;
  EXPECT_EQ(StatusOf(unknown), OwnerStatus::kOtherProcess) << "a live process";
  OwnerIdentity blind = me;
  blind.startTime = kOwnerStartUnknown;
  blind.bootId = 0;
  EXPECT_EQ(StatusOf(unknown, blind), OwnerStatus::kOtherProcess) << "for a reader without one";
  unknown.bootId = other.bootId;
  EXPECT_EQ(StatusOf(unknown), OwnerStatus::kOtherProcess) << "a boot id and no start time";
  unknown.bootId = other.bootId ^ 1;
  EXPECT_EQ(StatusOf(unknown), OwnerStatus::kGone) << "another boot still";
  unknown = me;
  unknown.tid = 3;
  unknown.startTime = kOwnerStartUnknown;
  EXPECT_EQ(StatusOf(unknown), OwnerStatus::kThisProcess)
      << "a thread of this process that could not read what this one did";
  EXPECT_EQ(StatusOf(me, blind), OwnerStatus::kThisProcess)
      << "and the other way round (one process, two readers of /proc that disagree)";
  unknown.pid = DeadPid();
  unknown.tid = 1;
  EXPECT_EQ(StatusOf(unknown), OwnerStatus::kGone) << "an ended process";
  const uint32_t o = ClaimOwnerSlot(t.owners(), unknown);
  EXPECT_TRUE(FreeGoneOwnerSlot(t.owners(), o, me)) << "and its slot is freed";
}

TEST_F(GoneRule, MarkDeadOnlyWhileTheSlotNamesTheSameThread) {
  const uint32_t o = ClaimOwnerSlot(t.owners(), me);
  OwnerIdentity x = me;
  x.tid += 1;
  EXPECT_FALSE(MarkOwnerSlotDead(t.owners(), o, x));
  x = me;
  x.startTime += 1;
  EXPECT_FALSE(MarkOwnerSlotDead(t.owners(), o, x));
  EXPECT_FALSE(MarkOwnerSlotDead(t.owners(), o, other));
  EXPECT_EQ(t.at(o)->state, kOwnerLive);
  EXPECT_TRUE(MarkOwnerSlotDead(t.owners(), o, me));
  EXPECT_EQ(t.at(o)->state, kOwnerDead);
  EXPECT_FALSE(MarkOwnerSlotDead(t.owners(), o, me)) << "already dead";
  ReleaseOwnerSlot(t.owners(), o);
  EXPECT_FALSE(MarkOwnerSlotDead(t.owners(), o, me)) << "a released slot";
}

TEST_F(GoneRule, FreesTheSlotsOfGoneOwnersOnly) {
  OwnerIdentity mine = me;
  mine.tid = 3;
  const uint32_t live = ClaimOwnerSlot(t.owners(), other);
  const uint32_t ours = ClaimOwnerSlot(t.owners(), mine);
  OwnerIdentity reused = other;
  reused.startTime += 1;
  OwnerIdentity rebooted = other;
  rebooted.bootId += 1;
  OwnerIdentity dead = me;
  dead.tid = 4;
  OwnerIdentity gone = other;
  gone.pid = DeadPid();
  const uint32_t freeable[] = {ClaimOwnerSlot(t.owners(), reused),
                               ClaimOwnerSlot(t.owners(), rebooted),
                               ClaimOwnerSlot(t.owners(), dead), ClaimOwnerSlot(t.owners(), gone)};
  MarkOwnerSlotDead(t.owners(), freeable[2], dead);
  EXPECT_FALSE(FreeGoneOwnerSlot(t.owners(), live, me));
  EXPECT_FALSE(FreeGoneOwnerSlot(t.owners(), ours, me));
  for (uint32_t o : freeable) {
    EXPECT_TRUE(FreeGoneOwnerSlot(t.owners(), o, me)) << "slot " << o;
    EXPECT_TRUE(t.Zero(o)) << "slot " << o;
  }
  EXPECT_EQ(t.at(live)->pid, other.pid);
  EXPECT_EQ(t.at(ours)->pid, me.pid);
}

TEST_F(GoneRule, AVerdictIsAboutTheRecordAsReadAndCountsOnlyWhileItIsStillThere) {
  // A handle closes right after its record was read, and a new one claims the slot: a thread of
  // the same process (even the same thread: the record reads exactly as before), or another
  // process. The reading names a live owner, whatever the slot holds when it is judged; judged
  // from the slot again, the released record read as gone and its slot was freed or adopted.
  OwnerIdentity a = me;
  a.tid = 3;
  OwnerIdentity sameProcess = me;
  sameProcess.tid = 4;
  for (const OwnerIdentity& next : {a, sameProcess, other}) {
    const uint32_t o = ClaimOwnerSlot(t.owners(), a);
    const OwnerRecord seen = ReadOwner(t.at(o));
    ReleaseOwnerSlot(t.owners(), o);
    EXPECT_EQ(ClassifyOwner(t.at(o), me), OwnerStatus::kGone) << "the slot itself is released";
    EXPECT_EQ(ClassifyOwner(seen, me), OwnerStatus::kThisProcess);
    ASSERT_EQ(ClaimOwnerSlot(t.owners(), next), o);
    EXPECT_FALSE(OwnerGoneAsRead(t.at(o), seen, me));
    EXPECT_EQ(t.at(o)->pid, next.pid);
    EXPECT_EQ(t.at(o)->tid, next.tid);
    ReleaseOwnerSlot(t.owners(), o);
  }
  // A gone owner's reading, whose slot another pass frees and a new owner claims after the
  // verdict: gone, but the slot no longer holds it.
  OwnerIdentity gone = other;
  gone.pid = DeadPid();
  const uint32_t o = ClaimOwnerSlot(t.owners(), gone);
  const OwnerRecord seen = ReadOwner(t.at(o));
  EXPECT_EQ(ClassifyOwner(seen, me), OwnerStatus::kGone);
  EXPECT_TRUE(OwnerGoneAsRead(t.at(o), seen, me));
  ASSERT_TRUE(FreeGoneOwnerSlot(t.owners(), o, me));
  ASSERT_EQ(ClaimOwnerSlot(t.owners(), other), o);
  EXPECT_FALSE(OwnerGoneAsRead(t.at(o), seen, me));
  EXPECT_FALSE(OwnerGoneAsRead(t.at(o), OwnerRecord{}, me)) << "a free slot is not gone here";
  EXPECT_EQ(t.at(o)->pid, other.pid);
  EXPECT_EQ(t.at(o)->startTime, other.startTime);
}

TEST_F(GoneRule, ActingOnAVerdictTakesTheSlotsActorWord) {
  // A gone owner's slot whose actor word a live process holds (another freer or adopter acting
  // on it) is neither freed nor adopted; a hold left by a process that ended is taken over.
  OwnerIdentity gone = other;
  gone.pid = DeadPid();
  const uint32_t o = ClaimOwnerSlot(t.owners(), gone);
  Sleeper acting;
  for (uint32_t holder : {me.pid, acting.pid()}) {
    t.at(o)->actor = holder;
    EXPECT_FALSE(FreeGoneOwnerSlot(t.owners(), o, me)) << "held by " << holder;
    EXPECT_EQ(t.at(o)->pid, gone.pid);
    EXPECT_EQ(t.at(o)->actor, holder) << "a live holder keeps it";
  }
  t.at(o)->actor = DeadPid();
  EXPECT_TRUE(FreeGoneOwnerSlot(t.owners(), o, me));
  EXPECT_TRUE(t.Zero(o)) << "freed, and the actor word given back";
  // The same for adoption, in a full table.
  for (uint32_t s = 1; s < kOwnerSlots; ++s) {
    if (t.at(s)->pid == 0) {
      ASSERT_EQ(ClaimOwnerSlot(t.owners(), s == o ? gone : other), s);
    }
  }
  t.at(o)->actor = acting.pid();
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), 0u) << "the one gone slot is being acted on";
  t.at(o)->actor = 0;
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), o);
  EXPECT_EQ(t.at(o)->pid, me.pid);
  EXPECT_EQ(t.at(o)->actor, 0u);
}

TEST_F(GoneRule, TheActorWordIsTakenDroppedAndGivenBackForAThreadThatEndedHoldingIt) {
  OwnerIdentity gone = other;
  gone.pid = DeadPid();
  const uint32_t o = ClaimOwnerSlot(t.owners(), gone);
  ASSERT_TRUE(TakeOwnerActor(t.at(o), me));
  EXPECT_EQ(t.at(o)->actor, me.pid);
  EXPECT_FALSE(TakeOwnerActor(t.at(o), me)) << "held by this live process: another of its threads";
  EXPECT_FALSE(TakeOwnerActor(t.at(o), other)) << "held by a live process";
  // Given back for a thread of this process that ended holding it (what the addon does at a
  // terminated worker's teardown), and only while it names that process.
  EXPECT_FALSE(ReleaseOwnerActorOf(t.at(o), other.pid));
  EXPECT_FALSE(ReleaseOwnerActorOf(t.at(o), 0));
  EXPECT_EQ(t.at(o)->actor, me.pid);
  EXPECT_TRUE(ReleaseOwnerActorOf(t.at(o), me.pid));
  EXPECT_EQ(t.at(o)->actor, 0u);
  EXPECT_TRUE(FreeGoneOwnerSlot(t.owners(), o, me)) << "the next party acts";
  EXPECT_TRUE(t.Zero(o));
  ASSERT_TRUE(TakeOwnerActor(t.at(o), other));
  DropOwnerActor(t.at(o));
  EXPECT_TRUE(t.Zero(o));
}

TEST_F(GoneRule, AdoptingAndFreeingAtASlotClearTheIdentityThenTakeThePidWord) {
  OwnerIdentity gone = other;
  gone.pid = DeadPid();
  const uint32_t o = ClaimOwnerSlot(t.owners(), gone);
  EXPECT_FALSE(AdoptOwnerSlotAt(t.owners(), o, 0, me)) << "a free slot is claimed, not adopted";
  EXPECT_FALSE(FreeOwnerSlotAt(t.owners(), o, 0));
  EXPECT_FALSE(AdoptOwnerSlotAt(t.owners(), 0, gone.pid, me)) << "slot 0 is never adopted";
  EXPECT_EQ(t.at(o)->startTime, gone.startTime) << "refused before any store";
  ASSERT_TRUE(AdoptOwnerSlotAt(t.owners(), o, gone.pid, me));
  EXPECT_TRUE(ReadOwner(t.at(o)) == (OwnerRecord{me.pid, me.tid, me.startTime, me.bootId, 0}));
  ReleaseOwnerSlot(t.owners(), o);
  ASSERT_EQ(ClaimOwnerSlot(t.owners(), gone), o);
  ASSERT_TRUE(FreeOwnerSlotAt(t.owners(), o, gone.pid));
  EXPECT_TRUE(t.Zero(o));
}

TEST(OwnerSlots, ThreadsClaimingLeavingDeadAndFreeingNeverTouchALiveRecord) {
  // Four threads share the first 16 slots. Each in turn claims a slot with an identity of its own,
  // frees a few slots of gone owners, and leaves its slot released or marked dead. A dead slot is
  // freed by whichever thread judges it first, while others claim the slots freed: a live owner's
  // record must read as written until its owner leaves it (the actor word, format.md §6).
  constexpr uint32_t kSlots = 16;
  constexpr int kRounds = 20000;
  Table t;
  const OwnerIdentity base = Me(0);
  std::atomic<int> broken{0};
  std::atomic<int> freed{0};
  auto same = [](const OwnerRecord& r, const OwnerIdentity& id) {
    return r.pid == id.pid && r.tid == id.tid && r.startTime == id.startTime &&
           r.bootId == id.bootId && r.state == kOwnerLive;
  };
  std::vector<std::thread> threads;
  for (uint32_t n = 0; n < 4; ++n) {
    threads.emplace_back([&, n] {
      uint32_t seed = n + 1;
      auto rand = [&](uint32_t k) {
        seed = seed * 1103515245u + 12345u;
        return seed % k;
      };
      for (int i = 0; i < kRounds; ++i) {
        OwnerIdentity id = base;
        id.tid = n * 1000000 + static_cast<uint32_t>(i) + 1;
        const uint32_t o = ClaimOwnerSlot(t.owners(), id, kSlots);
        if (o != 0 && !same(ReadOwner(t.at(o)), id)) broken++;
        for (int k = 0; k < 3; ++k) {
          if (FreeGoneOwnerSlot(t.owners(), 1 + rand(kSlots - 1), base)) freed++;
        }
        if (o == 0) continue;
        if (!same(ReadOwner(t.at(o)), id)) broken++;
        if (rand(2) == 0) {
          ReleaseOwnerSlot(t.owners(), o);
        } else if (!MarkOwnerSlotDead(t.owners(), o, id)) {
          broken++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(broken.load(), 0);
  EXPECT_GT(freed.load(), 1000);
  for (uint32_t o = 1; o < kSlots; ++o) FreeGoneOwnerSlot(t.owners(), o, base);
  for (uint32_t o = 1; o < kSlots; ++o) EXPECT_TRUE(t.Zero(o)) << "slot " << o;
}

TEST_F(GoneRule, AFullTableAdoptsGoneOwnersSlotsItsOwnPidsIncluded) {
  for (uint32_t o = 1; o < kOwnerSlots; ++o) ASSERT_EQ(ClaimOwnerSlot(t.owners(), other), o);
  EXPECT_EQ(ClaimOwnerSlot(t.owners(), me), 0u);
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), 0u) << "every owner is live";
  // Slot 100 names this pid in an earlier process: gone, and adopted by this pid (otherwise it
  // would stay taken for as long as this process lives).
  ReleaseOwnerSlot(t.owners(), 100);
  OwnerIdentity earlier = me;
  earlier.startTime += 1;
  ASSERT_EQ(ClaimOwnerSlot(t.owners(), earlier), 100u);
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), 100u);
  EXPECT_EQ(t.at(100)->startTime, me.startTime);
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), 0u) << "the adopted slot is live again";
  // Slot 200 names a thread of this process that ended without releasing it (marked dead).
  ReleaseOwnerSlot(t.owners(), 200);
  OwnerIdentity ended = me;
  ended.tid += 1;
  ASSERT_EQ(ClaimOwnerSlot(t.owners(), ended), 200u);
  ASSERT_TRUE(MarkOwnerSlotDead(t.owners(), 200, ended));
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), 200u);
  EXPECT_EQ(t.at(200)->tid, me.tid);
  EXPECT_EQ(t.at(200)->state, 0u);
  // Slot 4000 names the live child's pid with another start time: a reused pid, gone.
  ReleaseOwnerSlot(t.owners(), 4000);
  OwnerIdentity reused = other;
  reused.startTime += 1;
  ASSERT_EQ(ClaimOwnerSlot(t.owners(), reused), 4000u);
  EXPECT_EQ(AdoptDeadOwnerSlot(t.owners(), me), 4000u);
  EXPECT_EQ(t.at(4000)->pid, me.pid);
  EXPECT_EQ(t.at(4000)->startTime, me.startTime);
  EXPECT_EQ(t.at(4000)->bootId, me.bootId);
  EXPECT_EQ(ClassifyOwner(t.at(4000), me), OwnerStatus::kThisProcess);
}

// ---- waiting for a held lock word ---------------------------------------------------------------

class Waiting : public ::testing::Test {
 protected:
  void SetUp() override {
    env.regionBase = t.owners();
    env.owners = t.owners();
    env.self = me;
    env.selfSlot = ClaimOwnerSlot(t.owners(), me);
    env.lockTimeoutMs = 5000;
  }
  // Makes a new slot with `id` the holder of `word`.
  uint32_t HoldAs(const OwnerIdentity& id) {
    const uint32_t o = ClaimOwnerSlot(t.owners(), id);
    uint32_t held;
    EXPECT_TRUE(TryLockFrom(&word, word, o, &held));
    return o;
  }
  // Acquires `word` (takeover as given); *ms receives how long it took.
  LockResult Acquire(bool takeover, milliseconds* ms) {
    uint32_t held = 0;
    const auto t0 = Clock::now();
    const LockResult r = AcquireLock(&word, env, takeover, &held);
    *ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    return r;
  }
  Table t;
  Sleeper child;
  OwnerIdentity me = Me();
  OwnerIdentity other = IdentityOf(child.pid(), 1);
  LockEnv env;
  uint32_t word = 0;
};

TEST_F(Waiting, AHolderThatIsGoneIsTakenOverAtOnce) {
  OwnerIdentity reused = other;
  reused.startTime += 12345;
  OwnerIdentity rebooted = other;
  rebooted.bootId ^= 1;
  OwnerIdentity earlier = me;
  earlier.tid = 5;
  earlier.startTime += 1;
  OwnerIdentity dead = me;
  dead.tid = 6;
  for (const OwnerIdentity& id : {reused, rebooted, earlier, dead}) {
    if (LockIsHeld(word)) word = LockReleasedWord(word);  // taken over in the previous round
    const uint32_t o = HoldAs(id);
    if (id.tid == 6) {
      ASSERT_TRUE(MarkOwnerSlotDead(t.owners(), o, id));
    }
    const uint32_t seen = word;
    milliseconds ms;
    EXPECT_EQ(Acquire(false, &ms), LockResult::kGone) << "tid " << id.tid;
    EXPECT_LT(ms, milliseconds(1000)) << "tid " << id.tid;
    EXPECT_EQ(Acquire(true, &ms), LockResult::kAcquired);
    EXPECT_LT(ms, milliseconds(1000));
    EXPECT_EQ(word, LockTakeoverWord(seen, env.selfSlot)) << "same version, our slot";
  }
}

TEST_F(Waiting, ALiveHolderOfThisProcessIsGoneAfterTheTimeoutUnlessRegistered) {
  env.lockTimeoutMs = 100;
  OwnerIdentity id = me;
  id.tid = 7;
  const uint32_t o = HoldAs(id);
  milliseconds ms;
  EXPECT_EQ(Acquire(false, &ms), LockResult::kGone);
  EXPECT_GE(ms, milliseconds(100));
  // A slot of an open native handle of this process (the live-slot registry) is never gone.
  env.lockTimeoutMs = 20;
  RegisterLiveSlot(t.owners(), o);
  EXPECT_EQ(Acquire(false, &ms), LockResult::kTimeout);
  EXPECT_GE(ms, milliseconds(200));
  UnregisterLiveSlot(t.owners(), o);
}

// Format.md §6, rule 6: a holder whose record names a live pid of another process and no
// identity is gone at once, for a waiter that knows its identity or not.
TEST_F(Waiting, AHolderWithALivePidAndNoIdentityIsTakenOver) {
  env.lockTimeoutMs = 30;
  for (uint64_t selfStart : {me.startTime, kOwnerStartUnknown}) {
    if (LockIsHeld(word)) word = LockReleasedWord(word);
    env.self.startTime = selfStart;
    OwnerIdentity id;
    id.pid = other.pid;
    HoldAs(id);
    const uint32_t seen = word;
    milliseconds ms;
    EXPECT_EQ(Acquire(false, &ms), LockResult::kGone) << "self start " << selfStart;
    EXPECT_EQ(Acquire(true, &ms), LockResult::kAcquired) << "self start " << selfStart;
    EXPECT_EQ(word, LockTakeoverWord(seen, env.selfSlot));
  }
}

// A holder of this process's pid without identity is judged by the same-process rules: a slot of
// an open native handle (the live-slot registry) is never gone, another only after the timeout.
// Rule 6 took it at once: a lock of a live handle of a sibling thread, whose record may read so
// while that thread claims, or to a reader of /proc that disagreed with it.
TEST_F(Waiting, AHolderOfThisPidWithoutIdentityIsJudgedAsThisProcess) {
  env.lockTimeoutMs = 20;
  OwnerIdentity id;
  id.pid = me.pid;
  const uint32_t o = HoldAs(id);
  RegisterLiveSlot(t.owners(), o);
  const uint32_t seen = word;
  milliseconds ms;
  EXPECT_EQ(Acquire(true, &ms), LockResult::kTimeout) << "a live handle's lock is not taken";
  EXPECT_EQ(word, seen);
  UnregisterLiveSlot(t.owners(), o);
  env.lockTimeoutMs = 100;
  EXPECT_EQ(Acquire(false, &ms), LockResult::kGone);
  EXPECT_GE(ms, milliseconds(100)) << "after the timeout, as any holder of this process";
}

// A holder that could not read its identity (its start time the marker) is a live process: the
// waiter waits for it, and takes the lock over once it has ended.
TEST_F(Waiting, AHolderWhoseIdentityIsUnknownIsWaitedFor) {
  env.lockTimeoutMs = 20;
  OwnerIdentity id = other;
  id.startTime = kOwnerStartUnknown;
  id.bootId = 0;
  HoldAs(id);
  const uint32_t seen = word;
  milliseconds ms;
  EXPECT_EQ(Acquire(true, &ms), LockResult::kTimeout);
  EXPECT_EQ(word, seen) << "not taken over";
  child.Kill();
  EXPECT_EQ(Acquire(true, &ms), LockResult::kAcquired);
  EXPECT_EQ(word, LockTakeoverWord(seen, env.selfSlot));
}

TEST_F(Waiting, ALiveOtherProcessIsWaitedForThenTimesOut) {
  env.lockTimeoutMs = 30;
  HoldAs(other);
  const uint32_t seen = word;
  milliseconds ms;
  EXPECT_EQ(Acquire(true, &ms), LockResult::kTimeout);
  EXPECT_GE(ms, milliseconds(300));
  EXPECT_EQ(word, seen) << "not taken over";
}

// ---- advisory lock words (a store's room lease, format.md §8) ---------------------------------

TEST_F(Waiting, AnAdvisoryWordIsTakenFreeAndTakenOverAtOnceFromAGoneHolder) {
  uint32_t held = 0;
  bool waited = true;
  EXPECT_EQ(AcquireAdvisory(&word, env, &held, &waited), LockResult::kAcquired);
  EXPECT_FALSE(waited);
  EXPECT_EQ(word, held);
  EXPECT_EQ(LockOwnerOf(word), env.selfSlot);
  Unlock(&word, held);
  // A process that ended, a thread marked dead, a word naming no valid slot, the waiter's own
  // slot: taken over with one CAS (same version, our slot), long before lockTimeoutMs (5 s).
  OwnerIdentity ended = other;
  ended.pid = DeadPid();
  OwnerIdentity dead = me;
  dead.tid = 8;
  for (int round = 0; round < 4; ++round) {
    if (LockIsHeld(word)) word = LockReleasedWord(word);
    if (round == 0) HoldAs(ended);
    if (round == 1) {
      ASSERT_TRUE(MarkOwnerSlotDead(t.owners(), HoldAs(dead), dead));
    }
    if (round == 2) word = LockTakeoverWord(LockAcquiredWord(word, 1), 0);  // odd, no owner
    if (round == 3) word = LockAcquiredWord(word, env.selfSlot);
    const uint32_t seen = word;
    EXPECT_EQ(AcquireAdvisory(&word, env, &held, &waited), LockResult::kAcquired) << round;
    EXPECT_TRUE(waited) << round;
    EXPECT_EQ(word, LockTakeoverWord(seen, env.selfSlot)) << round;
    EXPECT_EQ(held, word) << round;
  }
}

TEST_F(Waiting, AnAdvisoryWordALiveHolderKeepsIsGivenUpAfterTheTimeout) {
  env.lockTimeoutMs = 30;
  uint32_t held = 0;
  bool waited = false;
  // A live other process: never presumed gone, the waiter goes on without the word.
  HoldAs(other);
  uint32_t seen = word;
  auto t0 = Clock::now();
  EXPECT_EQ(AcquireAdvisory(&word, env, &held, &waited), LockResult::kTimeout);
  EXPECT_GE(Clock::now() - t0, milliseconds(30));
  EXPECT_TRUE(waited);
  EXPECT_EQ(word, seen) << "not taken over";
  // Once it has ended, taken over.
  child.Kill();
  EXPECT_EQ(AcquireAdvisory(&word, env, &held, &waited), LockResult::kAcquired);
  EXPECT_EQ(word, LockTakeoverWord(seen, env.selfSlot));
  // A thread of this process: an open native handle's slot keeps it; any other that kept the same
  // word the whole wait is presumed gone at the limit, as a lock's holder is (format.md §9).
  word = LockReleasedWord(word);
  OwnerIdentity sibling = me;
  sibling.tid = 9;
  const uint32_t o = HoldAs(sibling);
  seen = word;
  RegisterLiveSlot(t.owners(), o);
  EXPECT_EQ(AcquireAdvisory(&word, env, &held, &waited), LockResult::kTimeout);
  EXPECT_EQ(word, seen);
  UnregisterLiveSlot(t.owners(), o);
  EXPECT_EQ(AcquireAdvisory(&word, env, &held, &waited), LockResult::kAcquired);
  EXPECT_EQ(word, LockTakeoverWord(seen, env.selfSlot));
}

}  // namespace
}  // namespace shm
