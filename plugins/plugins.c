/* The table of compiled-in plugins. */
#include "plugin.h"

#include <stdio.h>
#include <string.h>

static const gw_idp_ops_t *const idp_plugins[] = {
    &gw_idp_vneid,
    NULL,
};

const gw_idp_ops_t *gw_idp_find(const char *kind)
{
    for (const gw_idp_ops_t *const *p = idp_plugins; *p && kind; p++)
        if (!strcmp((*p)->kind, kind))
            return *p;
    return NULL;
}

void gw_idp_kinds(char *out, size_t len)
{
    size_t o = 0;
    out[0] = 0;
    for (const gw_idp_ops_t *const *p = idp_plugins; *p && o < len; p++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "", (*p)->kind);
}
