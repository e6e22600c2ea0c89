/* authq — verifier threads for RFC 1929 passwords; see authq.h. */
#include "authq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "worker.h"

struct authq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct authq_job *head, **tail;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static struct authq_job *authq_take(struct authq *q)
{
	struct authq_job *j;

	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !q->stopping)
		pthread_cond_wait(&q->cv, &q->mu);
	j = q->head;
	if (j != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = &q->head;
		j->next = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return j;
}

static void *authq_thread(void *arg)
{
	struct authq *q = arg;
	struct authq_job *j;

	while ((j = authq_take(q)) != NULL) {
		j->ok = auth_users_check(j->conf->users, j->creds.name, j->creds.password);
		worker_post_auth(j->w, j);
	}
	return NULL;
}

struct authq *authq_new(unsigned nthreads)
{
	struct authq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->tail = &q->head;
	q->threads = calloc(nthreads, sizeof(*q->threads));
	if (q->threads == NULL) {
		authq_free(q);
		return NULL;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&q->threads[i], NULL, authq_thread, q) != 0) {
			log_warnx("authq: cannot start verifier thread %u", i);
			break;
		}
		q->nthreads++;
	}
	if (q->nthreads == 0) {
		authq_free(q);
		return NULL;
	}
	return q;
}

void authq_free(struct authq *q)
{
	struct authq_job *j;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	/* Workers are gone by now: whatever is left is just freed. */
	while ((j = q->head) != NULL) {
		q->head = j->next;
		authq_job_free(j);
	}
	free(q->threads);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void authq_submit(struct authq *q, struct authq_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	*q->tail = j;
	q->tail = &j->next;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void authq_job_free(struct authq_job *j)
{
	explicit_bzero(&j->creds, sizeof(j->creds));
	conf_unref(j->conf);
	free(j);
}
