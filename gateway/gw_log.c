#include "gw_log.h"

#include "gw_idnum.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static gw_log_level_t min_level = GW_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void gw_log_set_level(gw_log_level_t lvl) { min_level = lvl; }

gw_log_level_t gw_log_parse_level(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i]))
            return (gw_log_level_t)i;
    return GW_LOG_INFO;
}

void gw_log(gw_log_level_t lvl, const char *module, const char *msg, ...)
{
    if (lvl < min_level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(names[lvl]));
    json_object_set_new(o, "module", json_string(module));
    json_object_set_new(o, "msg", json_string(msg));
    va_list ap;
    va_start(ap, msg);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        if (!v)
            continue;
        size_t kl = strlen(k);
        if (!strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "module") || !strcmp(k, "msg"))
            continue; /* never let a field overwrite the line's own keys */
        if (kl >= 5 && !strcmp(k + kl - 5, "_id12")) {
            char masked[64];
            gw_id_mask(v, masked, sizeof(masked));
            json_object_set_new(o, k, json_string(masked));
        } else {
            json_object_set_new(o, k, json_string(v));
        }
    }
    va_end(ap);
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    json_decref(o);
}
