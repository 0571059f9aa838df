/* What nginx's configure generates for a dynamic module (objs/ngx_<name>_modules.c). */
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_eidgw_module;

ngx_module_t *ngx_modules[] = {&ngx_http_eidgw_module, NULL};

char *ngx_module_names[] = {"ngx_http_eidgw_module", NULL};

char *ngx_module_order[] = {NULL};
