/* SPDX-License-Identifier: MIT */
#include "common/scripts.h"

void hg_scripts_init(void)
{
    for (hg_script *const *s = hg_scripts_all; *s != NULL; s++)
        hg_script_prepare(*s);
}
