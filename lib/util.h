/*
 * util.h - small helpers shared by the controller, the CLI and providers:
 * strict number and MAC parsing, container_of, string copies that cannot
 * overflow.  No daemon state lives here.
 */
#ifndef VN_UTIL_H
#define VN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VN_BIT(n) (UINT64_C(1) << (n)) /* bit n of a 64-bit mask (feature bits) */

#define vn_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define VN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VN_MAX(a, b) ((a) > (b) ? (a) : (b))

#define VN_MAC_LEN 6
#define VN_MAC_STR_LEN 18 /* "xx:xx:xx:xx:xx:xx" + NUL */

/*
 * Parses the whole of 's' as an unsigned integer in 'base' (0 = C rules:
 * 0x hex, 0 octal, else decimal; 16 accepts an optional 0x prefix) within
 * [min, max].  No sign, no spaces, no trailing garbage.  Returns 0 and writes
 * '*out', or -EINVAL (syntax) / -ERANGE (outside the range).
 */
struct msghdr;

/*
 * Attaches 'nfds' fds (SCM_RIGHTS) to 'mh', in the control buffer 'ctl'
 * (aligned for a cmsghdr, at least CMSG_SPACE(sizeof(int) * nfds) bytes).
 */
void vn_msg_put_fds(struct msghdr *mh, void *ctl, const int *fds, unsigned int nfds);

int vn_parse_u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *out);

/* Like vn_parse_u64() for a signed value. */
int vn_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Parses a MAC in any form the vendor's controller takes: "aa:bb:cc:dd:ee:ff",
 * "aa-bb-cc-dd-ee-ff" or "aabbccddeeff", hex digits of either case.
 */
int vn_parse_mac(const char *s, uint8_t mac[VN_MAC_LEN]);

/*
 * Writes the MAC 's' (any form vn_parse_mac() takes) into 'buf' with ':'
 * separators and its digits in the case they were written: the form the
 * vendor echoes.  0 or -EINVAL ('buf' untouched).
 */
int vn_mac_text(const char *s, char buf[VN_MAC_STR_LEN]);

/* Writes 'mac' as lower-case "aa:bb:cc:dd:ee:ff" into 'buf' (VN_MAC_STR_LEN). */
void vn_format_mac(const uint8_t mac[VN_MAC_LEN], char buf[VN_MAC_STR_LEN]);

/* MAC as a 48-bit integer and back, for mac_base + n arithmetic. */
uint64_t vn_mac_to_u64(const uint8_t mac[VN_MAC_LEN]);
void vn_mac_from_u64(uint64_t v, uint8_t mac[VN_MAC_LEN]);

/*
 * Copies 's' into 'dst' of 'size' bytes.  Returns 0, or -ENAMETOOLONG when
 * 's' does not fit (then 'dst' is left an empty string).
 */
int vn_strlcpy(char *dst, const char *s, size_t size);

/* snprintf() that returns -ENAMETOOLONG instead of truncating silently. */
int vn_snprintf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Copies at most 'max' characters of 's' into 'buf' ('size' bytes) for an
 * error message: unprintable characters become '?', a cut string ends in
 * "...".  Returns 'buf'.
 */
const char *vn_str_echo(const char *s, size_t max, char *buf, size_t size);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vn_now_ns(void);

/* Case-insensitive comparison of ASCII strings. */
bool vn_streq_nocase(const char *a, const char *b);

/*
 * True when 'name' is safe as one path component: 1..maxlen characters of
 * [A-Za-z0-9._-], not starting with '.'.  Anything a client sends that ends
 * up in a file name passes through this first.
 */
bool vn_is_safe_filename(const char *name, size_t maxlen);

#endif /* VN_UTIL_H */
