// createRecordSealer (record_sealer.cc): the native sealing of the JavaScript engine's set record.
#pragma once

#include <node_api.h>

napi_value CreateRecordSealerFn(napi_env env, napi_callback_info cbinfo);
