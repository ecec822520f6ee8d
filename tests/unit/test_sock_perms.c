/*
 * test_sock_perms.c - vhost_socket group and mode (lib/sock_perms.c) on real
 * sockets and directories in a temporary directory.
 */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sock_perms.h"
#include "util.h"

static char tmp[256];
static char err[512];

/* A group other than ours, when we may chown to it (root); NULL otherwise. */
static const char *other_group(gid_t *gid)
{
    static const char *const names[] = { "nogroup", "daemon", "bin", "sys" };

    if (geteuid() != 0)
        return NULL;
    for (size_t i = 0; i < VN_ARRAY_SIZE(names); i++) {
        struct group *g = getgrnam(names[i]);

        if (g && g->gr_gid != getegid()) {
            *gid = g->gr_gid;
            return names[i];
        }
    }
    return NULL;
}

static void make_socket(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_true(strlen(path) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(chmod(path, 0600), 0);
    close(fd);
}

static int setup(void **state)
{
    snprintf(tmp, sizeof(tmp), "%s/vn-sockperms.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp))
        return -1;
    return chmod(tmp, 0755);
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_nothing_configured(void **state)
{
    struct vn_conf_vhost_socket cfg = { 0 };
    char path[PATH_MAX + 64];
    struct stat st;

    snprintf(path, sizeof(path), "%s/a.sock", tmp);
    make_socket(path);
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(vn_sock_dir_apply_perms(tmp, &cfg, err, sizeof(err)), 0);
}

static void test_mode(void **state)
{
    struct vn_conf_vhost_socket cfg = { .mode = "0640" };
    char path[PATH_MAX + 64];
    struct stat st;

    snprintf(path, sizeof(path), "%s/b.sock", tmp);
    make_socket(path);
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_gid, getegid());
    /* Idempotent. */
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), 0);
    /* Group only: the default mode 0660. */
    cfg = (struct vn_conf_vhost_socket){ 0 };
    snprintf(cfg.group, sizeof(cfg.group), "%s", getgrgid(getegid())->gr_name);
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0660);
}

static void test_group(void **state)
{
    struct vn_conf_vhost_socket cfg = { .mode = "0660" };
    char path[PATH_MAX], dir[PATH_MAX - 64];
    const char *name;
    struct stat st;
    gid_t gid = 0;

    name = other_group(&gid);
    if (!name) {
        print_message("skipped: needs root and a second group\n");
        skip();
    }
    snprintf(cfg.group, sizeof(cfg.group), "%s", name);
    snprintf(dir, sizeof(dir), "%s/vhost", tmp);
    assert_int_equal(mkdir(dir, 0750), 0);
    snprintf(path, sizeof(path), "%s/c.sock", dir);
    make_socket(path);
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, gid);
    assert_int_equal(st.st_mode & 07777, 0660);
    /* The directory gets the group with r-x; tmp is 0755: reachable. */
    assert_int_equal(vn_sock_dir_apply_perms(dir, &cfg, err, sizeof(err)), 0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_gid, gid);
    assert_int_equal(st.st_mode & 07777, 0750);
    /* An ancestor that keeps the group out is named, and left as it is. */
    assert_int_equal(chmod(tmp, 0750), 0);
    assert_int_equal(vn_sock_dir_apply_perms(dir, &cfg, err, sizeof(err)), -EACCES);
    assert_non_null(strstr(err, tmp));
    assert_int_equal(stat(tmp, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    /* Through the group owner with g+x it is reachable. */
    assert_int_equal(chown(tmp, (uid_t)-1, gid), 0);
    assert_int_equal(chmod(tmp, 0710), 0);
    assert_int_equal(vn_sock_dir_apply_perms(dir, &cfg, err, sizeof(err)), 0);
    assert_int_equal(chmod(tmp, 0755), 0);
}

static void test_refusals(void **state)
{
    struct vn_conf_vhost_socket cfg = { .group = "no-such-group-virtnet", .mode = "0660" };
    char path[PATH_MAX + 64], link[PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/d.sock", tmp);
    make_socket(path);
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "vhost_socket.group 'no-such-group-virtnet': no such group"));
    cfg = (struct vn_conf_vhost_socket){ .mode = "0666" };
    assert_int_equal(vn_sock_apply_perms(path, &cfg, err, sizeof(err)), -EINVAL);
    cfg = (struct vn_conf_vhost_socket){ .mode = "0660" };
    /* Not a socket: a regular file, a symlink to the socket, a missing path. */
    snprintf(link, sizeof(link), "%s/file", tmp);
    fclose(fopen(link, "w"));
    assert_int_equal(vn_sock_apply_perms(link, &cfg, err, sizeof(err)), -EPERM);
    snprintf(link, sizeof(link), "%s/link.sock", tmp);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(vn_sock_apply_perms(link, &cfg, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "left alone"));
    snprintf(link, sizeof(link), "%s/missing.sock", tmp);
    assert_int_equal(vn_sock_apply_perms(link, &cfg, err, sizeof(err)), -ENOENT);
    assert_int_equal(vn_sock_dir_apply_perms(path, &cfg, err, sizeof(err)), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
