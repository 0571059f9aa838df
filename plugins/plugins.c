/* The table of compiled-in plugins. */
#include "plugin.h"

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
