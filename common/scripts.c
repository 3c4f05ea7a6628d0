/* SPDX-License-Identifier: MIT */
#include "common/scripts.h"

/* Defined in the generated scripts_lua.c. */
extern const char hg_lua_publish[];
extern const char hg_lua_endpoint_snapshot[];
extern const char hg_lua_create_integration[];
extern const char hg_lua_create_endpoint[];
extern const char hg_lua_load_delivery[];
extern const char hg_lua_record_attempt[];
extern const char hg_lua_settle[];
extern const char hg_lua_promote_due[];
extern const char hg_lua_redeliver[];
extern const char hg_lua_event_detail[];
extern const char hg_lua_delivery_detail[];
extern const char hg_lua_feed_since[];
extern const char hg_lua_sink_capture[];

#define SCRIPT(name) hg_script hg_script_##name = {#name, hg_lua_##name, {0}};
SCRIPT(publish)
SCRIPT(endpoint_snapshot)
SCRIPT(create_integration)
SCRIPT(create_endpoint)
SCRIPT(load_delivery)
SCRIPT(record_attempt)
SCRIPT(settle)
SCRIPT(promote_due)
SCRIPT(redeliver)
SCRIPT(event_detail)
SCRIPT(delivery_detail)
SCRIPT(feed_since)
SCRIPT(sink_capture)
#undef SCRIPT

hg_script *const hg_scripts_all[] = {
    &hg_script_publish,         &hg_script_endpoint_snapshot,
    &hg_script_create_integration, &hg_script_create_endpoint,
    &hg_script_load_delivery,   &hg_script_record_attempt,
    &hg_script_settle,          &hg_script_promote_due,
    &hg_script_redeliver,       &hg_script_event_detail,
    &hg_script_delivery_detail, &hg_script_feed_since,
    &hg_script_sink_capture,    NULL,
};

void hg_scripts_init(void)
{
    for (hg_script *const *s = hg_scripts_all; *s != NULL; s++)
        hg_script_prepare(*s);
}
