/*
 * test_statefile.c - files in the controller's own directories: an atomic
 * replace that never follows or replaces a symlink (at the file or at its
 * .tmp), a read that refuses a symlink, a remove that removes the link
 * itself, and the directory rule (ours and writable by nobody else: fixed
 * when we can, refused when shared or owned by someone else).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "statefile.h"

static char dir[64], outside[96];
static int dfd = -1;

static int setup(void **state)
{
    FILE *f;

    snprintf(dir, sizeof(dir), "/tmp/vn-statefile-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(outside, sizeof(outside), "%s.outside", dir);
    f = fopen(outside, "w");
    if (!f)
        return -1;
    fputs("precious\n", f);
    fclose(f);
    dfd = vn_statedir_open(dir);
    return dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[320];

    close(dfd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static void plant_link(const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(symlink(outside, path), 0);
}

static void assert_outside_intact(void)
{
    char *text = NULL;
    size_t len;

    assert_int_equal(vn_read_file(outside, 100, &text, &len), 0);
    assert_string_equal(text, "precious\n");
    free(text);
}

static void assert_content(const char *name, const char *want)
{
    char *text = NULL;
    size_t len;

    assert_int_equal(vn_statefile_read(dfd, name, 100, &text, &len), 0);
    assert_string_equal(text, want);
    free(text);
}

static bool is_link(const char *name)
{
    struct stat st;

    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

static bool exists(const char *name)
{
    struct stat st;

    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_replace(void **state)
{
    struct stat st;

    assert_int_equal(vn_statefile_replace(dfd, "f", "one\n", 4, 0640), 0);
    assert_content("f", "one\n");
    assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
    assert_int_equal(st.st_mode & 0777, 0640 & ~umask(022));
    assert_int_equal(vn_statefile_replace(dfd, "f", "two\n", 4, 0640), 0);
    assert_content("f", "two\n");
    assert_false(exists("f.tmp"));
    assert_int_equal(vn_statefile_replace(dfd, "a/b", "x", 1, 0640), -EINVAL);
    assert_int_equal(vn_statefile_replace(dfd, "", "x", 1, 0640), -EINVAL);
}

static void test_link_at_tmp_not_followed(void **state)
{
    plant_link("f.tmp");
    assert_int_equal(vn_statefile_replace(dfd, "f", "new\n", 4, 0640), 0);
    assert_outside_intact();
    assert_content("f", "new\n");
    assert_false(exists("f.tmp"));
}

static void test_link_at_file_refused(void **state)
{
    plant_link("f");
    assert_int_equal(vn_statefile_replace(dfd, "f", "new\n", 4, 0640), -ELOOP);
    assert_outside_intact();
    assert_true(is_link("f"));
    assert_false(exists("f.tmp"));
    assert_int_equal(mkdirat(dfd, "d", 0700), 0);
    assert_int_equal(vn_statefile_replace(dfd, "d", "new\n", 4, 0640), -EISDIR);
}

static void test_read_and_remove(void **state)
{
    char *text = NULL;
    size_t len;

    plant_link("l");
    assert_int_equal(vn_statefile_read(dfd, "l", 100, &text, &len), -ELOOP);
    assert_null(text);
    assert_int_equal(vn_statefile_read(dfd, "missing", 100, &text, &len), -ENOENT);
    assert_int_equal(vn_statefile_remove(dfd, "l"), 0);
    assert_false(exists("l"));
    assert_outside_intact();
    assert_int_equal(vn_statefile_remove(dfd, "missing"), 0);
}

static void test_dir_rule(void **state)
{
    struct stat st;

    assert_int_equal(fchmod(dfd, 0700), 0);
    assert_int_equal(vn_statedir_secure(dfd, dir, "test dir"), 0);
    /* Ours and writable by others: fixed. */
    assert_int_equal(fchmod(dfd, 0777), 0);
    assert_int_equal(vn_statedir_secure(dfd, dir, "test dir"), 0);
    assert_int_equal(fstat(dfd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(fchmod(dfd, 0730), 0);
    assert_int_equal(vn_statedir_secure(dfd, dir, "test dir"), 0);
    assert_int_equal(fstat(dfd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0710);
    /* Shared (sticky): refused, left alone. */
    assert_int_equal(fchmod(dfd, 01777), 0);
    assert_int_equal(vn_statedir_secure(dfd, dir, "test dir"), -EPERM);
    assert_int_equal(fstat(dfd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 01777);
    assert_int_equal(fchmod(dfd, 0700), 0);
}

static void test_dir_of_another_user(void **state)
{
    struct passwd *pw = getpwnam("nobody");
    int fd;

    if (geteuid() != 0 || !pw) {
        /* Unprivileged: / is owned by root, not by us. */
        fd = vn_statedir_open("/");
        assert_true(fd >= 0);
        assert_int_equal(vn_statedir_secure(fd, "/", "test dir"), geteuid() == 0 ? 0 : -EPERM);
        close(fd);
        return;
    }
    assert_int_equal(fchown(dfd, pw->pw_uid, (gid_t)-1), 0);
    assert_int_equal(fchmod(dfd, 0700), 0);
    assert_int_equal(vn_statedir_secure(dfd, dir, "test dir"), -EPERM);
    assert_int_equal(fchown(dfd, 0, (gid_t)-1), 0);
    fd = vn_statedir_open_secure(dir, "test dir");
    assert_true(fd >= 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_at_tmp_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_at_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_of_another_user, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
