/*
 * json.h - thin wrappers over cJSON.
 *
 * Adding an item always consumes it, on success and on failure, so callers
 * never leak on an allocation error: vn_json_add* return -ENOMEM and leave
 * the item out; a caller that ignores the return gets a smaller object, never
 * a leak or a crash.
 */
#ifndef VN_JSON_H
#define VN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Adds 'item' to object 'obj' as 'name' (or to array 'obj' when name is NULL). Consumes 'item'. */
int vn_json_add(cJSON *obj, const char *name, cJSON *item);
int vn_json_add_str(cJSON *obj, const char *name, const char *s);
int vn_json_add_num(cJSON *obj, const char *name, double v);
int vn_json_add_u64(cJSON *obj, const char *name, uint64_t v);  /* number; exact up to 2^53 */
int vn_json_add_u64_str(cJSON *obj, const char *name, uint64_t v); /* decimal string: exact */
int vn_json_add_hex(cJSON *obj, const char *name, uint64_t v);  /* "0x..." string */
int vn_json_add_bool(cJSON *obj, const char *name, bool v);

/*
 * Parses JSON text that may have a trailing comma before '}' or ']' (the
 * vendor's example configs do).  Returns the tree or NULL; on NULL writes
 * "line L, column C: reason" into 'err'.
 */
cJSON *vn_json_parse_relaxed(const char *text, size_t len, char *err, size_t errlen);

/*
 * Reads a whole regular file of at most 'max' bytes into a NUL-terminated
 * malloc'd buffer.  Returns 0 and sets '*out'/'*outlen' (caller frees), or a
 * negative errno (-EFBIG when larger than 'max').
 */
int vn_read_file(const char *path, size_t max, char **out, size_t *outlen);

/* Like vn_read_file() for an open 'fd', which it closes in every case. */
int vn_read_fd(int fd, size_t max, char **out, size_t *outlen);

/* The value of a JSON number that is a whole number; -EINVAL for anything else. */
int vn_json_get_whole(const cJSON *item, double *out);

/* A feature mask from a JSON number or a "0x..."/decimal string. */
int vn_json_get_u64(const cJSON *item, uint64_t *out);

/* Member 'name' of 'obj' read as vn_json_get_u64() does; 0 when missing or not one. */
uint64_t vn_json_member_u64(const cJSON *obj, const char *name);

/*
 * Looks for an object member name given twice in 'item' and everything in
 * it (cJSON keeps both; lookups see the first).  Returns 1 and '*name' (the
 * member, borrowed from the tree) when there is one, 0 when there is none,
 * -ENOMEM.  Cost O(n log n) per object.
 */
int vn_json_find_duplicate_key(const cJSON *item, const char **name);

/* Pretty-prints with 2-space indentation (cJSON uses tabs); caller frees. */
char *vn_json_print_pretty(const cJSON *item);

#endif /* VN_JSON_H */
