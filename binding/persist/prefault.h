// prefaultLogSpace (prefault.cc): the prefault of a log file's mapping on the thread pool.
#pragma once

#include <node_api.h>

napi_value PrefaultLogSpaceFn(napi_env env, napi_callback_info cbinfo);
