/* hook_resolve — name lookups answered with synthetic addresses (RFC 3089
 * §3) and reverse lookups of synthetic addresses answered with the name.
 *
 * Everything that is not a name for the gateway goes to libc unchanged:
 * numeric hosts (every form inet_aton() takes, anything with ':'),
 * AI_NUMERICHOST, node NULL (AI_PASSIVE), bypassed names, invalid names
 * (libc gives the usual EAI_* for them), and with `resolve auto` names
 * that resolve natively to a family this host can use.  For a synthetic
 * answer, libc itself builds the result from the synthetic literal (so
 * services, socktypes, protocols and their errors are exactly libc's), and
 * the shim copies it into memory of its own that its freeaddrinfo()
 * recognises. */
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Heads of addrinfo lists the shim allocated (freeaddrinfo must tell them
 * from libc's): a small open-addressing set. */
static pthread_mutex_t hook_ai_lock = PTHREAD_MUTEX_INITIALIZER;
static struct addrinfo **hook_ai_set;
static size_t hook_ai_cap, hook_ai_used;
#define HOOK_AI_TOMB ((struct addrinfo *)1)

static size_t hook_ai_slot(const struct addrinfo *p, size_t cap)
{
	return ((uintptr_t)p >> 4) * 2654435761u & (cap - 1);
}

static int hook_ai_add(struct addrinfo *p)
{
	int rc = -1;

	pthread_mutex_lock(&hook_ai_lock);
	if ((hook_ai_used + 1) * 2 > hook_ai_cap) {
		size_t cap = hook_ai_cap ? hook_ai_cap * 2 : 64, used = 0;
		struct addrinfo **t = calloc(cap, sizeof(*t));

		if (!t)
			goto out;
		for (size_t i = 0; i < hook_ai_cap; i++) {
			struct addrinfo *q = hook_ai_set[i];
			size_t j;

			if (!q || q == HOOK_AI_TOMB)
				continue;
			for (j = hook_ai_slot(q, cap); t[j]; j = (j + 1) & (cap - 1))
				;
			t[j] = q;
			used++;
		}
		free(hook_ai_set);
		hook_ai_set = t;
		hook_ai_cap = cap;
		hook_ai_used = used;
	}
	{
		size_t j = hook_ai_slot(p, hook_ai_cap);

		while (hook_ai_set[j] && hook_ai_set[j] != HOOK_AI_TOMB)
			j = (j + 1) & (hook_ai_cap - 1);
		if (!hook_ai_set[j])
			hook_ai_used++;
		hook_ai_set[j] = p;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&hook_ai_lock);
	return rc;
}

static bool hook_ai_remove(struct addrinfo *p)
{
	bool found = false;

	pthread_mutex_lock(&hook_ai_lock);
	if (hook_ai_cap) {
		for (size_t j = hook_ai_slot(p, hook_ai_cap), n = 0;
		     hook_ai_set[j] && n < hook_ai_cap; j = (j + 1) & (hook_ai_cap - 1), n++) {
			if (hook_ai_set[j] == p) {
				hook_ai_set[j] = HOOK_AI_TOMB;
				found = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&hook_ai_lock);
	return found;
}

static void hook_ai_free_list(struct addrinfo *ai)
{
	while (ai) {
		struct addrinfo *next = ai->ai_next;

		free(ai->ai_canonname);
		free(ai);
		ai = next;
	}
}

/* Families this host can use, as AI_ADDRCONFIG means it: a configured
 * address other than loopback (and, for IPv6, link-local).  A host with
 * neither is treated as having both (nothing to go by). */
static void hook_host_families(bool *v4, bool *v6)
{
	struct ifaddrs *ifa, *p;

	*v4 = *v6 = false;
	if (getifaddrs(&ifa) < 0) {
		*v4 = *v6 = true;
		return;
	}
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr)
			continue;
		if (p->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)p->ifa_addr;

			if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
				*v4 = true;
		} else if (p->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)p->ifa_addr;

			if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) &&
			    !IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
				*v6 = true;
		}
	}
	freeifaddrs(ifa);
	if (!*v4 && !*v6)
		*v4 = *v6 = true;
}

/* A host string libc treats as an address, never a name. */
static bool hook_is_numeric(const char *node)
{
	struct in_addr a;

	return strchr(node, ':') != NULL || inet_aton(node, &a) != 0;
}

/* With `resolve auto`: does the name resolve natively to a family we have? */
static bool hook_native_ok(const char *node)
{
	const struct shim_syms *real = shim_syms();
	struct addrinfo hints, *res = NULL, *p;
	bool v4, v6, ok = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (real->getaddrinfo(node, NULL, &hints, &res) != 0)
		return false;
	hook_host_families(&v4, &v6);
	for (p = res; p; p = p->ai_next) {
		if ((p->ai_family == AF_INET && v4) || (p->ai_family == AF_INET6 && v6))
			ok = true;
	}
	real->freeaddrinfo(res);
	return ok;
}

/* Decide and assign.  1: synthetic entry in *e; 0: not ours, go to libc;
 * -1: a resolution error, *eai (EAI_*) and *herr (h_errno) set. */
static int hook_resolve_name(const char *node, struct synth_entry_info *e, int *eai, int *herr)
{
	const struct shim_conf *c = shim_conf();
	char canon[SYNTH_NAME_MAX + 1], host[256];
	struct synth *s;
	int saved = errno;

	if (!c || !node || hook_is_numeric(node) ||
	    synth_table_canon_name(node, strlen(node), canon) < 0 ||
	    shim_conf_bypass_name(c, canon))
		return 0;
	/* This machine's own name stays this machine's. */
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (strcasecmp(host, canon) == 0)
			return 0;
	}
	if (c->resolve == SHIM_RESOLVE_AUTO && hook_native_ok(node)) {
		errno = saved;
		return 0;
	}
	s = shim_synth();
	if (!s)
		return 0;
	/* A name already in the map was checked when it went in. */
	if (synth_lookup_name(s, canon, strlen(canon), e) == 0) {
		errno = saved;
		return 1;
	}
	if (c->verify_names && shim_gateway_verify(canon) == 0) {
		shim_log(SHIM_LOG_VERBOSE, "%s: no such name (gateway)", canon);
		*eai = EAI_NONAME;
		*herr = HOST_NOT_FOUND;
		errno = saved;
		return -1;
	}
	if (synth_assign(s, canon, strlen(canon), e) < 0) {
		int err = errno;

		shim_log(SHIM_LOG_WARN, "%s: %s", canon,
			 err == ENOSPC ? "synthetic pool full (every address used recently)"
				       : strerror(err));
		*eai = err == EINVAL ? EAI_NONAME : EAI_AGAIN;
		*herr = err == EINVAL ? HOST_NOT_FOUND : TRY_AGAIN;
		errno = saved;
		return -1;
	}
	shim_log(SHIM_LOG_VERBOSE, "%s -> synthetic %s", canon,
		 inet_ntop(AF_INET, &e->v4, host, sizeof(host)));
	errno = saved;
	return 1;
}

/* Deep copy of a libc list into shim memory. */
static struct addrinfo *hook_ai_copy(const struct addrinfo *src)
{
	struct addrinfo *head = NULL, **tail = &head;

	for (; src; src = src->ai_next) {
		struct addrinfo *ai = calloc(1, sizeof(*ai) + src->ai_addrlen);

		if (!ai) {
			hook_ai_free_list(head);
			return NULL;
		}
		*ai = *src;
		ai->ai_next = NULL;
		ai->ai_canonname = NULL;
		ai->ai_addr = (struct sockaddr *)(ai + 1);
		memcpy(ai->ai_addr, src->ai_addr, src->ai_addrlen);
		*tail = ai;
		tail = &ai->ai_next;
	}
	return head;
}

SHIM_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			    struct addrinfo **res)
{
	const struct shim_syms *real = shim_syms();
	struct synth_entry_info e;
	struct addrinfo h, *head = NULL, **tail = &head;
	int fams[2], nfam = 0, eai = 0, herr = 0, rc, family, flags;
	bool v4, v6;

	family = hints ? hints->ai_family : AF_UNSPEC;
	flags = hints ? hints->ai_flags : AI_V4MAPPED | AI_ADDRCONFIG;
	if (!node || (flags & AI_NUMERICHOST) ||
	    (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
		return real->getaddrinfo(node, service, hints, res);
	rc = hook_resolve_name(node, &e, &eai, &herr);
	if (rc == 0)
		return real->getaddrinfo(node, service, hints, res);
	if (rc < 0)
		return eai;

	/* The family asked for; AF_UNSPEC: what this host can use (all of
	 * them without AI_ADDRCONFIG), its own first. */
	hook_host_families(&v4, &v6);
	if (family == AF_INET || family == AF_INET6) {
		fams[nfam++] = family;
	} else if (flags & AI_ADDRCONFIG) {
		if (v4)
			fams[nfam++] = AF_INET;
		if (v6)
			fams[nfam++] = AF_INET6;
	} else {
		fams[nfam++] = v4 ? AF_INET : AF_INET6;
		fams[nfam++] = v4 ? AF_INET6 : AF_INET;
	}
	memset(&h, 0, sizeof(h));
	if (hints) {
		h.ai_socktype = hints->ai_socktype;
		h.ai_protocol = hints->ai_protocol;
	}
	h.ai_flags = (flags & AI_NUMERICSERV) | AI_NUMERICHOST;
	for (int i = 0; i < nfam; i++) {
		char lit[INET6_ADDRSTRLEN];
		struct addrinfo *part = NULL, *copy;

		inet_ntop(fams[i], fams[i] == AF_INET ? (void *)&e.v4 : (void *)&e.v6, lit,
			  sizeof(lit));
		h.ai_family = fams[i];
		rc = real->getaddrinfo(lit, service, &h, &part);
		if (rc != 0) {
			hook_ai_free_list(head);
			return rc; /* EAI_SERVICE, EAI_SOCKTYPE, ...: libc's own verdict */
		}
		copy = hook_ai_copy(part);
		real->freeaddrinfo(part);
		if (!copy) {
			hook_ai_free_list(head);
			return EAI_MEMORY;
		}
		*tail = copy;
		while (*tail)
			tail = &(*tail)->ai_next;
	}
	if (!head)
		return EAI_NONAME;
	if (flags & AI_CANONNAME) {
		head->ai_canonname = strdup(e.name);
		if (!head->ai_canonname) {
			hook_ai_free_list(head);
			return EAI_MEMORY;
		}
	}
	if (hook_ai_add(head) < 0) {
		hook_ai_free_list(head);
		return EAI_MEMORY;
	}
	*res = head;
	return 0;
}

SHIM_EXPORT void freeaddrinfo(struct addrinfo *ai)
{
	if (ai && hook_ai_remove(ai)) {
		hook_ai_free_list(ai);
		return;
	}
	shim_syms()->freeaddrinfo(ai);
}

/* Lay a one-address hostent out in buf (as the _r functions do). */
static int hook_hostent(struct hostent *he, char *buf, size_t buflen, const char *name, int af,
			const void *addr)
{
	size_t alen = af == AF_INET ? 4 : 16, nlen = strlen(name) + 1;
	size_t off = (nlen + sizeof(char *) - 1) & ~(sizeof(char *) - 1);
	char **ptrs;

	if (buflen < off + 3 * sizeof(char *) + alen)
		return ERANGE;
	memcpy(buf, name, nlen);
	ptrs = (char **)(buf + off);
	memcpy(buf + off + 3 * sizeof(char *), addr, alen);
	ptrs[0] = buf + off + 3 * sizeof(char *);
	ptrs[1] = NULL;
	ptrs[2] = NULL; /* aliases: none */
	he->h_name = buf;
	he->h_aliases = &ptrs[2];
	he->h_addrtype = af;
	he->h_length = (int)alen;
	he->h_addr_list = &ptrs[0];
	return 0;
}

/* Shared by the gethostbyname family: 1 answered (*result set or an error
 * in *ret and *herr), 0 not ours. */
static int hook_byname(const char *name, int af, struct hostent *he, char *buf, size_t buflen,
		       struct hostent **result, int *herr, int *ret)
{
	struct synth_entry_info e;
	int eai, rc;

	if (af != AF_INET && af != AF_INET6)
		return 0;
	rc = hook_resolve_name(name, &e, &eai, herr);
	if (rc == 0)
		return 0;
	*result = NULL;
	if (rc < 0) {
		*ret = *herr == TRY_AGAIN ? EAGAIN : ENOENT;
		return 1;
	}
	*ret = hook_hostent(he, buf, buflen, e.name, af, af == AF_INET ? (void *)&e.v4 : &e.v6);
	if (*ret == 0) {
		*result = he;
		*herr = NETDB_SUCCESS;
	} else {
		*herr = NETDB_INTERNAL;
	}
	return 1;
}

/* The non-_r forms return per-thread storage (libc's is per process). */
static __thread struct hostent hook_he;
static __thread char hook_he_buf[SYNTH_NAME_MAX + 1 + 64];

SHIM_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *he, char *buf,
				 size_t buflen, struct hostent **result, int *herr)
{
	int ret, h;

	if (hook_byname(name, af, he, buf, buflen, result, &h, &ret)) {
		if (herr)
			*herr = h;
		return ret;
	}
	return shim_syms()->gethostbyname2_r(name, af, he, buf, buflen, result, herr);
}

SHIM_EXPORT int gethostbyname_r(const char *name, struct hostent *he, char *buf, size_t buflen,
				struct hostent **result, int *herr)
{
	int ret, h;

	if (hook_byname(name, AF_INET, he, buf, buflen, result, &h, &ret)) {
		if (herr)
			*herr = h;
		return ret;
	}
	return shim_syms()->gethostbyname_r(name, he, buf, buflen, result, herr);
}

SHIM_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	struct hostent *result;
	int ret, h;

	if (hook_byname(name, af, &hook_he, hook_he_buf, sizeof(hook_he_buf), &result, &h, &ret)) {
		h_errno = h;
		return result;
	}
	return shim_syms()->gethostbyname2(name, af);
}

SHIM_EXPORT struct hostent *gethostbyname(const char *name)
{
	struct hostent *result;
	int ret, h;

	if (hook_byname(name, AF_INET, &hook_he, hook_he_buf, sizeof(hook_he_buf), &result, &h,
			&ret)) {
		h_errno = h;
		return result;
	}
	return shim_syms()->gethostbyname(name);
}

/* 1: addr is synthetic (entry in *e, or rc -1 when unknown); 0: not. */
static int hook_byaddr_lookup(const void *addr, socklen_t len, int type, struct synth_entry_info *e,
			      int *found)
{
	const struct shim_conf *c = shim_conf();
	struct synth *s;

	/* By configuration first: reverse lookups of real addresses never
	 * open the map. */
	if (!addr || !c)
		return 0;
	if (type == AF_INET && len == 4 && synth_table_config_in_pool_v4(&c->synth, addr)) {
		s = shim_synth();
		*found = s && synth_lookup_v4(s, addr, e) == 0;
		return 1;
	}
	if (type == AF_INET6 && len == 16 && synth_table_config_in_pool_v6(&c->synth, addr)) {
		s = shim_synth();
		*found = s && synth_lookup_v6(s, addr, e) == 0;
		return 1;
	}
	return 0;
}

SHIM_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *he,
				char *buf, size_t buflen, struct hostent **result, int *herr)
{
	struct synth_entry_info e;
	int found = 0, ret;

	if (!hook_byaddr_lookup(addr, len, type, &e, &found))
		return shim_syms()->gethostbyaddr_r(addr, len, type, he, buf, buflen, result, herr);
	*result = NULL;
	if (!found) {
		if (herr)
			*herr = HOST_NOT_FOUND;
		return ENOENT;
	}
	ret = hook_hostent(he, buf, buflen, e.name, type, addr);
	if (ret == 0)
		*result = he;
	if (herr)
		*herr = ret == 0 ? NETDB_SUCCESS : NETDB_INTERNAL;
	return ret;
}

SHIM_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	struct synth_entry_info e;
	int found = 0;

	if (!hook_byaddr_lookup(addr, len, type, &e, &found))
		return shim_syms()->gethostbyaddr(addr, len, type);
	if (!found ||
	    hook_hostent(&hook_he, hook_he_buf, sizeof(hook_he_buf), e.name, type, addr) != 0) {
		h_errno = HOST_NOT_FOUND;
		return NULL;
	}
	return &hook_he;
}

SHIM_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
			    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	const struct shim_syms *real = shim_syms();
	struct synth_entry_info e;
	int found = 0, rc;

	if (!sa || !host || hostlen == 0 || (flags & NI_NUMERICHOST))
		return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in))
		rc = hook_byaddr_lookup(&((const struct sockaddr_in *)sa)->sin_addr, 4, AF_INET, &e,
					&found);
	else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6))
		rc = hook_byaddr_lookup(&((const struct sockaddr_in6 *)sa)->sin6_addr, 16, AF_INET6,
					&e, &found);
	else
		rc = 0;
	if (!rc || !found) {
		if (rc && (flags & NI_NAMEREQD))
			return EAI_NONAME;
		return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	}
	if (serv && servlen) {
		/* The service part exactly as libc gives it. */
		rc = real->getnameinfo(sa, salen, NULL, 0, serv, servlen, flags);
		if (rc != 0)
			return rc;
	}
	if ((size_t)e.namelen + 1 > hostlen)
		return EAI_OVERFLOW;
	memcpy(host, e.name, (size_t)e.namelen + 1);
	return 0;
}
