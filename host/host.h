/* host.h — the commands of pmemcut-host and what they share. */
#ifndef PH_HOST_H
#define PH_HOST_H

#include <stdbool.h>
#include <stdint.h>

/* The exit codes: PM_EXIT_OK, PM_EXIT_FAIL (a durability violation),
 * PM_EXIT_USAGE (usage or environment error). */
#include "utils/exitcode.h"

/* Each takes argv with argv[0] the command name and returns an exit code;
 * on PM_EXIT_USAGE the message is in pm_get_error(). */
int ph_cmd_run(int argc, char **argv);
int ph_cmd_serve(int argc, char **argv);
int ph_cmd_attach(int argc, char **argv, bool detach);
int ph_cmd_report(int argc, char **argv);
int ph_cmd_verify(int argc, char **argv);
int ph_cmd_paths(int argc, char **argv);

/* Where the other parts live, found from our own executable
 * (host/pmemcut-host in a built tree, PREFIX/bin/pmemcut-host installed
 * with PREFIX/lib/pmemcut) unless overridden by environment:
 * PMEMCUT_PLUGIN, PMEMCUT_INITRD, PMEMCUT_KERNEL. Caller frees. */
char *ph_find_plugin(void);
char *ph_find_tracer(void); /* the ADR cache model's QEMU plugin (PMEMCUT_TRACER overrides) */
char *ph_find_initrd(void);
char *ph_find_audit_tool(void); /* pmemcut-audit (PMEMCUT_AUDIT overrides) */
char *ph_find_agent(void);      /* the static guest agent (PMEMCUT_AGENT overrides) */
char *ph_find_kernel(const char *initrd);

/* Make a private runtime directory for sockets and the FUSE mount (short
 * paths: Unix socket names are limited to 107 bytes). */
char *ph_make_rundir(void);

/* Where serve mounts the FUSE view of IMG (IMG.view; the file is
 * IMG.view/nbd), so that attach can name it from IMG alone. */
char *ph_view_dir(const char *image);

/* serve's names next to IMG for the ADR tracer (IMG.nbd, a link to the NBD
 * socket; IMG.tracer.json, its counts), the tracer's -plugin argument for
 * IMG, the --cache-model word, and the tracer found and readable (NULL and
 * a message naming it, after "CMD: " unless CMD is NULL, otherwise).
 * serve.c; attach uses them. */
char *ph_serve_nbd_link(const char *image);
char *ph_serve_tracer_counts(const char *image);
char *ph_serve_tracer_arg(const char *tracer, const char *image);
int ph_cache_model_parse(const char *cmd, const char *s, bool *adr);
char *ph_tracer_checked(const char *cmd);

/* Parse an unsigned decimal number with a range check, for options. */
int ph_parse_uint(const char *opt, const char *s, uint64_t max, uint64_t *out);

#endif
