/*
 * fuzz_recovery.c - libFuzzer target: loading recovery files
 * (recovery/recovery.c): the input is written as a device's recovery file and
 * the store is scanned as at start-up; whatever is handed over is walked and
 * printed (what the device manager reads next), then saved and scanned again.
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"
#include "log.h"
#include "recovery.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dir;
static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vn_log_open("fuzz_recovery", true);
    vn_log_set_all_levels(VN_LL_ERR);
    dir = fuzz_tmpdir("fuzz_recovery", NULL);
    snprintf(path, sizeof(path), "%s/FUZZVNETH0D0F0", dir);
    return 0;
}

/* Prints what was read (the manager walks it the same way) and saves it again. */
static int seen(const char *vuid, const cJSON *obj, void *ctx)
{
    char *text = cJSON_PrintUnformatted(obj);

    (*(int *)ctx)++;
    if (!text)
        abort(); /* a parsed object always prints */
    free(text);
    if (vn_recovery_save(dir, vuid, obj) < 0)
        abort(); /* a valid VUID in a writable dir always saves */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int first = 0, again = 0;

    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    vn_recovery_scan(dir, seen, &first);
    /* What was saved back must load again, the same number of files. */
    vn_recovery_scan(dir, seen, &again);
    if (first != again)
        abort();
    vn_recovery_remove(dir, "FUZZVNETH0D0F0");
    return 0;
}
