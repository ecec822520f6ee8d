/*
 * util.c - strict parsing and string helpers; see util.h.
 */
#include <config.h>

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int vn_parse_u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *p = s;
    char *end;
    unsigned long long v;

    if (!s || !*s)
        return -EINVAL;
    /* strtoull accepts leading spaces and signs; we do not. */
    if (!isxdigit((unsigned char)*p))
        return -EINVAL;
    if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        if (!isxdigit((unsigned char)*p))
            return -EINVAL;
    }
    /* strtoull(base 16) would skip one more "0x": reject "0x0x1". */
    if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return -EINVAL;
    errno = 0;
    v = strtoull(p, &end, base);
    if (end == p || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int vn_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * The six bytes of a MAC written "aa:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff" or
 * "aabbccddeeff" (the forms the vendor's controller takes: it checks only the
 * length), hex digits of either case, one separator throughout.  On success
 * writes the 12 digits as written to 'digits' (when not NULL).
 */
static int mac_digits(const char *s, char digits[12])
{
    size_t len = s ? strlen(s) : 0;
    char sep = len == 17 ? s[2] : 0;

    if (len != 12 && !(len == 17 && (sep == ':' || sep == '-')))
        return -EINVAL;
    for (int i = 0, d = 0; i < (int)len; i++) {
        if (sep && i % 3 == 2) {
            if (s[i] != sep)
                return -EINVAL;
            continue;
        }
        if (hexval(s[i]) < 0)
            return -EINVAL;
        if (digits)
            digits[d] = s[i];
        d++;
    }
    return 0;
}

int vn_parse_mac(const char *s, uint8_t mac[VN_MAC_LEN])
{
    char d[12];

    if (mac_digits(s, d) < 0)
        return -EINVAL;
    for (int i = 0; i < VN_MAC_LEN; i++)
        mac[i] = (uint8_t)(hexval(d[2 * i]) << 4 | hexval(d[2 * i + 1]));
    return 0;
}

int vn_mac_text(const char *s, char buf[VN_MAC_STR_LEN])
{
    char d[12];

    if (mac_digits(s, d) < 0)
        return -EINVAL;
    for (int i = 0; i < VN_MAC_LEN; i++) {
        buf[3 * i] = d[2 * i];
        buf[3 * i + 1] = d[2 * i + 1];
        buf[3 * i + 2] = i < VN_MAC_LEN - 1 ? ':' : '\0';
    }
    return 0;
}

void vn_format_mac(const uint8_t mac[VN_MAC_LEN], char buf[VN_MAC_STR_LEN])
{
    snprintf(buf, VN_MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
}

uint64_t vn_mac_to_u64(const uint8_t mac[VN_MAC_LEN])
{
    uint64_t v = 0;

    for (int i = 0; i < VN_MAC_LEN; i++)
        v = v << 8 | mac[i];
    return v;
}

void vn_mac_from_u64(uint64_t v, uint8_t mac[VN_MAC_LEN])
{
    for (int i = VN_MAC_LEN - 1; i >= 0; i--) {
        mac[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

int vn_strlcpy(char *dst, const char *s, size_t size)
{
    size_t len = strlen(s);

    if (len >= size) {
        if (size)
            dst[0] = '\0';
        return -ENAMETOOLONG;
    }
    memcpy(dst, s, len + 1);
    return 0;
}

int vn_snprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= size) {
        if (size)
            dst[0] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

const char *vn_str_echo(const char *s, size_t max, char *buf, size_t size)
{
    size_t o = 0;

    for (; *s && o + 4 < size && o < max; s++)
        buf[o++] = isprint((unsigned char)*s) ? *s : '?';
    if (*s && o + 4 <= size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

uint64_t vn_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool vn_streq_nocase(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

bool vn_is_safe_filename(const char *name, size_t maxlen)
{
    size_t n = 0;

    if (!name || !*name || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++, n++) {
        if (n >= maxlen)
            return false;
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return false;
    }
    return true;
}

void vn_msg_put_fds(struct msghdr *mh, void *ctl, const int *fds, unsigned int nfds)
{
    struct cmsghdr *c;

    memset(ctl, 0, CMSG_SPACE(sizeof(int) * nfds));
    mh->msg_control = ctl;
    mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    c = CMSG_FIRSTHDR(mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
}
