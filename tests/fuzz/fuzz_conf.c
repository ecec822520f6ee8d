/*
 * fuzz_conf.c - libFuzzer target: virtnet.conf parsing and validation
 * (lib/conf.c), then printing what was accepted and parsing that again.
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vn_conf conf;
    struct vn_conf_errors errs;

    if (vn_conf_parse((const char *)data, size, &conf, &errs) == 0) {
        cJSON *j = vn_conf_to_json(&conf);
        char *text = j ? cJSON_PrintUnformatted(j) : NULL;

        /* What we print must load back. */
        if (text && vn_conf_parse(text, strlen(text), &conf, &errs) != 0)
            abort();
        free(text);
        cJSON_Delete(j);
    }
    return 0;
}
