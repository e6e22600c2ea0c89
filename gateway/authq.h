/* authq — password checks off the event loops.
 *
 * crypt(3) costs milliseconds of CPU by design (yescrypt, SHA-crypt); run on
 * a worker's loop it would stall every other session there, and a burst of
 * wrong passwords would slow everyone down.  Workers hand jobs to a small
 * pool of verifier threads; each finished job goes back to its worker's
 * mailbox and is completed on that worker's loop. */
#ifndef SOCKS64_AUTHQ_H
#define SOCKS64_AUTHQ_H

#include <stdbool.h>

#include "auth_pass.h"

struct authq;
struct conf;
struct session;
struct worker;

struct authq_job {
	struct authq_job *next;
	struct worker *w; /* whose mailbox gets the result */
	struct session *s; /* NULL once the session went away (worker thread only) */
	struct conf *conf; /* holds the users table alive */
	bool ok;
	struct auth_pass_creds creds; /* wiped before the job is freed */
};

struct authq *authq_new(unsigned nthreads);
/* Stop the threads; jobs still queued are completed as failures. */
void authq_free(struct authq *q);
/* Queue a job (takes ownership). */
void authq_submit(struct authq *q, struct authq_job *j);
/* Free a finished job: drops its conf reference and wipes the password. */
void authq_job_free(struct authq_job *j);

#endif
