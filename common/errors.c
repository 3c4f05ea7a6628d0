/* SPDX-License-Identifier: MIT
 *
 * Lookup functions over the error table in errors.h.
 */
#include "common/errors.h"

static const struct {
    const char *code;
    int status;
    const char *title;
} table[HG_E_COUNT] = {
#define HG_ERROR_ROW(name, status, title) [HG_E_##name] = {#name, status, title},
    HG_ERROR_TABLE(HG_ERROR_ROW)
#undef HG_ERROR_ROW
};

const char *hg_error_code(hg_error e)
{
    return (unsigned)e < HG_E_COUNT ? table[e].code : "INTERNAL_ERROR";
}

int hg_error_status(hg_error e)
{
    return (unsigned)e < HG_E_COUNT ? table[e].status : 500;
}

const char *hg_error_title(hg_error e)
{
    return (unsigned)e < HG_E_COUNT ? table[e].title : "Internal error";
}
