/* popdb_http's settings: the [popdb] section, read by the table in popdb_http.c. */
#ifndef GW_POPDB_HTTP_H
#define GW_POPDB_HTTP_H

typedef struct gw_popdb_settings {
    char *url; /* NULL: no [popdb] section, no service */
    char *name_format; /* nfc, nfc_upper, ascii_upper_nospace */
    long timeout; /* seconds */
    /* the service's wire format: request field names, the answer's field and values */
    char *field_cmnd, *field_id12, *field_name, *result_field, *match, *nomatch;
} gw_popdb_settings_t;

#endif
