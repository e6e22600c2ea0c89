/* synth — the per-user synthetic address map (RFC 3089 §3) shared by every
 * process of that user: a synth_table in a file named socks64-map in the
 * user's runtime directory ($XDG_RUNTIME_DIR, else /run/user/UID, else
 * /tmp/socks64-UID created 0700), mode 0600, mapped MAP_SHARED and guarded
 * by a process-shared robust mutex in the file's header, so a name keeps its
 * address across fork, exec and concurrently running programs, and a
 * process killed while holding the lock does not wedge the others.
 *
 * The file is created complete under a temporary name and linked into
 * place, so processes starting together agree on one file.  A file that
 * fails validation (size, magic, version, corrupt table) is reset with one
 * warning.  If the shared map cannot be used at all (no safe directory,
 * another configuration's map, a lock that stays unusable) the handle
 * switches to a private table in this process's memory, again with one
 * warning.
 *
 * Thread-safe: every call takes the lock.  Fork-safe: the child inherits
 * the mapping (shared) or a copy (private). */
#ifndef SOCKS64_SYNTH_H
#define SOCKS64_SYNTH_H

#include <stdbool.h>
#include <stddef.h>

#include "synth_table.h"

#define SYNTH_FILE_NAME "socks64-map"

struct synth;

/* Receives each warning once, as one line without a newline. */
typedef void (*synth_warn_fn)(const char *msg);

/* Open (or create) the shared map for c in dir, or in the default runtime
 * directory when dir is NULL.  Falls back to a private map; NULL only when
 * even that cannot be allocated or c is invalid (errno set). */
struct synth *synth_open(const struct synth_table_config *c, const char *dir, synth_warn_fn warn);

/* Unmap and free.  Entries stay in the shared file. */
void synth_close(struct synth *s);

/* The default runtime directory for this user (created when it is the
 * /tmp fallback), checked to be owned by the user and private.  Returns 0
 * or -1 with errno. */
int synth_runtime_dir(char *out, size_t outlen);

/* Whether s is backed by the shared file (false: private fallback). */
bool synth_is_shared(const struct synth *s);

/* Path of the shared file ("" for a private map). */
const char *synth_path(const struct synth *s);

/* Table operations (synth_table.h) under the lock with the wall clock. */
int synth_assign(struct synth *s, const char *name, size_t len, struct synth_entry_info *out);
int synth_lookup_name(struct synth *s, const char *name, size_t len, struct synth_entry_info *out);
int synth_lookup_v4(struct synth *s, const struct in_addr *a, struct synth_entry_info *out);
int synth_lookup_v6(struct synth *s, const struct in6_addr *a, struct synth_entry_info *out);
int synth_foreach(struct synth *s, int (*fn)(const struct synth_entry_info *e, void *arg),
		  void *arg);

/* For pthread_atfork: prepare holds this process's lock across fork() so the
 * child never inherits it taken by a thread that does not exist there;
 * release (parent and child) lets it go. */
void synth_fork_prepare(struct synth *s);
void synth_fork_release(struct synth *s);

/* Pool membership by configuration: no lock, no table access. */
bool synth_in_pool_v4(const struct synth *s, const struct in_addr *a);
bool synth_in_pool_v6(const struct synth *s, const struct in6_addr *a);

#endif
