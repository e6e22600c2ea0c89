/* auth_pass — RFC 1929 username/password: codec, users file, verification.
 *
 * The users file is kept as an array sorted by name (bsearch lookup); it is
 * read-only after auth_users_load(), so any number of threads may check
 * passwords against it at once. */
#include "auth_pass.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

_Static_assert(AUTH_PASS_HASH_MAX >= CRYPT_OUTPUT_SIZE, "AUTH_PASS_HASH_MAX below crypt(3) output");

/* ---- RFC 1929 §2 codec ---- */

/* One length-prefixed field (ULEN UNAME or PLEN PASSWD), borrowed from the
 * input rather than copied so the password is not spread over the stack. */
static enum codec_status auth_pass_field(struct cur *c, const uint8_t **p, uint8_t *n)
{
	if (!cur_u8(c, n))
		return CODEC_NEED_MORE;
	if (cur_left(c) < *n)
		return CODEC_NEED_MORE;
	*p = c->p + c->off;
	c->off += *n;
	/* A NUL cannot be stored in a users file, so such a field can never
	 * match; refusing it here keeps C strings honest downstream. */
	if (memchr(*p, '\0', *n) != NULL)
		return CODEC_ERR;
	return CODEC_OK;
}

enum codec_status auth_pass_parse_request(const uint8_t *in, size_t len, struct auth_pass_creds *c,
					  size_t *used)
{
	struct cur cu;
	uint8_t ver, ulen, plen;
	const uint8_t *uname, *passwd;
	enum codec_status st;

	cur_init(&cu, in, len);
	if (!cur_u8(&cu, &ver))
		return CODEC_NEED_MORE;
	/* §2: VER is 0x01, the version of the sub-negotiation; a 0x05 here is
	 * a client that skipped it. */
	if (ver != AUTH_PASS_VERSION)
		return CODEC_ERR;
	st = auth_pass_field(&cu, &uname, &ulen);
	if (st != CODEC_OK)
		return st;
	st = auth_pass_field(&cu, &passwd, &plen);
	if (st != CODEC_OK)
		return st;
	/* §2 says 1..255, but empty fields are sent in the wild (protocols.md
	 * §3); they parse and the policy refuses them. */
	memcpy(c->name, uname, ulen);
	c->name[ulen] = '\0';
	memcpy(c->password, passwd, plen);
	c->password[plen] = '\0';
	*used = cu.off;
	return CODEC_OK;
}

enum codec_status auth_pass_parse_reply(const uint8_t *in, size_t len, uint8_t *status,
					size_t *used)
{
	struct cur c;
	uint8_t ver, code;

	cur_init(&c, in, len);
	if (!cur_u8(&c, &ver))
		return CODEC_NEED_MORE;
	if (ver != AUTH_PASS_VERSION)
		return CODEC_ERR;
	if (!cur_u8(&c, &code))
		return CODEC_NEED_MORE;
	*status = code;
	*used = c.off;
	return CODEC_OK;
}

size_t auth_pass_build_request(uint8_t *out, size_t cap, const char *name, const char *password)
{
	size_t ulen = strlen(name), plen = strlen(password);
	struct wbuf w;

	if (ulen > AUTH_PASS_FIELD_MAX || plen > AUTH_PASS_FIELD_MAX)
		return 0;
	wbuf_init(&w, out, cap);
	wbuf_u8(&w, AUTH_PASS_VERSION);
	wbuf_u8(&w, (uint8_t)ulen);
	wbuf_bytes(&w, name, ulen);
	wbuf_u8(&w, (uint8_t)plen);
	wbuf_bytes(&w, password, plen);
	return w.err ? 0 : w.len;
}

size_t auth_pass_build_reply(uint8_t *out, size_t cap, uint8_t status)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_u8(&w, AUTH_PASS_VERSION);
	wbuf_u8(&w, status);
	return w.err ? 0 : w.len;
}

/* ---- users file ---- */

struct auth_user {
	char *name; /* "name\0hash\0" in one allocation */
	const char *hash;
	unsigned line;
};

struct auth_users {
	struct auth_user *v;
	size_t n;
	size_t cap;
};

/* crypt(3) kinds we accept: the ones libxcrypt still considers strong.
 * DES, MD5-crypt ($1$), SunMD5, NT and friends are refused. */
static const char *const auth_pass_kinds[] = {"$y$", "$gy$", "$7$", "$6$", "$5$", "$2b$", "$2y$"};

static void auth_pass_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void auth_pass_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool auth_pass_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* NULL if hash is a usable crypt(3) string, else why not. */
static const char *auth_pass_hash_problem(const char *hash)
{
	bool known = false;

	if (*hash == '\0')
		return "no password hash after ':'";
	for (const char *p = hash; *p != '\0'; p++) {
		if (*p == ':' || auth_pass_is_space(*p))
			return "unexpected ':' or blank in the hash (one name:hash per line)";
	}
	if (strlen(hash) >= CRYPT_OUTPUT_SIZE)
		return "hash too long";
	if (strncmp(hash, "$1$", 3) == 0)
		return "MD5-crypt hashes are refused; make a new hash with socks64d -p NAME";
	if (hash[0] != '$')
		return "not a crypt(3) hash (plain text and DES are refused); "
		       "make one with socks64d -p NAME";
	for (size_t i = 0; i < sizeof(auth_pass_kinds) / sizeof(auth_pass_kinds[0]); i++) {
		if (strncmp(hash, auth_pass_kinds[i], strlen(auth_pass_kinds[i])) == 0)
			known = true;
	}
	/* crypt_checksalt() calls $5$ "legacy" but it is still sound; only a
	 * setting this libcrypt cannot compute at all is fatal. */
	if (!known || crypt_checksalt(hash) == CRYPT_SALT_INVALID)
		return "unsupported hash kind (use yescrypt $y$, SHA-512 $6$, SHA-256 $5$ or "
		       "bcrypt $2b$); make one with socks64d -p NAME";
	return NULL;
}

/* Parse one line (len bytes, as read) and append its user, if any. */
static int auth_users_parse_line(struct auth_users *u, const char *path, unsigned lineno,
				 char *line, size_t len, char *err, size_t errlen)
{
	char *p = line, *colon, *hash, *copy;
	size_t namelen, hashlen;
	const char *why;
	struct auth_user *nv;

	if (memchr(line, '\0', len) != NULL) {
		auth_pass_errf(err, errlen, "%s:%u: NUL byte in line", path, lineno);
		return -1;
	}
	while (len > 0 && auth_pass_is_space(line[len - 1]))
		line[--len] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;

	colon = strchr(p, ':');
	if (colon == NULL) {
		auth_pass_errf(err, errlen, "%s:%u: expected name:hash", path, lineno);
		return -1;
	}
	namelen = (size_t)(colon - p);
	if (namelen == 0) {
		auth_pass_errf(err, errlen, "%s:%u: empty user name", path, lineno);
		return -1;
	}
	if (namelen > AUTH_PASS_FIELD_MAX) {
		auth_pass_errf(err, errlen, "%s:%u: user name longer than %d bytes", path, lineno,
			       AUTH_PASS_FIELD_MAX);
		return -1;
	}
	for (size_t i = 0; i < namelen; i++) {
		if (auth_pass_is_space(p[i])) {
			auth_pass_errf(err, errlen, "%s:%u: user name contains a blank", path,
				       lineno);
			return -1;
		}
	}
	*colon = '\0';
	hash = colon + 1;
	why = auth_pass_hash_problem(hash);
	if (why != NULL) {
		auth_pass_errf(err, errlen, "%s:%u: user %s: %s", path, lineno, p, why);
		return -1;
	}

	if (u->n == u->cap) {
		size_t ncap = u->cap ? 2 * u->cap : 16;

		nv = reallocarray(u->v, ncap, sizeof(*nv));
		if (nv == NULL)
			goto nomem;
		u->v = nv;
		u->cap = ncap;
	}
	hashlen = strlen(hash);
	copy = malloc(namelen + 1 + hashlen + 1);
	if (copy == NULL)
		goto nomem;
	memcpy(copy, p, namelen + 1);
	memcpy(copy + namelen + 1, hash, hashlen + 1);
	u->v[u->n].name = copy;
	u->v[u->n].hash = copy + namelen + 1;
	u->v[u->n].line = lineno;
	u->n++;
	return 0;
nomem:
	auth_pass_errf(err, errlen, "%s:%u: %s", path, lineno, strerror(errno));
	return -1;
}

static int auth_users_cmp(const void *a, const void *b)
{
	const struct auth_user *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* The file holds password hashes: others must not read (offline guessing)
 * nor write (adding themselves) it. */
static int auth_users_check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	unsigned mode;

	if (fstat(fd, &st) < 0) {
		auth_pass_errf(err, errlen, "users file %s: %s", path, strerror(errno));
		return -1;
	}
	mode = (unsigned)(st.st_mode & 07777);
	if (!S_ISREG(st.st_mode)) {
		auth_pass_errf(err, errlen, "users file %s is not a regular file", path);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		auth_pass_errf(err, errlen,
			       "users file %s is %s by others (mode %04o); chmod 600 or 640 it",
			       path, (st.st_mode & S_IROTH) ? "readable" : "writable", mode);
		return -1;
	}
	return 0;
}

struct auth_users *auth_users_load(const char *path, char *err, size_t errlen)
{
	struct auth_users *u = NULL;
	FILE *f = NULL;
	int fd;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t n;
	unsigned lineno = 0;

	/* O_NONBLOCK: a FIFO in its place must not hang the (re)load; it is
	 * refused by the mode check right after. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		auth_pass_errf(err, errlen, "users file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (auth_users_check_file(fd, path, err, errlen) < 0) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		auth_pass_errf(err, errlen, "users file %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		auth_pass_errf(err, errlen, "users file %s: %s", path, strerror(errno));
		goto fail;
	}
	while ((n = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		if (auth_users_parse_line(u, path, lineno, line, (size_t)n, err, errlen) < 0)
			goto fail;
	}
	if (ferror(f)) {
		auth_pass_errf(err, errlen, "users file %s: read error", path);
		goto fail;
	}

	if (u->n > 0)
		qsort(u->v, u->n, sizeof(u->v[0]), auth_users_cmp);
	for (size_t i = 1; i < u->n; i++) {
		const struct auth_user *a = &u->v[i - 1], *b = &u->v[i];

		if (strcmp(a->name, b->name) == 0) {
			unsigned first = a->line < b->line ? a->line : b->line;
			unsigned again = a->line < b->line ? b->line : a->line;

			auth_pass_errf(err, errlen, "%s:%u: duplicate user %s (first on line %u)",
				       path, again, a->name, first);
			goto fail;
		}
	}
	free(line);
	fclose(f);
	return u;
fail:
	free(line);
	fclose(f);
	auth_users_free(u);
	return NULL;
}

void auth_users_free(struct auth_users *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].name);
	free(u->v);
	free(u);
}

size_t auth_users_count(const struct auth_users *u)
{
	return u->n;
}

/* Compare two NUL-terminated strings in time that depends only on their
 * lengths (which are public: the stored hash's format fixes them). */
static bool auth_pass_ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	volatile unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)(i < lb ? b[i] : 0);
	return diff == 0;
}

bool auth_users_check(const struct auth_users *u, const char *name, const char *password)
{
	struct auth_user key = {.name = (char *)name};
	const struct auth_user *e = NULL;
	const char *hash, *out;
	struct crypt_data *cd;
	bool match;

	if (u == NULL || name == NULL || password == NULL || u->n == 0)
		return false;
	e = bsearch(&key, u->v, u->n, sizeof(u->v[0]), auth_users_cmp);
	/* Unknown names still pay for one crypt with a real hash from the
	 * file (same kind and cost), so response time does not reveal which
	 * names exist. */
	hash = e != NULL ? e->hash : u->v[0].hash;

	/* struct crypt_data is 32 KiB: too big for a small thread stack. */
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return false;
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	match = out != NULL && auth_pass_ct_streq(out, hash);
	/* The scratch area holds password-derived state. */
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	/* RFC 1929 §2 gives PLEN 1..255: an empty password never logs in,
	 * whatever hash the file holds. */
	return match && e != NULL && password[0] != '\0';
}

int auth_pass_hash(const char *password, char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int ret = -1, saved;

	/* NULL rbytes: libcrypt takes the salt from getentropy(). */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL &&
	    crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof(setting)) == NULL)
		return -1;
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return -1;
	h = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		if (errno == 0)
			errno = EINVAL;
		goto out;
	}
	if (strlen(h) >= outlen) {
		errno = ERANGE;
		goto out;
	}
	memcpy(out, h, strlen(h) + 1);
	ret = 0;
out:
	saved = errno;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	errno = saved;
	return ret;
}
