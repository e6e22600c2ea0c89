/* quota — striped-lock hash of session counters; see quota.h. */
#include "quota.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QUOTA_STRIPES 64

struct quota_entry {
	struct quota_entry *next;
	uint64_t hash;
	unsigned count;
	size_t keylen;
	uint8_t key[];
};

struct quota_stripe {
	pthread_mutex_t mu;
	struct quota_entry **b;
	size_t nb, n;
};

struct quota {
	uint64_t seed;
	struct quota_stripe s[QUOTA_STRIPES];
};

/* FNV-1a with a per-process seed: keys come from clients. */
static uint64_t quota_hash(const struct quota *l, const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 1469598103934665603ull ^ l->seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

struct quota *quota_new(void)
{
	struct quota *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->seed = (uint64_t)(uintptr_t)l * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < QUOTA_STRIPES; i++)
		pthread_mutex_init(&l->s[i].mu, NULL);
	return l;
}

void quota_free(struct quota *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < QUOTA_STRIPES; i++) {
		struct quota_stripe *s = &l->s[i];

		for (size_t j = 0; j < s->nb; j++) {
			while (s->b[j] != NULL) {
				struct quota_entry *e = s->b[j];

				s->b[j] = e->next;
				free(e);
			}
		}
		free(s->b);
		pthread_mutex_destroy(&s->mu);
	}
	free(l);
}

static struct quota_entry **quota_slot(struct quota_stripe *s, uint64_t h, const void *key,
				       size_t len)
{
	struct quota_entry **pp = &s->b[(h >> 6) & (s->nb - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->keylen == len && memcmp((*pp)->key, key, len) == 0)
			break;
	return pp;
}

static void quota_grow(struct quota_stripe *s)
{
	size_t nb = s->nb ? s->nb * 2 : 16;
	struct quota_entry **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nb; i++) {
		while (s->b[i] != NULL) {
			struct quota_entry *e = s->b[i];
			size_t k = (e->hash >> 6) & (nb - 1);

			s->b[i] = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(s->b);
	s->b = b;
	s->nb = nb;
}

bool quota_acquire(struct quota *l, const void *key, size_t keylen, unsigned max)
{
	uint64_t h = quota_hash(l, key, keylen);
	struct quota_stripe *s = &l->s[h % QUOTA_STRIPES];
	struct quota_entry **pp, *e;
	bool ok = false;

	pthread_mutex_lock(&s->mu);
	if (s->nb == 0 || s->n >= s->nb * 2)
		quota_grow(s);
	if (s->nb == 0)
		goto out;
	pp = quota_slot(s, h, key, keylen);
	e = *pp;
	if (e == NULL) {
		e = malloc(sizeof(*e) + keylen);
		if (e == NULL)
			goto out;
		e->next = NULL;
		e->hash = h;
		e->count = 0;
		e->keylen = keylen;
		memcpy(e->key, key, keylen);
		*pp = e;
		s->n++;
	}
	if (e->count < max) {
		e->count++;
		ok = true;
	}
out:
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void quota_release(struct quota *l, const void *key, size_t keylen)
{
	uint64_t h = quota_hash(l, key, keylen);
	struct quota_stripe *s = &l->s[h % QUOTA_STRIPES];
	struct quota_entry **pp, *e;

	pthread_mutex_lock(&s->mu);
	if (s->nb != 0) {
		pp = quota_slot(s, h, key, keylen);
		e = *pp;
		if (e != NULL && --e->count == 0) {
			*pp = e->next;
			free(e);
			s->n--;
		}
	}
	pthread_mutex_unlock(&s->mu);
}
