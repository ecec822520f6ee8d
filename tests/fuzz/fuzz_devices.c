/*
 * fuzz_devices.c - libFuzzer target: the device manager reading recovery
 * records (controller/device.c and device_rec.c: dev_collect_record,
 * hotplug_restore, dev_apply_record, the static PF's num_vfs), with real tap
 * representors made through rtnetlink in a network namespace of its own.
 *
 * Input: up to MAX_FILES records, each
 *     [slot: 1 byte] [file content, up to the next 0x00 byte or the end]
 * 'slot' % N_SLOTS picks the file's name: a static PF, its VFs, hotplug
 * ports, a VUID of another DPU, a name that is no VUID.
 *
 * For each input the manager starts on those files (it must always start:
 * a bad record is skipped, never fatal), its devices are printed, it stops
 * (files and representors stay, as at a restart), starts again and must
 * print the same devices: what the controller wrote itself always restores.
 * The next input starts with no file in a new network namespace.
 *
 * Needs root (CAP_NET_ADMIN for unshare(CLONE_NEWNET) and the taps); without
 * it the target says so and exits 0 at once.  Built with (tests/fuzz/run.sh):
 * fuzz-links: controller/device.c controller/device_rec.c controller/device_ops.c controller/device_json.c controller/sfmgr.c controller/sfmgr_tap.c controller/sfmgr_dummy.c controller/emu.c controller/emu_vhost.c controller/emu_vhost_conn.c controller/emu_vhost_iommu.c controller/emu_vhost_log.c controller/emu_vhost_txrec.c controller/emu_dummy.c lib/netlink.c
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "device.h"
#include "fuzz_tmpdir.h"
#include "log.h"
#include "netlink.h"
#include "recovery.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 4

/* One static PF with up to two VFs, two hotplug ports, a small SF range. */
static const char conf_text[] =
    "{ \"recovery\": 1, \"sf_pool_percent\": 0,"
    "  \"vf\": { \"vfs_per_pf\": 1 },"
    "  \"emulation\": { \"num_pf\": 1, \"num_vf\": 2, \"hotplug_ports\": 2,"
    "                   \"pf_total_sf\": 8, \"num_msix\": 16, \"max_virtq\": 8,"
    "                   \"serial\": \"FUZZ\" } }";

static const char *const slots[] = {
    "FUZZVNETS0D0F0",     "FUZZVNETS0D0F0VF0", "FUZZVNETS0D0F0VF1", "FUZZVNETH0D0F0",
    "FUZZVNETH1D0F0",     "OTHERVNETH0D0F0",   "FUZZVNETS0D0F1",    "not-a-vuid",
};
#define N_SLOTS (sizeof(slots) / sizeof(slots[0]))

static struct vn_conf conf;
static struct vn_nl *nl;
static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct vn_conf_errors errs;

    (void)argc;
    (void)argv;
    vn_log_open("fuzz_devices", true);
    vn_log_set_all_levels(VN_LL_ERR);
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "fuzz_devices: SKIP: cannot have a network namespace of its own (%s); "
                        "run as root\n", strerror(errno));
        exit(0);
    }
    vn_conf_init_defaults(&conf);
    if (vn_conf_parse(conf_text, sizeof(conf_text) - 1, &conf, &errs) < 0 || vn_nl_open(&nl) < 0)
        abort();
    dir = fuzz_tmpdir("fuzz_devices", NULL);
    return 0;
}

static void print_dev(struct vn_device *dev, void *ctx)
{
    cJSON *all = ctx;

    cJSON_AddItemToArray(all, vn_dev_to_json(dev, false));
}

/* Starts a manager on the files in 'dir'; returns its devices as text. */
static char *start_and_print(void)
{
    const struct vn_sfmgr_cfg scfg = {
        .backend = "tap", .serial = conf.emu.serial, .nl = nl, .total_sf = conf.emu.pf_total_sf,
        .sf_num_base = conf.emu.sf_num_base,
    };
    const struct vn_emu_env env = { 0 };
    struct vn_dev_mgr_cfg cfg = { .conf = &conf, .recovery_dir = dir };
    struct vn_dev_mgr *m;
    cJSON *all = cJSON_CreateArray();
    char *text;

    /* Real representors, functions in memory (the dummy backend). */
    if (!all || vn_sfmgr_open(&scfg, &cfg.sfm) < 0 || vn_emu_open("dummy", &env, &cfg.emu) < 0)
        abort();
    /* Static devices are always made: no record can stop the controller. */
    if (vn_dev_mgr_create(&cfg, &m) < 0)
        abort();
    vn_dev_for_each(m, print_dev, all);
    text = cJSON_Print(all);
    if (!text)
        abort();
    cJSON_Delete(all);
    vn_dev_mgr_destroy(m);
    vn_emu_close(cfg.emu);
    vn_sfmgr_close(cfg.sfm);
    return text;
}

/*
 * Removes every file; the representors go with the network namespace, left
 * for a new one (the kernel deletes its netdevs in batches, far faster than
 * one RTM_DELLINK each).
 */
static void clean(void)
{
    fuzz_tmpdir_empty();
    vn_nl_close(nl);
    if (unshare(CLONE_NEWNET) < 0 || vn_nl_open(&nl) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *first, *again;

    for (int n = 0; n < MAX_FILES && size > 0; n++) {
        const char *name = slots[data[0] % N_SLOTS];
        const uint8_t *end = memchr(data + 1, 0, size - 1);
        size_t len = end ? (size_t)(end - data - 1) : size - 1;
        char path[128];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, data + 1, len) != (ssize_t)len)
            abort();
        close(fd);
        data += 1 + len + (end != NULL);
        size -= 1 + len + (end != NULL);
    }
    first = start_and_print();
    again = start_and_print();
    if (strcmp(first, again)) {
        fprintf(stderr, "restart changed the devices:\n--- first\n%s\n--- again\n%s\n", first,
                again);
        abort();
    }
    free(first);
    free(again);
    clean();
    return 0;
}
