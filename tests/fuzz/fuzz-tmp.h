/* tests/fuzz/fuzz-tmp.h — a private directory for a harness whose code
 * under test reads or writes files: made in LLVMFuzzerInitialize (in
 * /dev/shm when it is writable: an input is written for every run), its
 * files removed and the directory with them at exit. */
#ifndef PMEMCUT_FUZZ_TMP_H
#define PMEMCUT_FUZZ_TMP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_dir[256];
static char fuzz_files[4][300];
static int fuzz_nfiles;

static void fuzz_tmp_cleanup(void)
{
    for (int i = 0; i < fuzz_nfiles; i++)
        unlink(fuzz_files[i]);
    rmdir(fuzz_dir);
}

/* Make the directory for the harness NAME; abort when it cannot be made. */
static void fuzz_tmp_init(const char *name)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fuzz-%s.XXXXXX", base, name);
    if (!mkdtemp(fuzz_dir))
        abort();
    atexit(fuzz_tmp_cleanup);
}

/* The path of the file LEAF in the directory, removed at exit. */
static const char *fuzz_tmp_file(const char *leaf)
{
    if (fuzz_nfiles == (int)(sizeof fuzz_files / sizeof fuzz_files[0]))
        abort();
    char *p = fuzz_files[fuzz_nfiles++];
    snprintf(p, sizeof fuzz_files[0], "%s/%s", fuzz_dir, leaf);
    return p;
}

#endif
