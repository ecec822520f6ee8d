/*
 * provider_conf.h - provider files (providers/NAME.provider).
 *
 * The vendor's format: "key=value" lines with the keys "provider" and
 * "score", case-insensitive; '#' starts a comment; blank lines are ignored;
 * when a key appears more than once the last definition wins; at most one
 * provider per file.  Whitespace around keys and values is ignored.
 */
#ifndef VN_PROVIDER_CONF_H
#define VN_PROVIDER_CONF_H

#include <stddef.h>
#include <stdint.h>

#define VN_PROVIDER_NAME_MAX 32
#define VN_PROVIDER_FILE_MAX (64 * 1024)

#define VN_PROVIDER_WARNING_MAX 256

struct vn_provider_conf {
    char name[VN_PROVIDER_NAME_MAX];   /* [A-Za-z0-9_-]{1,31} as given (case kept) */
    int64_t score;                     /* higher wins; 0 when the file gives none */
    unsigned n_unknown;                /* lines with a key other than provider/score */
    char warning[VN_PROVIDER_WARNING_MAX]; /* "" or, for each such line, "line N: unknown key
                                              'K' ignored", joined by "; " (truncated) */
};

/*
 * Parses 'len' bytes of 'text'.  Returns 0 and fills 'out', or -EINVAL with a
 * message naming the line and the reason in 'err' ('errlen' bytes).  A file
 * without a provider= line, a line without '=', an empty value, a score that
 * is not a whole integer and a provider name outside [A-Za-z0-9_-]{1,31} are
 * errors.  A key other than provider and score is not: the vendor documents
 * only those two, and a file written for a newer controller must still load;
 * the line is ignored and named in out->warning for the caller to log.
 * 'out' is written only on success.
 * -ENOMEM when a line buffer cannot be allocated.
 */
int vn_provider_conf_parse(const char *text, size_t len, struct vn_provider_conf *out,
                           char *err, size_t errlen);

/* Reads and parses the file at 'path'; errors from the file system are negative errnos. */
int vn_provider_conf_load(const char *path, struct vn_provider_conf *out, char *err, size_t errlen);

#endif /* VN_PROVIDER_CONF_H */
