/*
 * fuzz_tmpdir.h - a fuzz target's scratch directory, /tmp/NAME.PID, emptied
 * and removed when the fuzzer exits (the files in it only: targets make no
 * subdirectories).  Header-only: each target is built from one source file.
 */
#ifndef VN_FUZZ_TMPDIR_H
#define VN_FUZZ_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir[64];

/* Removes every file in the directory. */
static void fuzz_tmpdir_empty(void)
{
    DIR *d = opendir(fuzz_dir);
    struct dirent *e;

    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
}

static void fuzz_tmpdir_remove(void)
{
    fuzz_tmpdir_empty();
    rmdir(fuzz_dir);
}

/* Creates the directory (mode 0700 unless 'make' does it) and returns its path; aborts on failure. */
static const char *fuzz_tmpdir(const char *name, int (*make)(const char *dir))
{
    snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/%s.%d", name, (int)getpid());
    if ((make ? make(fuzz_dir) : mkdir(fuzz_dir, 0700)) < 0)
        abort();
    atexit(fuzz_tmpdir_remove);
    return fuzz_dir;
}

#endif /* VN_FUZZ_TMPDIR_H */
