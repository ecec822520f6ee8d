/*
 * log.c - per-module logging; see log.h.
 */
#include <config.h>

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const module_names[VN_LOG_N_MODULES] = {
#define VN_LOG_MOD_NAME(e, s) [VN_LOG_##e] = s,
    VN_LOG_MODULES(VN_LOG_MOD_NAME)
#undef VN_LOG_MOD_NAME
};

static const char *const level_names[VN_LL_N_LEVELS] = {
#define VN_LOG_LVL_NAME(e, s, p) [VN_LL_##e] = s,
    VN_LOG_LEVELS(VN_LOG_LVL_NAME)
#undef VN_LOG_LVL_NAME
};

static const int level_prio[VN_LL_N_LEVELS] = {
#define VN_LOG_LVL_PRIO(e, s, p) [VN_LL_##e] = p,
    VN_LOG_LEVELS(VN_LOG_LVL_PRIO)
#undef VN_LOG_LVL_PRIO
};

static int levels[VN_LOG_N_MODULES] = {
#define VN_LOG_MOD_DEFAULT(e, s) [VN_LOG_##e] = VN_LL_INFO,
    VN_LOG_MODULES(VN_LOG_MOD_DEFAULT)
#undef VN_LOG_MOD_DEFAULT
};

static bool log_to_stderr = true;
static bool syslog_open;
/* stderr is connected to the journal (systemd sets JOURNAL_STREAM): prefix
 * lines with "<priority>" instead of a timestamp, so levels survive. */
static bool stderr_is_journal;
static pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;

void vn_log_open(const char *ident, bool to_stderr)
{
    log_to_stderr = to_stderr;
    stderr_is_journal = to_stderr && getenv("JOURNAL_STREAM") != NULL;
    if (!to_stderr) {
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
        syslog_open = true;
    }
}

void vn_log_close(void)
{
    if (syslog_open) {
        closelog();
        syslog_open = false;
    }
    log_to_stderr = true;
}

bool vn_log_enabled(enum vn_log_module mod, enum vn_log_level lvl)
{
    if ((unsigned)mod >= VN_LOG_N_MODULES)
        return false;
    return (int)lvl <= __atomic_load_n(&levels[mod], __ATOMIC_RELAXED);
}

void vn_log(enum vn_log_module mod, enum vn_log_level lvl, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!vn_log_enabled(mod, lvl) || (unsigned)lvl >= VN_LL_N_LEVELS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (!log_to_stderr) {
        syslog(level_prio[lvl], "[%s] %s: %s", module_names[mod], level_names[lvl], msg);
        return;
    }

    struct timespec ts;
    struct tm tm;
    char stamp[32];

    if (stderr_is_journal) {
        pthread_mutex_lock(&stderr_lock);
        fprintf(stderr, "<%d>[%s] %s: %s\n", level_prio[lvl], module_names[mod], level_names[lvl],
                msg);
        pthread_mutex_unlock(&stderr_lock);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    pthread_mutex_lock(&stderr_lock);
    fprintf(stderr, "%s.%03ld [%s] %s: %s\n", stamp, ts.tv_nsec / 1000000L,
            module_names[mod], level_names[lvl], msg);
    pthread_mutex_unlock(&stderr_lock);
}

static int lookup(const char *const *names, int n, const char *name)
{
    if (!name)
        return -EINVAL;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return -EINVAL;
}

int vn_log_module_from_name(const char *name)
{
    return lookup(module_names, VN_LOG_N_MODULES, name);
}

int vn_log_level_from_name(const char *name)
{
    /* Common aliases users type. */
    if (name && (!strcmp(name, "err") || !strcmp(name, "ERROR") || !strcmp(name, "ERR")))
        return VN_LL_ERR;
    if (name && (!strcmp(name, "warning") || !strcmp(name, "WARN") || !strcmp(name, "WARNING")))
        return VN_LL_WARN;
    if (name && !strcmp(name, "INFO"))
        return VN_LL_INFO;
    if (name && !strcmp(name, "DEBUG"))
        return VN_LL_DEBUG;
    return lookup(level_names, VN_LL_N_LEVELS, name);
}

const char *vn_log_module_name(enum vn_log_module mod)
{
    return (unsigned)mod < VN_LOG_N_MODULES ? module_names[mod] : "?";
}

const char *vn_log_level_name(enum vn_log_level lvl)
{
    return (unsigned)lvl < VN_LL_N_LEVELS ? level_names[lvl] : "?";
}

enum vn_log_level vn_log_get_level(enum vn_log_module mod)
{
    return (enum vn_log_level)__atomic_load_n(&levels[mod], __ATOMIC_RELAXED);
}

void vn_log_set_level(enum vn_log_module mod, enum vn_log_level lvl)
{
    if ((unsigned)mod < VN_LOG_N_MODULES && (unsigned)lvl < VN_LL_N_LEVELS)
        __atomic_store_n(&levels[mod], (int)lvl, __ATOMIC_RELAXED);
}

void vn_log_set_all_levels(enum vn_log_level lvl)
{
    for (int i = 0; i < VN_LOG_N_MODULES; i++)
        vn_log_set_level((enum vn_log_module)i, lvl);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool vn_ratelimit_pass(struct vn_ratelimit *rl, uint64_t *suppressed)
{
    static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
    uint64_t now = now_ns();
    bool pass;

    pthread_mutex_lock(&rl_lock);
    if (!rl->last_ns)
        rl->last_ns = now;
    if (rl->per_sec && now > rl->last_ns) {
        uint64_t add = (now - rl->last_ns) * rl->per_sec / 1000000000ull;

        if (add) {
            rl->tokens = (uint32_t)((rl->tokens + add > rl->burst) ? rl->burst : rl->tokens + add);
            rl->last_ns = now;
        }
    }
    pass = rl->tokens > 0;
    if (pass) {
        rl->tokens--;
        *suppressed = rl->suppressed;
        rl->suppressed = 0;
    } else {
        rl->suppressed++;
    }
    pthread_mutex_unlock(&rl_lock);
    return pass;
}
