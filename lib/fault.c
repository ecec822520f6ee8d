/*
 * fault.c - named fault points; see fault.h.
 */
#include <config.h>

#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define FAULT_NAME_MAX 32

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char env_points[256];        /* VIRTNET_FAULT, read once */
static char armed[FAULT_NAME_MAX];  /* one-shot point, "" when none */
static unsigned armed_skip;         /* passes through 'armed' that still succeed */
static int any_armed;               /* fast path: nothing armed at all */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void read_env(void)
{
    const char *e = getenv("VIRTNET_FAULT");

    if (e && *e && vn_strlcpy(env_points, e, sizeof(env_points)) == 0)
        __atomic_store_n(&any_armed, 1, __ATOMIC_RELEASE);
}

/* True when 'list' (comma-separated) names 'point'. */
static bool list_has(const char *list, const char *point)
{
    size_t len = strlen(point);

    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n == len && !strncmp(p, point, len))
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

bool vn_fault(const char *point)
{
    bool hit = false;

    pthread_once(&env_once, read_env);
    if (!__atomic_load_n(&any_armed, __ATOMIC_ACQUIRE))
        return false;
    pthread_mutex_lock(&lock);
    if (list_has(env_points, point)) {
        hit = true;
    } else if (!strcmp(armed, point)) {
        if (armed_skip) {
            armed_skip--;
        } else {
            hit = true;
            armed[0] = '\0';
        }
    }
    pthread_mutex_unlock(&lock);
    if (hit)
        VN_WARN(MAIN, "fault injected at '%s'", point);
    return hit;
}

int vn_fault_arm(const char *point)
{
    char name[FAULT_NAME_MAX];
    const char *at = strchr(point, '@');
    uint64_t nth = 1;

    if (at) {
        if ((size_t)(at - point) >= sizeof(name) ||
            vn_parse_u64(at + 1, 10, 1, VN_FAULT_NTH_MAX, &nth) < 0)
            return -EINVAL;
        memcpy(name, point, (size_t)(at - point));
        name[at - point] = '\0';
    } else if (vn_strlcpy(name, point, sizeof(name)) < 0) {
        return -EINVAL;
    }
    if (!vn_is_safe_filename(name, FAULT_NAME_MAX - 1))
        return -EINVAL;
    pthread_once(&env_once, read_env);
    pthread_mutex_lock(&lock);
    memcpy(armed, name, sizeof(armed));
    armed_skip = (unsigned)(nth - 1);
    __atomic_store_n(&any_armed, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return 0;
}
