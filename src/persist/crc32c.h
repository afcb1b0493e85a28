// CRC32C (Castagnoli, the iSCSI CRC: reflected polynomial 0x82F63B78, initial value and final
// XOR 0xFFFFFFFF), the checksum of the write-ahead log's records and of snapshots
// (docs/format.md §16). Computed by Intel ISA-L's crc32_iscsi, which dispatches to the SSE4.2
// CRC32 instruction (or a folded PCLMUL variant) at run time. lib/persist/crc32c.js computes the
// same function in JavaScript, bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shm {

// CRC32C of `len` bytes, continuing from `crc`, the CRC32C of the bytes before them (0 for
// none): Crc32c(b, n, Crc32c(a, m)) == Crc32c(a ‖ b, m + n). Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(const void* data, size_t len, uint32_t crc = 0) noexcept;

}  // namespace shm
