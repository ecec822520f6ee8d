/*
 * conf.c - virtnet.conf: defaults, parsing, validation and printing; see conf.h.
 *
 * One table per JSON object (the top level, "static_pf", "vf", "emulation")
 * gives, for each key, its type, where its value goes in struct vn_conf and
 * the extra rule it obeys.  One walker decodes any object with its table, so
 * unknown keys, duplicate keys and wrong types are reported the same way at
 * every level.  Rules that tie several keys together run afterwards
 * (check_consistency()).  Every problem is recorded as "<key>: <reason>";
 * parsing goes on after an error so that one run reports them all.
 *
 * Vendor compatibility (see the reference, section 3):
 *   - trailing commas are accepted (vn_json_parse_relaxed());
 *   - feature masks are "0x..." strings (the vendor's examples), whole numbers
 *     or "Auto"/"auto"; a mask of 0 means "Auto" too, as the v1.9 default of
 *     the top-level "features" did;
 *   - the v1.9 top-level "mac_base" and "features" are aliases of
 *     static_pf.mac_base and static_pf.features (giving both spellings of the
 *     same key is an error);
 *   - flags accept 0/1 (the vendor's type is Number) and JSON true/false.
 */
#include <config.h>

#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "json.h"
#include "util.h"


/*
 * The feature bits the software DPU offers by default: what its datapath
 * (vhost-user rings on one side, a tap with IFF_VNET_HDR on the other) and the
 * controller can honour.
 *   - Offloads in both directions (CSUM, GUEST_CSUM, GUEST_/HOST_ TSO4, TSO6,
 *     ECN, UFO): the virtio-net header travels through the tap unchanged, as
 *     with vhost-net, and the kernel completes checksums and segments.
 *   - MTU, MAC, STATUS, MQ, MRG_RXBUF: config space and receive buffer layout.
 *   - CTRL_VQ, CTRL_RX, CTRL_VLAN, GUEST_ANNOUNCE, CTRL_MAC_ADDR: the control
 *     queue, served in software.
 *   - RING_INDIRECT_DESC, RING_EVENT_IDX, VERSION_1: split ring features.
 *   - SR_IOV: static PFs of the profile carry num_vf VFs each.
 *   - CTRL_GUEST_OFFLOADS, SPEED_DUPLEX: the front-end serves the control
 *     queue and the config space.
 *   - RING_PACKED: packed virtqueues (a device gets it when asked for).
 *   - IOMMU_PLATFORM: a guest behind a vIOMMU (the vhost-user IOTLB; a device
 *     gets it when asked for).
 *   - The rest of the vendor's 27 bits (VN_CONF_FEATURES_CONFIG_ONLY:
 *     ORDER_PLATFORM, NOTIFICATION_DATA,
 *     RING_RESET, ADMIN_VQ, HOST_USO, HASH_REPORT, GUEST_HDRLEN): accepted so the vendor's masks load and apply as
 *     written, kept in a device's configured set, but never offered to a
 *     driver by the software DPU (the backend masks them with the provider's
 *     mask).
 */
#define CONF_EMU_DEFAULT_FEATURES                                                                  \
    (VN_BIT(VIRTIO_NET_F_CSUM) | VN_BIT(VIRTIO_NET_F_GUEST_CSUM) | VN_BIT(VIRTIO_NET_F_MTU) |               \
     VN_BIT(VIRTIO_NET_F_MAC) | VN_BIT(VIRTIO_NET_F_GUEST_TSO4) | VN_BIT(VIRTIO_NET_F_GUEST_TSO6) |         \
     VN_BIT(VIRTIO_NET_F_GUEST_ECN) | VN_BIT(VIRTIO_NET_F_GUEST_UFO) | VN_BIT(VIRTIO_NET_F_HOST_TSO4) |     \
     VN_BIT(VIRTIO_NET_F_HOST_TSO6) | VN_BIT(VIRTIO_NET_F_HOST_ECN) | VN_BIT(VIRTIO_NET_F_HOST_UFO) |       \
     VN_BIT(VIRTIO_NET_F_MRG_RXBUF) | VN_BIT(VIRTIO_NET_F_STATUS) | VN_BIT(VIRTIO_NET_F_CTRL_VQ) |          \
     VN_BIT(VIRTIO_NET_F_CTRL_RX) | VN_BIT(VIRTIO_NET_F_CTRL_VLAN) | VN_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |  \
     VN_BIT(VIRTIO_NET_F_MQ) | VN_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | VN_BIT(VIRTIO_RING_F_INDIRECT_DESC) |   \
     VN_BIT(VIRTIO_RING_F_EVENT_IDX) | VN_BIT(VIRTIO_F_VERSION_1) | VN_BIT(VIRTIO_F_SR_IOV) |       \
     VN_BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | VN_BIT(VN_VIRTIO_NET_F_SPEED_DUPLEX) |             \
     VN_BIT(VIRTIO_F_RING_PACKED) | VN_BIT(VN_VIRTIO_F_IOMMU_PLATFORM) |                          \
     VN_CONF_FEATURES_CONFIG_ONLY)

#define CONF_DEFAULT_SERIAL "VNETSW000001"

/* DPA cores are numbered from 0; a BlueField-3 DPA has 16 cores. */
#define CONF_DPA_CORE_MAX 255

/* At most this many characters of a value or key are quoted in a message. */
#define CONF_ECHO_MAX 64

void vn_conf_init_defaults(struct vn_conf *conf)
{
    *conf = (struct vn_conf){
        .ib_dev_p0 = "mlx5_0",
        .ib_dev_p1 = "mlx5_1",
        .ib_dev_lag = "mlx5_bond_0",
        .ib_dev_for_static_pf = "mlx5_0",
        .recovery = true,
        .provider_sw_fallback = true,
        .static_pf.features.is_auto = true,
        .vf.features.is_auto = true,
        .mrg_rxbuf = -1,
        .packed_vq = -1,
        .emu.hotplug_ports = 16,
        .emu.num_pf = 0,
        .emu.num_vf = 0,
        .emu.num_msix = 16,
        .emu.pf_total_sf = 512,
        .emu.sf_num_base = 1000,
        .emu.max_virtq = 64,
        .emu.max_queue_size = 4096,
        .emu.features = CONF_EMU_DEFAULT_FEATURES,
        .host.timeout_ms = 20000,
        .metrics.connection_limit = 16,
        .metrics.per_ip_limit = 4,
        .metrics.timeout_s = 10,
        .emu.serial = CONF_DEFAULT_SERIAL,
        .emu.backend = "vhost",
        .rpc_idle_timeout = 60,
    };
}

/* ---- key tables ------------------------------------------------------ */

enum conf_type {
    CONF_T_STRING,   /* char[size], then 'check' on the text */
    CONF_T_FLAG,     /* bool from 0, 1, false or true */
    CONF_T_TRISTATE, /* int (-1 when not given) from 0, 1, false or true */
    CONF_T_U32,      /* uint32_t from a whole number in [min, max], then 'check' */
    CONF_T_FEATURES, /* struct vn_conf_features */
    CONF_T_MASK,     /* uint64_t feature mask, "Auto" = the default, then 'check' */
    CONF_T_MAC,      /* uint8_t[VN_MAC_LEN] from "aa:bb:cc:dd:ee:ff" */
    CONF_T_SECTION,  /* a nested object, decoded with 'section' */
};

struct conf_section;

struct conf_key {
    const char *name; /* the JSON key, case-sensitive */
    enum conf_type type;
    size_t offset;     /* of the value in the section's struct */
    bool has_flag;     /* a 'has' bool is set when the key is given... */
    size_t has_offset; /* ...at this offset of the section's struct */
    size_t size;       /* CONF_T_STRING: size of the buffer */
    uint32_t min, max; /* CONF_T_U32: allowed range */
    /* Extra rule on the decoded value (const char * for strings, uint32_t *,
     * uint64_t *): NULL when it holds, else the reason. */
    const char *(*check)(const void *value);
    const struct conf_section *section; /* CONF_T_SECTION */
};

struct conf_section {
    const char *prefix; /* put before key names in messages: "", "vf.", ... */
    const struct conf_key *keys;
    size_t n_keys;
};

/* clang-format off */
#define KEY_STRING(NAME, S, F, CHECK)                                                      \
    { .name = NAME, .type = CONF_T_STRING, .offset = offsetof(S, F),                     \
      .size = sizeof(((S *)0)->F), .check = CHECK }
#define KEY_STRING_HAS(NAME, S, F, HAS, CHECK)                                             \
    { .name = NAME, .type = CONF_T_STRING, .offset = offsetof(S, F),                     \
      .size = sizeof(((S *)0)->F), .has_flag = true, .has_offset = offsetof(S, HAS),    \
      .check = CHECK }
#define KEY_FLAG(NAME, S, F) { .name = NAME, .type = CONF_T_FLAG, .offset = offsetof(S, F) }
#define KEY_TRISTATE(NAME, S, F) \
    { .name = NAME, .type = CONF_T_TRISTATE, .offset = offsetof(S, F) }
#define KEY_U32(NAME, S, F, MIN, MAX, CHECK)                                               \
    { .name = NAME, .type = CONF_T_U32, .offset = offsetof(S, F), .min = MIN, .max = MAX, \
      .check = CHECK }
#define KEY_U32_HAS(NAME, S, F, HAS, MIN, MAX)                                             \
    { .name = NAME, .type = CONF_T_U32, .offset = offsetof(S, F), .min = MIN, .max = MAX, \
      .has_flag = true, .has_offset = offsetof(S, HAS) }
#define KEY_FEATURES(NAME, S, F) \
    { .name = NAME, .type = CONF_T_FEATURES, .offset = offsetof(S, F) }
#define KEY_MASK(NAME, S, F, CHECK) \
    { .name = NAME, .type = CONF_T_MASK, .offset = offsetof(S, F), .check = CHECK }
#define KEY_MAC(NAME, S, F, HAS)                                               \
    { .name = NAME, .type = CONF_T_MAC, .offset = offsetof(S, F), .has_flag = true, \
      .has_offset = offsetof(S, HAS) }
#define KEY_SECTION(NAME, S, F, SECTION) \
    { .name = NAME, .type = CONF_T_SECTION, .offset = offsetof(S, F), .section = SECTION }
/* clang-format on */

/* RDMA device names end up in sysfs paths: one safe path component. */
static const char *check_ibdev(const void *value)
{
    return vn_is_safe_filename(value, VN_IBDEV_NAME_MAX - 1)
               ? NULL
               : "must be an RDMA device name (1 to 63 characters of [A-Za-z0-9._-])";
}

/* Only the kernel (virtio_vfio_pci) live-migration provider is known. */
static const char *check_lm_prov(const void *value)
{
    const char *s = value;

    return !*s || !strcmp(s, "kernel") ? NULL : "must be \"kernel\" (or \"\" for none)";
}

/* "" keeps the built-in default; anything else must be absolute. */
static const char *check_path(const void *value)
{
    const char *s = value;

    return !*s || s[0] == '/' ? NULL : "must be an absolute path (or \"\" for the default)";
}

/* A plausible group name: printable, no '/', ':', ',' or blank, not "-x". */
static const char *check_group(const void *value)
{
    const char *s = value;

    if (s[0] == '-')
        goto bad;
    for (const char *c = s; *c; c++)
        if (!isgraph((unsigned char)*c) || *c == '/' || *c == ':' || *c == ',')
            goto bad;
    return NULL;
bad:
    return "must be a group name (or \"\" for none)";
}

/* The serial prefixes every VUID: letters and digits only. */
/* The emulation backends the controller has (controller/emu.c lists the same). */
static const char *check_backend(const void *value)
{
    const char *s = value;

    return strcmp(s, "vhost") && strcmp(s, "dummy")
               ? "\"vhost\" (the software DPU) or \"dummy\" (in memory, for tests)"
               : NULL;
}

static const char *check_serial(const void *value)
{
    const char *s = value;

    if (!*s)
        goto bad;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c))
            goto bad;
    return NULL;
bad:
    return "must be 1 to 24 characters of [A-Za-z0-9]";
}

/* Split ring sizes are powers of two (the range is checked before). */
static const char *check_queue_size(const void *value)
{
    uint32_t v = *(const uint32_t *)value;

    return (v & (v - 1)) == 0 ? NULL : "must be a power of two in [2, 32768]";
}

/* The device must be a modern one: the software DPU has no legacy-only mode. */
static const char *check_emu_features(const void *value)
{
    uint64_t v = *(const uint64_t *)value;

    return v & VN_BIT(VIRTIO_F_VERSION_1) ? NULL : "must include VIRTIO_F_VERSION_1 (bit 32)";
}

static const char *check_cpu_mask(const void *value)
{
    uint64_t v = *(const uint64_t *)value;
    long n = sysconf(_SC_NPROCESSORS_CONF);

    if (v && n > 0 && n < 64 && !(v & ((UINT64_C(1) << n) - 1)))
        return "names no CPU of this machine";
    return NULL;
}

static const char *check_abs_path(const void *value)
{
    const char *s = value;

    return s[0] && s[0] != '/' ? "must be an absolute path (or empty)" : NULL;
}

#define SPF struct vn_conf_static_pf
static const struct conf_key static_pf_keys[] = {
    KEY_MAC("mac_base", SPF, mac_base, has_mac_base),
    KEY_FEATURES("features", SPF, features),
    KEY_STRING("vhost_server_path_prefix", SPF, vhost_server_path_prefix, check_abs_path),
};
#undef SPF

#define VF struct vn_conf_vf
static const struct conf_key vf_keys[] = {
    KEY_MAC("mac_base", VF, mac_base, has_mac_base),
    KEY_FEATURES("features", VF, features),
    KEY_U32_HAS("vfs_per_pf", VF, vfs_per_pf, has_vfs_per_pf, 0, VN_EMU_MAX_VF_TOTAL),
    KEY_STRING("vhost_server_path_prefix", VF, vhost_server_path_prefix, check_abs_path),
};
#undef VF

#define EMU struct vn_emu_profile
static const struct conf_key emu_keys[] = {
    KEY_U32("hotplug_ports", EMU, hotplug_ports, 0, VN_EMU_MAX_HOTPLUG_PORTS, NULL),
    KEY_U32("num_pf", EMU, num_pf, 0, VN_EMU_MAX_PF, NULL),
    KEY_U32("num_vf", EMU, num_vf, 0, VN_EMU_MAX_VF_TOTAL, NULL),
    KEY_U32("num_msix", EMU, num_msix, 2, VN_EMU_MAX_MSIX, NULL),
    KEY_U32("pf_total_sf", EMU, pf_total_sf, 0, VN_EMU_MAX_TOTAL_SF, NULL),
    KEY_U32("sf_num_base", EMU, sf_num_base, 1000, 90000, NULL),
    KEY_U32("max_virtq", EMU, max_virtq, 2, VN_EMU_MAX_VIRTQ, NULL),
    KEY_U32("max_queue_size", EMU, max_queue_size, 2, VN_EMU_MAX_QUEUE_SIZE, check_queue_size),
    KEY_MASK("features", EMU, features, check_emu_features),
    KEY_MASK("worker_cpu_mask", EMU, worker_cpu_mask, check_cpu_mask),
    KEY_STRING("serial", EMU, serial, check_serial),
    KEY_STRING("backend", EMU, backend, check_backend),
};
#undef EMU

static const char *check_root_ports(const void *value)
{
    const char *s = value;

    for (const char *c = s; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.' || *c == ','))
            return "ids of letters, digits, '_', '-' and '.', separated by commas";
    return NULL;
}

static const char *check_host_type(const void *value)
{
    const char *s = value;

    return !*s || !strcmp(s, "qmp") || !strcmp(s, "libvirt") ? NULL
                                                              : "must be \"qmp\" or \"libvirt\"";
}

/* Printable text without quotes or angle brackets (it goes into XML and log lines). */
static const char *check_printable(const void *value)
{
    for (const char *c = value; *c; c++)
        if (!isprint((unsigned char)*c) || strchr("'\"<>&", *c))
            return "printable characters only, without quotes, '<', '>' or '&'";
    return NULL;
}

#define HOST struct vn_conf_host
static const struct conf_key host_keys[] = {
    KEY_STRING("type", HOST, type, check_host_type),
    KEY_STRING("uri", HOST, uri, check_printable),
    KEY_STRING("domain", HOST, domain, check_printable),
    KEY_FLAG("persistent", HOST, persistent),
    KEY_STRING("qmp_socket", HOST, qmp_socket, check_path),
    KEY_STRING("root_ports", HOST, root_ports, check_root_ports),
    KEY_U32("timeout_ms", HOST, timeout_ms, 100, 600000, NULL),
};
#undef HOST

/*
 * "PORT", "ADDR:PORT" or "[ADDR6]:PORT" with a numeric address and a port in
 * [0, 65535] (0: any free port); "" = off.  (Parsed again when the listener starts.)
 */
static const char *check_listen(const void *value)
{
    const char *s = value, *port = s;
    char host[64];
    unsigned char addr[16];
    uint64_t p;

    if (!*s)
        return NULL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
            goto bad;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            goto bad;
        port = end + 2;
    } else if (strchr(s, ':')) {
        const char *colon = strrchr(s, ':');

        if ((size_t)(colon - s) >= sizeof(host))
            goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (inet_pton(AF_INET, host, addr) != 1)
            goto bad;
        port = colon + 1;
    }
    if (vn_parse_u64(port, 10, 0, 65535, &p) < 0)
        goto bad;
    return NULL;
bad:
    return "must be \"PORT\", \"IPV4:PORT\" or \"[IPV6]:PORT\" with a numeric address "
           "(or \"\" for no listener)";
}

int vn_conf_parse_sock_mode(const char *s, uint32_t *out)
{
    uint64_t m;

    if (s[0] != '0' || vn_parse_u64(s, 8, 0, 0777, &m) < 0 || (m & 0002))
        return -EINVAL;
    *out = (uint32_t)m;
    return 0;
}

static const char *check_sock_mode(const void *value)
{
    const char *s = value;
    uint32_t m;

    if (!*s || vn_conf_parse_sock_mode(s, &m) == 0)
        return NULL;
    return "must be an octal mode like \"0660\" (at most 0777, not writable by others)";
}

#define MET struct vn_conf_metrics
static const struct conf_key metrics_keys[] = {
    KEY_STRING("listen", MET, listen, check_listen),
    KEY_U32("connection_limit", MET, connection_limit, 1, 1024, NULL),
    KEY_U32("per_ip_limit", MET, per_ip_limit, 1, 1024, NULL),
    KEY_U32("timeout_s", MET, timeout_s, 1, 3600, NULL),
};
#undef MET

#define VSOCK struct vn_conf_vhost_socket
static const struct conf_key vhost_socket_keys[] = {
    KEY_STRING("group", VSOCK, group, check_group),
    KEY_STRING("mode", VSOCK, mode, check_sock_mode),
};
#undef VSOCK

/* clang-format off */
#define SECTION(PREFIX, KEYS) { .prefix = PREFIX, .keys = KEYS, .n_keys = VN_ARRAY_SIZE(KEYS) }
/* clang-format on */
static const struct conf_section static_pf_section = SECTION("static_pf.", static_pf_keys);
static const struct conf_section vf_section = SECTION("vf.", vf_keys);
static const struct conf_section emu_section = SECTION("emulation.", emu_keys);
static const struct conf_section host_section = SECTION("host.", host_keys);
static const struct conf_section metrics_section = SECTION("metrics.", metrics_keys);
static const struct conf_section vhost_socket_section = SECTION("vhost_socket.", vhost_socket_keys);

#define TOP struct vn_conf
static const struct conf_key top_keys[] = {
    KEY_STRING_HAS("ib_dev_p0", TOP, ib_dev_p0, has_ib_dev_p0, check_ibdev),
    KEY_STRING_HAS("ib_dev_p1", TOP, ib_dev_p1, has_ib_dev_p1, check_ibdev),
    KEY_STRING_HAS("ib_dev_lag", TOP, ib_dev_lag, has_ib_dev_lag, check_ibdev),
    KEY_STRING_HAS("ib_dev_for_static_pf", TOP, ib_dev_for_static_pf, has_ib_dev_for_static_pf,
                   check_ibdev),
    KEY_FLAG("is_lag", TOP, is_lag),
    KEY_FLAG("single_port", TOP, single_port),
    KEY_FLAG("recovery", TOP, recovery),
    KEY_U32("sf_pool_percent", TOP, sf_pool_percent, 0, 100, NULL),
    KEY_FLAG("sf_pool_force_destroy", TOP, sf_pool_force_destroy),
    KEY_SECTION("static_pf", TOP, static_pf, &static_pf_section),
    KEY_SECTION("vf", TOP, vf, &vf_section),
    /* v1.9 spellings of static_pf.mac_base and static_pf.features. */
    KEY_MAC("mac_base", TOP, static_pf.mac_base, static_pf.has_mac_base),
    KEY_FEATURES("features", TOP, static_pf.features),
    KEY_STRING("lm_prov", TOP, lm_prov, check_lm_prov),
    KEY_U32("dpa_core_start", TOP, dpa_core_start, 0, CONF_DPA_CORE_MAX, NULL),
    KEY_U32("dpa_core_end", TOP, dpa_core_end, 0, CONF_DPA_CORE_MAX, NULL),
    KEY_U32("eth_vq_workers", TOP, eth_vq_workers, 1, 24, NULL),
    KEY_U32("admin_cmd_workers", TOP, admin_cmd_workers, 1, 16, NULL),
    KEY_TRISTATE("mrg_rxbuf", TOP, mrg_rxbuf),
    KEY_TRISTATE("packed_vq", TOP, packed_vq),
    KEY_STRING("state_dir", TOP, state_dir, check_path),
    KEY_STRING("recovery_dir", TOP, recovery_dir, check_path),
    KEY_STRING("providers_dir", TOP, providers_dir, check_path),
    KEY_FLAG("provider_sw_fallback", TOP, provider_sw_fallback),
    KEY_STRING("rpc_socket", TOP, rpc_socket, check_path),
    KEY_STRING("rpc_group", TOP, rpc_group, check_group),
    KEY_U32("rpc_idle_timeout", TOP, rpc_idle_timeout, 0, 86400, NULL),
    KEY_SECTION("emulation", TOP, emu, &emu_section),
    KEY_SECTION("host", TOP, host, &host_section),
    KEY_SECTION("metrics", TOP, metrics, &metrics_section),
    KEY_SECTION("vhost_socket", TOP, vhost_socket, &vhost_socket_section),
};
#undef TOP

static const struct conf_section top_section = SECTION("", top_keys);
#undef SECTION

#define CONF_N_KEYS                                                                                \
    (VN_ARRAY_SIZE(top_keys) + VN_ARRAY_SIZE(static_pf_keys) + VN_ARRAY_SIZE(vf_keys) +            \
     VN_ARRAY_SIZE(emu_keys) + VN_ARRAY_SIZE(host_keys) + VN_ARRAY_SIZE(metrics_keys) +          \
     VN_ARRAY_SIZE(vhost_socket_keys))

/* ---- error collection ------------------------------------------------ */

struct conf_parser {
    struct vn_conf_errors *errs;                /* may be NULL */
    unsigned n_errors;                          /* every problem found, recorded or not */
    const struct conf_key *failed[CONF_N_KEYS]; /* keys whose value was rejected */
    unsigned n_failed;
};

static void conf_error(struct conf_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records one problem, or counts it as dropped when the list is full. */
static void conf_error(struct conf_parser *p, const char *fmt, ...)
{
    struct vn_conf_errors *errs = p->errs;
    va_list ap;

    p->n_errors++;
    if (!errs)
        return;
    if (errs->n >= VN_CONF_MAX_ERRORS) {
        errs->dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(errs->msg[errs->n++], VN_CONF_ERROR_LEN, fmt, ap);
    va_end(ap);
}

static void mark_failed(struct conf_parser *p, const struct conf_key *k)
{
    if (p->n_failed < VN_ARRAY_SIZE(p->failed))
        p->failed[p->n_failed++] = k;
}

/* True when 'name' of 'sec' was not rejected (given and valid, or not given). */
static bool key_ok(const struct conf_parser *p, const struct conf_section *sec, const char *name)
{
    for (unsigned i = 0; i < p->n_failed; i++)
        if (p->failed[i] >= sec->keys && p->failed[i] < sec->keys + sec->n_keys &&
            !strcmp(p->failed[i]->name, name))
            return false;
    return true;
}

/* At most CONF_ECHO_MAX characters of 's' for a message (vn_str_echo()). */
static const char *echo(const char *s, char *buf, size_t size)
{
    return vn_str_echo(s, CONF_ECHO_MAX, buf, size);
}

/* Describes a JSON value for "..., got <value>". */
static const char *describe(const cJSON *v, char *buf, size_t size)
{
    char text[CONF_ECHO_MAX + 4];

    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (isfinite(d) && floor(d) == d && fabs(d) < 1e15)
            snprintf(buf, size, "%.0f", d);
        else
            snprintf(buf, size, "%g", d);
    } else if (cJSON_IsString(v)) {
        snprintf(buf, size, "\"%s\"", echo(v->valuestring, text, sizeof(text)));
    } else if (cJSON_IsTrue(v)) {
        snprintf(buf, size, "true");
    } else if (cJSON_IsFalse(v)) {
        snprintf(buf, size, "false");
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, size, "null");
    } else if (cJSON_IsArray(v)) {
        snprintf(buf, size, "an array");
    } else {
        snprintf(buf, size, "an object");
    }
    return buf;
}

/* ---- decoding -------------------------------------------------------- */

/* 0/1 or false/true; -EINVAL otherwise. */
static int json_flag(const cJSON *v, bool *out)
{
    double d;

    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    if (vn_json_get_whole(v, &d) < 0 || (d != 0 && d != 1))
        return -EINVAL;
    *out = d == 1;
    return 0;
}

/* "Auto"/"auto", a "0x..." or decimal string, or a whole number; -EINVAL otherwise. */
static int json_features(const cJSON *v, bool *is_auto, uint64_t *mask)
{
    uint64_t m;

    if (cJSON_IsString(v) && (!strcmp(v->valuestring, "Auto") || !strcmp(v->valuestring, "auto"))) {
        *is_auto = true;
        *mask = 0;
        return 0;
    }
    if (vn_json_get_u64(v, &m) < 0)
        return -EINVAL;
    *is_auto = false;
    *mask = m;
    return 0;
}

static void parse_object(struct conf_parser *p, const struct conf_section *sec, const cJSON *obj,
                         void *base);

/*
 * Decodes value 'v' of key 'k' into the struct at 'base'.  A rejected value is
 * recorded as an error and leaves the field as it was.
 */
static void decode_key(struct conf_parser *p, const struct conf_section *sec,
                       const struct conf_key *k, const cJSON *v, void *base)
{
    char *field = (char *)base + k->offset;
    const char *rule = NULL;
    char why[96] = "", got[CONF_ECHO_MAX + 8];
    bool flag, is_auto;
    uint64_t mask;
    uint32_t u32;
    double d;

    switch (k->type) {
    case CONF_T_STRING:
        if (!cJSON_IsString(v)) {
            rule = "must be a string";
        } else if (strlen(v->valuestring) >= k->size) {
            snprintf(why, sizeof(why), "must be at most %zu characters", k->size - 1);
        } else if (!(k->check && (rule = k->check(v->valuestring)))) {
            vn_strlcpy(field, v->valuestring, k->size);
        }
        break;
    case CONF_T_FLAG:
    case CONF_T_TRISTATE:
        if (json_flag(v, &flag) < 0)
            rule = "must be 0, 1, true or false";
        else if (k->type == CONF_T_FLAG)
            *(bool *)(void *)field = flag;
        else
            *(int *)(void *)field = flag;
        break;
    case CONF_T_U32:
        if (vn_json_get_whole(v, &d) < 0 || d < k->min || d > k->max) {
            snprintf(why, sizeof(why), "must be an integer in [%" PRIu32 ", %" PRIu32 "]", k->min,
                     k->max);
            break;
        }
        u32 = (uint32_t)d;
        if (!(k->check && (rule = k->check(&u32))))
            *(uint32_t *)(void *)field = u32;
        break;
    case CONF_T_FEATURES:
    case CONF_T_MASK:
        if (json_features(v, &is_auto, &mask) < 0) {
            rule = "must be \"Auto\", a hex string like \"0x230047082b\" or a whole number";
        } else if (k->type == CONF_T_FEATURES) {
            struct vn_conf_features *f = (void *)field;

            /* 0 means "chosen by the controller" (the v1.9 default). */
            f->is_auto = is_auto || mask == 0;
            f->mask = f->is_auto ? 0 : mask;
        } else {
            if (is_auto)
                mask = CONF_EMU_DEFAULT_FEATURES;
            if (!(k->check && (rule = k->check(&mask))))
                *(uint64_t *)(void *)field = mask;
        }
        break;
    case CONF_T_MAC:
        if (!cJSON_IsString(v) || vn_parse_mac(v->valuestring, (uint8_t *)field) < 0)
            rule = "must be a MAC address like \"aa:bb:cc:dd:ee:ff\"";
        break;
    case CONF_T_SECTION:
        if (!cJSON_IsObject(v))
            rule = "must be an object";
        else
            parse_object(p, k->section, v, field);
        break;
    }
    if (rule || why[0]) {
        mark_failed(p, k);
        conf_error(p, "%s%s: %s, got %s", sec->prefix, k->name, rule ? rule : why,
                   describe(v, got, sizeof(got)));
        return;
    }
    if (k->has_flag)
        *(bool *)(void *)((char *)base + k->has_offset) = true;
}

/* Decodes every member of 'obj' with the keys of 'sec' into the struct at 'base'. */
static void parse_object(struct conf_parser *p, const struct conf_section *sec, const cJSON *obj,
                         void *base)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, obj) {
        const struct conf_key *k = NULL;
        const cJSON *prev;
        char name[CONF_ECHO_MAX + 4];

        for (prev = obj->child; prev != item; prev = prev->next)
            if (!strcmp(prev->string, item->string))
                break;
        if (prev != item) {
            conf_error(p, "%s%s: given more than once", sec->prefix,
                       echo(item->string, name, sizeof(name)));
            continue;
        }
        for (size_t i = 0; i < sec->n_keys && !k; i++)
            if (!strcmp(sec->keys[i].name, item->string))
                k = &sec->keys[i];
        if (!k) {
            conf_error(p, "%s%s: unknown key", sec->prefix, echo(item->string, name, sizeof(name)));
            continue;
        }
        decode_key(p, sec, k, item, base);
    }
}

/* Member 'name' of 'obj', or NULL when absent or when 'obj' is not an object. */
static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

/*
 * Rules between keys.  A rule is checked only when the keys it reads were
 * accepted, so one bad value does not cause a second, misleading error.
 */
static void check_consistency(struct conf_parser *p, const cJSON *root, struct vn_conf *c)
{
    const cJSON *spf = member(root, "static_pf"), *vf = member(root, "vf");
    const struct vn_emu_profile *emu = &c->emu;
    bool has_start = member(root, "dpa_core_start"), has_end = member(root, "dpa_core_end");

    if (c->has_ib_dev_lag && (c->has_ib_dev_p0 || c->has_ib_dev_p1))
        conf_error(p, "ib_dev_lag: cannot be set together with %s",
                   c->has_ib_dev_p0 ? "ib_dev_p0" : "ib_dev_p1");
    if (c->single_port && c->is_lag)
        conf_error(p, "single_port: cannot be 1 together with is_lag (mutually exclusive)");

    if (member(root, "mac_base") && member(spf, "mac_base"))
        conf_error(p, "mac_base: cannot be set together with static_pf.mac_base (same setting)");
    if (member(root, "features") && member(spf, "features"))
        conf_error(p, "features: cannot be set together with static_pf.features (same setting)");

    if (c->vf.has_mac_base && !member(vf, "vfs_per_pf"))
        conf_error(p, "vf.vfs_per_pf: mandatory when vf.mac_base is set");
    /*
     * VFs exist only on static PFs: without any (num_pf 0, the default) the
     * vf section has nothing to apply to, and the vendor's example, written
     * for a NIC with NUM_VF=126, still loads.
     */
    if (c->vf.has_vfs_per_pf && emu->num_pf > 0 && key_ok(p, &emu_section, "num_vf") &&
        key_ok(p, &emu_section, "num_pf") && c->vf.vfs_per_pf > emu->num_vf)
        conf_error(p,
                   "vf.vfs_per_pf: must not be more than emulation.num_vf, the VFs reserved "
                   "per PF (%" PRIu32 " > %" PRIu32 ")",
                   c->vf.vfs_per_pf, emu->num_vf);

    if (has_start != has_end) {
        conf_error(p, "%s: mandatory when %s is set", has_start ? "dpa_core_end" : "dpa_core_start",
                   has_start ? "dpa_core_start" : "dpa_core_end");
    } else if (has_start && key_ok(p, &top_section, "dpa_core_start") &&
               key_ok(p, &top_section, "dpa_core_end")) {
        if (c->dpa_core_start > c->dpa_core_end)
            conf_error(p,
                       "dpa_core_start: must not be greater than dpa_core_end (%" PRIu32
                       " > %" PRIu32 ")",
                       c->dpa_core_start, c->dpa_core_end);
        else
            c->has_dpa_cores = true;
    }

    if (!strcmp(c->host.type, "libvirt")) {
        if (!c->host.domain[0] && key_ok(p, &host_section, "domain"))
            conf_error(p, "host.domain: mandatory when host.type is \"libvirt\"");
        if (c->host.qmp_socket[0])
            conf_error(p, "host.qmp_socket: cannot be set together with host.type \"libvirt\" "
                          "(libvirt owns the VM's monitor)");
    } else {
        if (!strcmp(c->host.type, "qmp") && !c->host.qmp_socket[0] &&
            key_ok(p, &host_section, "qmp_socket"))
            conf_error(p, "host.qmp_socket: mandatory when host.type is \"qmp\"");
        if (c->host.uri[0] || c->host.domain[0] || c->host.persistent)
            conf_error(p, "host.%s: only with host.type \"libvirt\"",
                       c->host.uri[0] ? "uri" : c->host.domain[0] ? "domain" : "persistent");
    }

    if ((uint64_t)emu->num_pf * emu->num_vf > VN_EMU_MAX_VF_TOTAL)
        conf_error(p,
                   "emulation.num_vf: num_pf x num_vf must not be more than %d (%" PRIu32
                   " x %" PRIu32 " = %" PRIu64 ")",
                   VN_EMU_MAX_VF_TOTAL, emu->num_pf, emu->num_vf,
                   (uint64_t)emu->num_pf * emu->num_vf);
}

int vn_conf_parse(const char *text, size_t len, struct vn_conf *conf, struct vn_conf_errors *errs)
{
    struct conf_parser p = { .errs = errs };
    char jerr[VN_CONF_ERROR_LEN], got[32];
    struct vn_conf c;
    cJSON *root;

    if (errs) {
        errs->n = 0;
        errs->dropped = 0;
    }
    vn_conf_init_defaults(&c);
    root = vn_json_parse_relaxed(text, len, jerr, sizeof(jerr));
    if (!root) {
        conf_error(&p, "%s", jerr);
        return -EINVAL;
    }
    if (!cJSON_IsObject(root)) {
        conf_error(&p, "top level: must be a JSON object, got %s",
                   describe(root, got, sizeof(got)));
        cJSON_Delete(root);
        return -EINVAL;
    }
    parse_object(&p, &top_section, root, &c);
    check_consistency(&p, root, &c);
    cJSON_Delete(root);
    if (p.n_errors)
        return -EINVAL;
    *conf = c;
    return 0;
}

int vn_conf_load(const char *path, struct vn_conf *conf, struct vn_conf_errors *errs)
{
    struct conf_parser p = { .errs = errs };
    size_t len;
    char *text;
    int ret;

    ret = vn_read_file(path, VN_CONF_MAX_FILE_SIZE, &text, &len);
    if (ret < 0) {
        if (errs) {
            errs->n = 0;
            errs->dropped = 0;
        }
        if (ret == -EFBIG)
            conf_error(&p, "cannot read the file: larger than %d bytes", VN_CONF_MAX_FILE_SIZE);
        else
            conf_error(&p, "cannot read the file: %s", strerror(-ret));
        return ret;
    }
    ret = vn_conf_parse(text, len, conf, errs);
    free(text);
    return ret;
}

/* ---- printing -------------------------------------------------------- */

/* Adds a feature mask as the vendor writes it: "Auto" or a "0x..." string. */
static int add_features(cJSON *obj, const struct vn_conf_features *f)
{
    return f->is_auto ? vn_json_add_str(obj, "features", "Auto")
                      : vn_json_add_hex(obj, "features", f->mask);
}

static int add_mac(cJSON *obj, const char *name, const uint8_t mac[VN_MAC_LEN])
{
    char buf[VN_MAC_STR_LEN];

    vn_format_mac(mac, buf);
    return vn_json_add_str(obj, name, buf);
}

/*
 * Keys that are not set and have no value of their own (mac_base without a
 * value, dpa cores, "auto" worker counts, mrg_rxbuf/packed_vq) are left out,
 * so the output parses back to the same configuration.  The LAG device is
 * shown instead of the port devices when LAG is in use (they cannot be given
 * together).
 */
cJSON *vn_conf_to_json(const struct vn_conf *conf)
{
    cJSON *root = cJSON_CreateObject(), *spf = cJSON_CreateObject(), *vf = cJSON_CreateObject();
    cJSON *emu = cJSON_CreateObject();
    const struct vn_emu_profile *e = &conf->emu;
    int fails = 0;

    if (conf->is_lag || conf->has_ib_dev_lag) {
        fails += vn_json_add_str(root, "ib_dev_lag", conf->ib_dev_lag) < 0;
    } else {
        fails += vn_json_add_str(root, "ib_dev_p0", conf->ib_dev_p0) < 0;
        fails += vn_json_add_str(root, "ib_dev_p1", conf->ib_dev_p1) < 0;
    }
    fails += vn_json_add_str(root, "ib_dev_for_static_pf", conf->ib_dev_for_static_pf) < 0;
    fails += vn_json_add_num(root, "is_lag", conf->is_lag) < 0;
    fails += vn_json_add_num(root, "single_port", conf->single_port) < 0;
    fails += vn_json_add_num(root, "recovery", conf->recovery) < 0;
    fails += vn_json_add_u64(root, "sf_pool_percent", conf->sf_pool_percent) < 0;
    fails += vn_json_add_num(root, "sf_pool_force_destroy", conf->sf_pool_force_destroy) < 0;

    if (conf->static_pf.has_mac_base)
        fails += add_mac(spf, "mac_base", conf->static_pf.mac_base) < 0;
    fails += add_features(spf, &conf->static_pf.features) < 0;
    if (conf->static_pf.vhost_server_path_prefix[0])
        fails += vn_json_add_str(spf, "vhost_server_path_prefix",
                                 conf->static_pf.vhost_server_path_prefix) < 0;
    fails += vn_json_add(root, "static_pf", spf) < 0;

    if (conf->vf.has_mac_base)
        fails += add_mac(vf, "mac_base", conf->vf.mac_base) < 0;
    fails += add_features(vf, &conf->vf.features) < 0;
    if (conf->vf.has_vfs_per_pf)
        fails += vn_json_add_u64(vf, "vfs_per_pf", conf->vf.vfs_per_pf) < 0;
    if (conf->vf.vhost_server_path_prefix[0])
        fails += vn_json_add_str(vf, "vhost_server_path_prefix", conf->vf.vhost_server_path_prefix) < 0;
    fails += vn_json_add(root, "vf", vf) < 0;

    fails += vn_json_add_str(root, "lm_prov", conf->lm_prov) < 0;
    if (conf->has_dpa_cores) {
        fails += vn_json_add_u64(root, "dpa_core_start", conf->dpa_core_start) < 0;
        fails += vn_json_add_u64(root, "dpa_core_end", conf->dpa_core_end) < 0;
    }
    if (conf->eth_vq_workers)
        fails += vn_json_add_u64(root, "eth_vq_workers", conf->eth_vq_workers) < 0;
    if (conf->admin_cmd_workers)
        fails += vn_json_add_u64(root, "admin_cmd_workers", conf->admin_cmd_workers) < 0;
    if (conf->mrg_rxbuf >= 0)
        fails += vn_json_add_num(root, "mrg_rxbuf", conf->mrg_rxbuf) < 0;
    if (conf->packed_vq >= 0)
        fails += vn_json_add_num(root, "packed_vq", conf->packed_vq) < 0;

    fails += vn_json_add_str(root, "state_dir", conf->state_dir) < 0;
    fails += vn_json_add_str(root, "recovery_dir", conf->recovery_dir) < 0;
    fails += vn_json_add_str(root, "providers_dir", conf->providers_dir) < 0;
    fails += vn_json_add_num(root, "provider_sw_fallback", conf->provider_sw_fallback) < 0;
    fails += vn_json_add_str(root, "rpc_socket", conf->rpc_socket) < 0;
    fails += vn_json_add_str(root, "rpc_group", conf->rpc_group) < 0;
    fails += vn_json_add_u64(root, "rpc_idle_timeout", conf->rpc_idle_timeout) < 0;

    fails += vn_json_add_u64(emu, "hotplug_ports", e->hotplug_ports) < 0;
    fails += vn_json_add_u64(emu, "num_pf", e->num_pf) < 0;
    fails += vn_json_add_u64(emu, "num_vf", e->num_vf) < 0;
    fails += vn_json_add_u64(emu, "num_msix", e->num_msix) < 0;
    fails += vn_json_add_u64(emu, "pf_total_sf", e->pf_total_sf) < 0;
    fails += vn_json_add_u64(emu, "sf_num_base", e->sf_num_base) < 0;
    fails += vn_json_add_u64(emu, "max_virtq", e->max_virtq) < 0;
    fails += vn_json_add_u64(emu, "max_queue_size", e->max_queue_size) < 0;
    fails += vn_json_add_hex(emu, "features", e->features) < 0;
    fails += vn_json_add_hex(emu, "worker_cpu_mask", e->worker_cpu_mask) < 0;
    fails += vn_json_add_str(emu, "serial", e->serial) < 0;
    fails += vn_json_add_str(emu, "backend", e->backend) < 0;
    fails += vn_json_add(root, "emulation", emu) < 0;
    if (conf->host.qmp_socket[0]) {
        cJSON *host = cJSON_CreateObject();

        if (conf->host.type[0])
            fails += vn_json_add_str(host, "type", conf->host.type) < 0;
        fails += vn_json_add_str(host, "qmp_socket", conf->host.qmp_socket) < 0;
        fails += vn_json_add_str(host, "root_ports", conf->host.root_ports) < 0;
        fails += vn_json_add_u64(host, "timeout_ms", conf->host.timeout_ms) < 0;
        fails += vn_json_add(root, "host", host) < 0;
    } else if (!strcmp(conf->host.type, "libvirt")) {
        cJSON *host = cJSON_CreateObject();

        fails += vn_json_add_str(host, "type", conf->host.type) < 0;
        if (conf->host.uri[0])
            fails += vn_json_add_str(host, "uri", conf->host.uri) < 0;
        fails += vn_json_add_str(host, "domain", conf->host.domain) < 0;
        fails += vn_json_add_num(host, "persistent", conf->host.persistent) < 0;
        fails += vn_json_add_u64(host, "timeout_ms", conf->host.timeout_ms) < 0;
        fails += vn_json_add(root, "host", host) < 0;
    }
    if (conf->metrics.listen[0]) {
        cJSON *met = cJSON_CreateObject();

        fails += vn_json_add_str(met, "listen", conf->metrics.listen) < 0;
        fails += vn_json_add_u64(met, "connection_limit", conf->metrics.connection_limit) < 0;
        fails += vn_json_add_u64(met, "per_ip_limit", conf->metrics.per_ip_limit) < 0;
        fails += vn_json_add_u64(met, "timeout_s", conf->metrics.timeout_s) < 0;
        fails += vn_json_add(root, "metrics", met) < 0;
    }
    if (conf->vhost_socket.group[0] || conf->vhost_socket.mode[0]) {
        cJSON *vs = cJSON_CreateObject();

        fails += vn_json_add_str(vs, "group", conf->vhost_socket.group) < 0;
        fails += vn_json_add_str(vs, "mode", conf->vhost_socket.mode) < 0;
        fails += vn_json_add(root, "vhost_socket", vs) < 0;
    }

    if (fails) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
