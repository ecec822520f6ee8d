/*
 * provider_conf.c - parsing of provider files (NAME.provider); see provider_conf.h.
 *
 * The vendor's format, read line by line:
 *
 *     # ace.so is one provider
 *     Provider=ace
 *     Score=100
 *
 * Text from '#' to the end of the line is a comment (a whole-line comment is
 * the vendor's case; a trailing one is accepted too).  Keys are matched
 * without regard to case; blank lines are skipped; whitespace around keys and
 * values is dropped; a key given twice keeps its last value.  "provider" is
 * mandatory.  Any other key is ignored with a warning that names it (the
 * vendor documents two keys; one more must not cost an operator the whole
 * file).  "score" is optional and defaults to 0: the vendor does not say,
 * and 0 ranks a file without a score below any file that gives a positive
 * one.  Which provider names exist is for the controller to decide; here a
 * name only has to be usable as a file name ([A-Za-z0-9_-], 1 to 31
 * characters).
 */
#include <config.h>

#include "provider_conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* At most this many characters of a key or value are quoted in a message. */
#define PROVIDER_ECHO_MAX 40

static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the message into 'err' when there is room for one. */
static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* At most PROVIDER_ECHO_MAX characters of 's' for a message (vn_str_echo()). */
static const char *echo(const char *s, char *buf, size_t size)
{
    return vn_str_echo(s, PROVIDER_ECHO_MAX, buf, size);
}

/* Drops leading and trailing whitespace of 's' in place. */
static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static bool valid_provider_name(const char *name)
{
    size_t n = 0;

    for (const char *c = name; *c; c++, n++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
            return false;
    return n >= 1 && n < VN_PROVIDER_NAME_MAX;
}

/*
 * Parses one line (NUL-terminated, without its '\n', modified in place) into
 * 'out'.  Returns 0, or -EINVAL with the reason in 'err'.
 */
static int parse_line(char *line, unsigned lineno, struct vn_provider_conf *out, bool *has_name,
                      char *err, size_t errlen)
{
    char *hash = strchr(line, '#'), *eq, *key, *value;
    char quoted[PROVIDER_ECHO_MAX + 4];

    if (hash)
        *hash = '\0';
    line = trim(line);
    if (!*line)
        return 0;
    eq = strchr(line, '=');
    if (!eq) {
        set_error(err, errlen, "line %u: expected key=value, got '%s'", lineno,
                  echo(line, quoted, sizeof(quoted)));
        return -EINVAL;
    }
    *eq = '\0';
    key = trim(line);
    value = trim(eq + 1);
    if (!*key) {
        set_error(err, errlen, "line %u: missing key before '='", lineno);
        return -EINVAL;
    }
    if (vn_streq_nocase(key, "provider")) {
        if (!*value) {
            set_error(err, errlen, "line %u: empty value for '%s'", lineno, key);
            return -EINVAL;
        }
        if (!valid_provider_name(value)) {
            set_error(err, errlen,
                      "line %u: provider name must be 1 to %d characters of [A-Za-z0-9_-], "
                      "got '%s'",
                      lineno, VN_PROVIDER_NAME_MAX - 1, echo(value, quoted, sizeof(quoted)));
            return -EINVAL;
        }
        vn_strlcpy(out->name, value, sizeof(out->name));
        *has_name = true;
    } else if (vn_streq_nocase(key, "score")) {
        if (!*value) {
            set_error(err, errlen, "line %u: empty value for '%s'", lineno, key);
            return -EINVAL;
        }
        if (vn_parse_i64(value, INT64_MIN, INT64_MAX, &out->score) < 0) {
            set_error(err, errlen, "line %u: score must be a whole number, got '%s'", lineno,
                      echo(value, quoted, sizeof(quoted)));
            return -EINVAL;
        }
    } else {
        size_t used = strlen(out->warning);

        if (used < sizeof(out->warning) - 1)
            snprintf(out->warning + used, sizeof(out->warning) - used,
                     "%sline %u: unknown key '%s' ignored (expected 'provider' or 'score')",
                     used ? "; " : "", lineno, echo(key, quoted, sizeof(quoted)));
        out->n_unknown++;
    }
    return 0;
}

int vn_provider_conf_parse(const char *text, size_t len, struct vn_provider_conf *out, char *err,
                           size_t errlen)
{
    struct vn_provider_conf conf = { .score = 0, .n_unknown = 0 };
    bool has_name = false;
    unsigned lineno = 0;
    size_t pos = 0;
    char *line;
    int ret = 0;

    if (memchr(text, '\0', len)) {
        set_error(err, errlen, "NUL byte in provider file");
        return -EINVAL;
    }
    line = malloc(len + 1);
    if (!line) {
        set_error(err, errlen, "out of memory");
        return -ENOMEM;
    }
    while (pos < len && ret == 0) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        ret = parse_line(line, ++lineno, &conf, &has_name, err, errlen);
    }
    free(line);
    if (ret < 0)
        return ret;
    if (!has_name) {
        set_error(err, errlen, "no 'provider=' line");
        return -EINVAL;
    }
    *out = conf;
    return 0;
}

int vn_provider_conf_load(const char *path, struct vn_provider_conf *out, char *err, size_t errlen)
{
    size_t len;
    char *text;
    int ret;

    ret = vn_read_file(path, VN_PROVIDER_FILE_MAX, &text, &len);
    if (ret < 0) {
        if (ret == -EFBIG)
            set_error(err, errlen, "cannot read the file: larger than %d bytes",
                      VN_PROVIDER_FILE_MAX);
        else
            set_error(err, errlen, "cannot read the file: %s", strerror(-ret));
        return ret;
    }
    ret = vn_provider_conf_parse(text, len, out, err, errlen);
    free(text);
    return ret;
}
