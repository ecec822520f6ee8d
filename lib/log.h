/*
 * log.h - per-module logging for the controller, its providers and tools.
 *
 * Every line names its module; each module has its own level, changeable at
 * runtime (`virtnet log`).  Lines go to syslog (the journal) or, in the
 * foreground, to stderr.  Rate-limited variants exist for anything a guest,
 * a vhost-user peer or an RPC client can trigger.
 *
 * Thread safety: vn_log() may be called from any thread; level changes are
 * plain relaxed atomic stores read by the datapath without locking.
 */
#ifndef VN_LOG_H
#define VN_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* X(enum suffix, name shown to users) */
#define VN_LOG_MODULES(X)          \
    X(MAIN, "main")                \
    X(CONF, "config")              \
    X(RPC, "rpc")                  \
    X(DEV, "device")               \
    X(SF, "sf")                    \
    X(VHOST, "vhost")              \
    X(DP, "datapath")              \
    X(PROV, "provider")            \
    X(REC, "recovery")             \
    X(HOST, "host")                \
    X(UPD, "update")

enum vn_log_module {
#define VN_LOG_MOD_ENUM(e, s) VN_LOG_##e,
    VN_LOG_MODULES(VN_LOG_MOD_ENUM)
#undef VN_LOG_MOD_ENUM
    VN_LOG_N_MODULES
};

/* X(enum suffix, name, syslog priority) - most to least severe. */
#define VN_LOG_LEVELS(X)            \
    X(ERR, "error", LOG_ERR)        \
    X(WARN, "warn", LOG_WARNING)    \
    X(INFO, "info", LOG_INFO)       \
    X(DEBUG, "debug", LOG_DEBUG)

enum vn_log_level {
#define VN_LOG_LVL_ENUM(e, s, p) VN_LL_##e,
    VN_LOG_LEVELS(VN_LOG_LVL_ENUM)
#undef VN_LOG_LVL_ENUM
    VN_LL_N_LEVELS
};

/* Starts logging: to stderr when 'to_stderr', to syslog as 'ident' otherwise. */
void vn_log_open(const char *ident, bool to_stderr);
void vn_log_close(void);

void vn_log(enum vn_log_module mod, enum vn_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when a line of 'lvl' for 'mod' would be written. */
bool vn_log_enabled(enum vn_log_module mod, enum vn_log_level lvl);

/* Name <-> value lookups; return -EINVAL for an unknown name. */
int vn_log_module_from_name(const char *name);
int vn_log_level_from_name(const char *name);
const char *vn_log_module_name(enum vn_log_module mod);
const char *vn_log_level_name(enum vn_log_level lvl);

enum vn_log_level vn_log_get_level(enum vn_log_module mod);
void vn_log_set_level(enum vn_log_module mod, enum vn_log_level lvl);
void vn_log_set_all_levels(enum vn_log_level lvl);

#define VN_ERR(mod, ...) vn_log(VN_LOG_##mod, VN_LL_ERR, __VA_ARGS__)
#define VN_WARN(mod, ...) vn_log(VN_LOG_##mod, VN_LL_WARN, __VA_ARGS__)
#define VN_INFO(mod, ...) vn_log(VN_LOG_##mod, VN_LL_INFO, __VA_ARGS__)
#define VN_DBG(mod, ...)                                    \
    do {                                                    \
        if (vn_log_enabled(VN_LOG_##mod, VN_LL_DEBUG))      \
            vn_log(VN_LOG_##mod, VN_LL_DEBUG, __VA_ARGS__); \
    } while (0)

/*
 * A token bucket for rate-limited logging: at most 'burst' lines, refilled at
 * 'per_sec' lines a second; suppressed lines are counted and reported with the
 * next line that passes.  One static instance per call site.
 */
struct vn_ratelimit {
    uint32_t per_sec;
    uint32_t burst;
    uint32_t tokens;      /* lines that may pass now */
    uint64_t last_ns;     /* last refill, CLOCK_MONOTONIC */
    uint64_t suppressed;  /* lines dropped since the last one that passed */
};

#define VN_RATELIMIT_INIT(per_sec_, burst_) \
    { .per_sec = (per_sec_), .burst = (burst_), .tokens = (burst_) }

/* Returns true when a line may pass; '*suppressed' gets the count dropped since. */
bool vn_ratelimit_pass(struct vn_ratelimit *rl, uint64_t *suppressed);

/* A line through the token bucket 'rl' (a pointer): one per object, e.g. per device. */
#define VN_LOG_RL_ON(rl, mod, lvl, ...)                                     \
    do {                                                                    \
        uint64_t vn_sup_;                                                   \
        if (vn_log_enabled(VN_LOG_##mod, lvl) &&                            \
            vn_ratelimit_pass((rl), &vn_sup_)) {                            \
            if (vn_sup_)                                                    \
                vn_log(VN_LOG_##mod, lvl, "(%llu similar lines suppressed)", \
                       (unsigned long long)vn_sup_);                        \
            vn_log(VN_LOG_##mod, lvl, __VA_ARGS__);                         \
        }                                                                   \
    } while (0)

/* A line through a bucket of its own call site: 10 at once, then 5 a second. */
#define VN_LOG_RL(mod, lvl, ...)                                            \
    do {                                                                    \
        static struct vn_ratelimit vn_rl_ = VN_RATELIMIT_INIT(5, 10);        \
        VN_LOG_RL_ON(&vn_rl_, mod, lvl, __VA_ARGS__);                       \
    } while (0)

#define VN_ERR_RL(mod, ...) VN_LOG_RL(mod, VN_LL_ERR, __VA_ARGS__)
#define VN_WARN_RL(mod, ...) VN_LOG_RL(mod, VN_LL_WARN, __VA_ARGS__)
#define VN_INFO_RL(mod, ...) VN_LOG_RL(mod, VN_LL_INFO, __VA_ARGS__)

#endif /* VN_LOG_H */
