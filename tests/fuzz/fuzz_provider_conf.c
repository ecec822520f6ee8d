/*
 * fuzz_provider_conf.c - libFuzzer target: provider files (lib/provider_conf.c).
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>

#include "provider_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vn_provider_conf pc;
    char err[256];

    vn_provider_conf_parse((const char *)data, size, &pc, err, sizeof(err));
    return 0;
}
