/* gw_store: the operations every backend shares, on top of the table of operations. */
#include "gw_store.h"
#include "gw_json.h"
#include "gw_config.h"
#include "gw_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gw_store_put_json(gw_store_t *st, const char *ns, const char *key, json_t *j, long ttl, int nx)
{
    if (GW_MEM(st, ns))
        return gw_memkv_put_json(st->mem, ns, key, j, ttl, nx);
    char *s = json_dumps(j, JSON_COMPACT);
    int rc = s ? st->ops->put(st, ns, key, s, ttl, nx) : GW_ENOMEM;
    free(s);
    return rc;
}

int gw_store_get_json(gw_store_t *st, const char *ns, const char *key, int take, json_t **ret)
{
    *ret = NULL;
    if (GW_MEM(st, ns))
        return gw_memkv_get_json(st->mem, ns, key, take, ret);
    char *v = NULL;
    int rc = take ? st->ops->take(st, ns, key, &v) : st->ops->get(st, ns, key, &v);
    if (rc != GW_OK)
        return rc;
    *ret = gw_json_parse_str(v);
    free(v);
    return *ret ? GW_OK : GW_EINVAL;
}

/* The file's header, read only: SQLite itself would take locks and write the WAL index. */
static int sqlite_file_check(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char head[16];
    ssize_t n = fd < 0 ? 0 : read(fd, head, sizeof(head));
    if (fd >= 0)
        close(fd);
    if (n != 0 && (n != (ssize_t)sizeof(head) || memcmp(head, "SQLite format 3", sizeof(head)))) {
        snprintf(err, errlen, "%s: sqlite: file is not a database", path);
        return -1;
    }
    return gw_path_writable(path, err, errlen); /* an empty file is a new database, as for SQLite */
}

int gw_store_check_config(const struct gw_config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->store_driver, "redis"))
        return sqlite_file_check(cfg->store_path, err, errlen);
    gw_store_t *st = gw_store_open_config(cfg, err, errlen);
    gw_store_close(st);
    return st ? 0 : -1;
}

gw_store_t *gw_store_open_config(const struct gw_config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->store_driver, "redis"))
        return gw_store_open(cfg->store_driver, cfg->store_path, err, errlen);
    gw_buf_t sl;
    gw_buf_init(&sl, 4096);
    for (size_t i = 0; i < cfg->store_sentinels.n; i++)
        gw_buf_printf(&sl, "%s%s", i ? " " : "", cfg->store_sentinels.v[i]);
    gw_store_t *st = gw_store_open_redis(cfg->store_url, cfg->store_password, sl.data, cfg->store_master,
                                         cfg->store_allow_volatile, err, errlen);
    gw_buf_cleanup(&sl);
    return st;
}
