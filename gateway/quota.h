/* quota — session counts per key (client address, user name) shared by
 * all workers, for max-sessions-per-client / max-sessions-per-user.  A hash
 * table under striped locks: one short critical section at session start
 * and end, nothing when no limit is configured. */
#ifndef SOCKS64_QUOTA_H
#define SOCKS64_QUOTA_H

#include <stdbool.h>
#include <stddef.h>

struct quota;

struct quota *quota_new(void);
void quota_free(struct quota *l);
/* Count one more session for key if fewer than max are counted; false at
 * the limit (nothing counted). */
bool quota_acquire(struct quota *l, const void *key, size_t keylen, unsigned max);
/* Give back one session counted by quota_acquire. */
void quota_release(struct quota *l, const void *key, size_t keylen);

#endif
