// What the segment room's binding shares between its parts: futex.cc's answer to a segment that
// closes (segment.cc).
#pragma once

#include <node_api.h>

#include <cstddef>

// Rejects with ShmError ERR_CLOSED every futex.waitAsync of this environment pending on a word in
// [begin, begin + bytes), the range of a mapping about to be swapped for private memory: they
// could never be woken through this thread's views, and would keep the event loop alive. Call it
// while the range still maps the shared pages (a cancelled wait's thread is woken through them).
void RejectFutexWaitsIn(napi_env env, const void* begin, size_t bytes);
