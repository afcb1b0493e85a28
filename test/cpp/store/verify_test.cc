// verify() (src/store/verify.cpp, docs/api.md store.verify()) on hand-damaged regions.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "base/hash.h"
#include "ownership/owners.h"
#include "store/alloc.h"
#include "store/store.h"
#include "test_util.h"

namespace shm::test {
namespace {

class StoreVerify : public OpenStore {};

TEST_F(StoreVerify, VerifyReportsAndRepairReclaimsALeak) {
  ASSERT_EQ(Put(*s, ns, "k", "v"), L::kOk);
  // A writer that died between allocating and publishing leaves a leaked block.
  PoolView pool;
  pool.base = r.base();
  pool.header = r.header();
  pool.alloc = r.alloc();
  pool.firstUnit = s->firstUnit();
  pool.totalUnits = s->totalUnits();
  LockEnv env;
  env.regionBase = r.base();
  env.owners = r.owner(0);
  env.selfSlot = s->ownerSlot();
  env.self = IdentityOf(static_cast<uint32_t>(getpid()), 1);
  uint32_t unit;
  ASSERT_EQ(AllocBlock(pool, env, 3, &unit), AllocStatus::kOk);
  VerifyReport rep;
  ASSERT_EQ(s->Verify(&rep), L::kOk);
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.leakedUnits, 4u);
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_NE(rep.errors[0].find("leaked"), std::string::npos) << rep.errors[0];
  ASSERT_EQ(s->Repair(), L::kOk);
  rep = VerifyOk(*s);
  EXPECT_EQ(rep.freeUnits, 4u);
  EXPECT_EQ(rep.entries, 1u);
  EXPECT_EQ(r.header()->gcCounter, 1u);
  EXPECT_EQ(r.repairState()->repairs, 1u);
  EXPECT_EQ(GetStr(*s, ns, "k"), "v");
}

}  // namespace
}  // namespace shm::test
