/* pmemcut — `pmemcut-audit classify`: the device told which lines are
 * metadata and which data, from the filesystem in an image (see
 * classify.h). */
#include "classify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "utils/error.h"

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one command and reads its one reply line.  0 for "ok", -1. */
/* The message for a command that failed: the device refused it ("error:")
 * or the connection broke. */
static void refuse(char *why, size_t n, const char *sock, const char *cmd, const char *reply,
                   bool *refused)
{
    /* cmd and reply end in their newlines */
    snprintf(why, n, "%s: %.*s -> %.*s", sock, (int)strcspn(cmd, "\n"), cmd,
             (int)strcspn(reply, "\n"), reply);
    *refused = strncmp(reply, "error:", 6) == 0;
}

static int ctl_cmd(int fd, FILE *in, const char *cmd, char *reply, size_t n)
{
    size_t len = strlen(cmd);
    if (write(fd, cmd, len) != (ssize_t)len || !fgets(reply, (int)n, in))
        return -1;
    return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

int pt_classify_send(const struct pt_classify_args *a, bool *refused)
{
    *refused = false;
    struct pt_layout l;
    if (pt_layout_load_extents(&l, &a->lay) == -1)
        return -1;
    uint64_t got;
    uint8_t *head = pt_layout_read_head(a->image, l.x.dev_offset + 4096, &got);
    if (!head || pt_layout_open(&l, &a->lay, a->image, head, got) == -1) {
        free(head);
        pt_xfsmap_free(&l.x);
        return -1;
    }
    free(head);
    if (l.xfs && !l.have_x) {
        pm_set_error("classify: xfs needs --extents EXT.json (the agent's "
                     "FIEMAP report) to tell data from metadata");
        pt_xfsmap_free(&l.x);
        return -1;
    }
    struct pt_ext4map m = l.e;
    int fd = ctl_connect(a->socket);
    FILE *in = fd >= 0 ? fdopen(dup(fd), "r") : NULL;
    if (!in) {
        pm_set_error("%s: %s", a->socket, strerror(errno));
        pt_layout_free(&l);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t sent[3] = {0}, bytes[3] = {0};
    char why[1024] = "";
    int rc = 0;
    uint64_t b = 0;
    /* xfs: the whole block device is metadata, then the files' extents are
     * data over it (a later classify of a range replaces the earlier) */
    if (l.xfs) {
        struct stat st;
        char cmd[128], reply[512] = "";
        uint64_t size = stat(a->image, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (size > l.x.dev_offset) {
            snprintf(cmd, sizeof cmd, "classify meta %llu %llu\n",
                     (unsigned long long)l.x.dev_offset,
                     (unsigned long long)(size - l.x.dev_offset));
            if (ctl_cmd(fd, in, cmd, reply, sizeof reply) == -1) {
                refuse(why, sizeof why, a->socket, cmd, reply, refused);
                rc = -1;
            }
            sent[1]++;
            bytes[1] += size - l.x.dev_offset;
        }
    }
    /* ext4: runs of blocks of one class (meta/data); free blocks are left
     * alone */
    while (!l.xfs && b < m.nblocks && rc == 0) {
        int cls = m.own[b].kind == EK_NONE ? 0 : pt_ext4map_is_meta(m.own[b].kind) ? 1 : 2;
        uint64_t e = b + 1;
        while (e < m.nblocks && (m.own[e].kind == EK_NONE            ? 0
                                 : pt_ext4map_is_meta(m.own[e].kind) ? 1
                                                                     : 2) == cls)
            e++;
        if (cls) {
            char cmd[128], reply[512] = "";
            snprintf(cmd, sizeof cmd, "classify %s %llu %llu\n", cls == 1 ? "meta" : "data",
                     (unsigned long long)(m.offset + b * m.bsize),
                     (unsigned long long)((e - b) * m.bsize));
            if (ctl_cmd(fd, in, cmd, reply, sizeof reply) == -1) {
                refuse(why, sizeof why, a->socket, cmd, reply, refused);
                rc = -1;
            }
            sent[cls]++;
            bytes[cls] += (e - b) * m.bsize;
        }
        b = e;
    }
    /* the agent's extents: data, on either filesystem */
    for (size_t i = 0; l.have_x && i < l.x.next && rc == 0; i++) {
        char cmd[128], reply[512] = "";
        snprintf(cmd, sizeof cmd, "classify data %llu %llu\n", (unsigned long long)l.x.ext[i].off,
                 (unsigned long long)l.x.ext[i].len);
        if (ctl_cmd(fd, in, cmd, reply, sizeof reply) == -1) {
            refuse(why, sizeof why, a->socket, cmd, reply, refused);
            rc = -1;
        }
        sent[2]++;
        bytes[2] += l.x.ext[i].len;
    }
    if (rc == -1)
        pm_set_error("%s", why);
    if (rc == 0)
        printf("classified %llu bytes as meta (%llu ranges), %llu bytes as data (%llu ranges)\n",
               (unsigned long long)bytes[1], (unsigned long long)sent[1],
               (unsigned long long)bytes[2], (unsigned long long)sent[2]);
    fclose(in);
    close(fd);
    pt_layout_free(&l);
    return rc;
}
