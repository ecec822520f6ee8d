/*
 * json.c - cJSON wrappers; see json.h.
 */
#include <config.h>

#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int vn_json_add(cJSON *obj, const char *name, cJSON *item)
{
    if (!obj || !item) {
        cJSON_Delete(item);
        return -ENOMEM;
    }
    if (name ? !cJSON_AddItemToObject(obj, name, item) : !cJSON_AddItemToArray(obj, item)) {
        cJSON_Delete(item);
        return -ENOMEM;
    }
    return 0;
}

int vn_json_add_str(cJSON *obj, const char *name, const char *s)
{
    return vn_json_add(obj, name, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

int vn_json_add_num(cJSON *obj, const char *name, double v)
{
    return vn_json_add(obj, name, cJSON_CreateNumber(v));
}

int vn_json_add_u64(cJSON *obj, const char *name, uint64_t v)
{
    return vn_json_add(obj, name, cJSON_CreateNumber((double)v));
}

int vn_json_add_u64_str(cJSON *obj, const char *name, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return vn_json_add_str(obj, name, buf);
}

int vn_json_add_hex(cJSON *obj, const char *name, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
    return vn_json_add_str(obj, name, buf);
}

int vn_json_add_bool(cJSON *obj, const char *name, bool v)
{
    return vn_json_add(obj, name, cJSON_CreateBool(v));
}

/* Copies 'text' dropping commas that are followed (after whitespace) by '}' or ']'. */
static char *strip_trailing_commas(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    bool in_str = false, esc = false;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == ',') {
            size_t j = i + 1;

            while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
                j++;
            if (j < len && (text[j] == '}' || text[j] == ']')) {
                out[o++] = ' '; /* keep columns stable for error messages */
                continue;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

cJSON *vn_json_parse_relaxed(const char *text, size_t len, char *err, size_t errlen)
{
    const char *end = NULL;
    char *copy;
    cJSON *root;

    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "NUL byte in JSON text");
        return NULL;
    }
    copy = strip_trailing_commas(text, len);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    root = cJSON_ParseWithOpts(copy, &end, true);
    if (!root) {
        size_t off = end && end >= copy ? (size_t)(end - copy) : 0;
        unsigned line = 1, col = 1;

        if (!end) {
            const char *ep = cJSON_GetErrorPtr();

            off = ep && ep >= copy && ep <= copy + len ? (size_t)(ep - copy) : 0;
        }
        for (size_t i = 0; i < off && i < len; i++) {
            if (copy[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        snprintf(err, errlen, "line %u, column %u: invalid JSON", line, col);
    }
    free(copy);
    return root;
}

int vn_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return -errno;
    return vn_read_fd(fd, max, out, outlen);
}

int vn_read_fd(int fd, size_t max, char **out, size_t *outlen)
{
    struct stat st;
    char *buf;
    size_t len = 0;
    int ret;

    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto err_close;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        goto err_close;
    }
    if ((uint64_t)st.st_size > max) {
        ret = -EFBIG;
        goto err_close;
    }
    buf = malloc(max + 1);
    if (!buf) {
        ret = -ENOMEM;
        goto err_close;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, max + 1 - len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            goto err_free;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            ret = -EFBIG;
            goto err_free;
        }
    }
    buf[len] = '\0';
    close(fd);
    *out = buf;
    *outlen = len;
    return 0;

err_free:
    free(buf);
err_close:
    close(fd);
    return ret;
}

int vn_json_get_whole(const cJSON *item, double *out)
{
    double d;

    if (!cJSON_IsNumber(item))
        return -EINVAL;
    d = item->valuedouble;
    if (!isfinite(d) || floor(d) != d)
        return -EINVAL;
    *out = d;
    return 0;
}

int vn_json_get_u64(const cJSON *item, uint64_t *out)
{
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;

        if (d < 0 || d > 9007199254740992.0 || floor(d) != d)
            return -ERANGE;
        *out = (uint64_t)d;
        return 0;
    }
    if (cJSON_IsString(item)) {
        const char *s = item->valuestring;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            return vn_parse_u64(s, 16, 0, UINT64_MAX, out);
        return vn_parse_u64(s, 10, 0, UINT64_MAX, out);
    }
    return -EINVAL;
}

uint64_t vn_json_member_u64(const cJSON *obj, const char *name)
{
    uint64_t v = 0;

    return vn_json_get_u64(cJSON_GetObjectItemCaseSensitive(obj, name), &v) < 0 ? 0 : v;
}

static int cmp_member_names(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

int vn_json_find_duplicate_key(const cJSON *item, const char **name)
{
    const cJSON *it;
    int n = 0, ret;

    if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
        return 0;
    cJSON_ArrayForEach(it, item) {
        ret = vn_json_find_duplicate_key(it, name);
        if (ret)
            return ret;
        n++;
    }
    if (!cJSON_IsObject(item) || n < 2)
        return 0;
    if (n <= 8) {
        for (const cJSON *a = item->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (!strcmp(a->string, b->string)) {
                    *name = a->string;
                    return 1;
                }
        return 0;
    }
    const cJSON **v = malloc(sizeof(*v) * (size_t)n);
    int i = 0;

    if (!v)
        return -ENOMEM;
    cJSON_ArrayForEach(it, item) v[i++] = it;
    qsort(v, (size_t)n, sizeof(*v), cmp_member_names);
    ret = 0;
    for (i = 1; i < n && !ret; i++) {
        if (!strcmp(v[i - 1]->string, v[i]->string)) {
            *name = v[i]->string;
            ret = 1;
        }
    }
    free(v);
    return ret;
}

char *vn_json_print_pretty(const cJSON *item)
{
    char *tabs = cJSON_Print(item);
    size_t extra = 0, o = 0;
    char *out;

    if (!tabs)
        return NULL;
    for (const char *p = tabs; *p; p++)
        extra += *p == '\t';
    out = malloc(strlen(tabs) + extra + 1);
    if (!out) {
        free(tabs);
        return NULL;
    }
    /* cJSON indents with tabs and puts a tab after ':'; make it "  " and " ". */
    bool in_str = false, esc = false;

    for (const char *p = tabs; *p; p++) {
        if (in_str) {
            if (esc)
                esc = false;
            else if (*p == '\\')
                esc = true;
            else if (*p == '"')
                in_str = false;
            out[o++] = *p;
            continue;
        }
        if (*p == '"')
            in_str = true;
        if (*p == '\t') {
            if (o && out[o - 1] == ':') {
                out[o++] = ' ';
            } else {
                out[o++] = ' ';
                out[o++] = ' ';
            }
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    free(tabs);
    return out;
}
