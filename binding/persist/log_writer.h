// createLogWriter (log_writer.cc): the native path of a persisted store's set.
#pragma once

#include <node_api.h>

napi_value CreateLogWriterFn(napi_env env, napi_callback_info cbinfo);
