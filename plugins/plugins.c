/* The table of compiled-in plugins, and the one place where the configuration's plugin
 * sections are bound to the plugins that read them. */
#include "plugin.h"
#include "gw_config.h"

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

/* One section's lines through a plugin's table and check. NULL with the error in err. */
static void *read_settings(const gw_plugin_conf_t *pc, const gw_dir_lines_t *lines, char *err, size_t errlen)
{
    gw_dir_section_t sec;
    void *s = gw_dir_settings_new(pc->directives, pc->size, lines, &sec, err, errlen);
    if (s && pc->check && pc->check(s, &sec, err, errlen)) {
        if (pc->release)
            pc->release(s);
        gw_dir_settings_free(pc->directives, s);
        return NULL;
    }
    return s;
}

int gw_plugins_configure(gw_config_t *cfg, char *err, size_t errlen)
{
    gw_upstream_t *up = cfg->upstream;
    if (up && !up->settings) {
        const gw_idp_ops_t *idp = gw_idp_find(up->plugin);
        if (!idp) {
            char known[256];
            gw_idp_kinds(known, sizeof(known));
            snprintf(err, errlen, "%s: plugin: '%s' is not an upstream plugin (known: %s)", up->plugin_at, up->plugin,
                     known);
            return -1;
        }
        up->settings = read_settings(&idp->conf, &up->lines, err, errlen);
        if (!up->settings)
            return -1;
        up->settings_table = idp->conf.directives;
        up->settings_release = idp->conf.release;
    }
    if (!cfg->popdb) {
        cfg->popdb = read_settings(&gw_popdb_conf, &cfg->popdb_lines, err, errlen);
        if (!cfg->popdb)
            return -1;
        cfg->popdb_table = gw_popdb_conf.directives;
    }
    return 0;
}
