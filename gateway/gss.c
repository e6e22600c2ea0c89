/* gss — RFC 1961 over MIT Kerberos GSS-API.  Every GSS call is made here so
 * the session, relay, UDP and shim code only see whole RFC 1961 messages,
 * levels and plaintext. */
#include "gss.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>

/* Replays among the supplementary bits of a successful unwrap (the others,
 * GSS_S_UNSEQ_TOKEN and GSS_S_GAP_TOKEN, report reordering and loss). */
#define GSS_SUPP_REPLAY (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN)

struct gss_acceptor {
	gss_cred_id_t cred;
	krb5_context kctx;
	krb5_keytab keys; /* MEMORY: copy of the configured keytab, held open */
	char desc[200];
};

struct gss_ctx {
	gss_ctx_id_t ctx;
	gss_cred_id_t cred; /* client: acquired from a ccache (owned) */
	const struct gss_acceptor *acceptor; /* server: borrowed */
	gss_name_t target; /* client */
	OM_uint32 flags; /* ret_flags of the last establishment call */
	bool client;
	bool established;
	uint8_t level;
	size_t max_plain;
	char *peer;
};

/* ---- error lines ---- */

static void gss_err_printf(struct gss_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void gss_err_printf(struct gss_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Append every message gss_display_status() has for code to err->msg at
 * *off, separated by "; ", keeping it one line. */
static void gss_err_append_status(struct gss_err *err, size_t *off, OM_uint32 code, int type)
{
	OM_uint32 major, minor, msgctx = 0;
	gss_buffer_desc text;
	int n;

	do {
		text.length = 0;
		text.value = NULL;
		major = gss_display_status(&minor, code, type, GSS_C_NO_OID, &msgctx, &text);
		if (GSS_ERROR(major))
			break;
		if (*off < sizeof(err->msg)) {
			n = snprintf(err->msg + *off, sizeof(err->msg) - *off, "; %.*s",
				     (int)text.length, (const char *)text.value);
			if (n > 0)
				*off += (size_t)n;
		}
		gss_release_buffer(&minor, &text);
	} while (msgctx != 0);
}

/* "what: major text; minor text" on one line.  The generic "Unspecified
 * GSS failure" major text is left out when the minor code explains it. */
static void gss_err_status(struct gss_err *err, const char *what, OM_uint32 major, OM_uint32 minor)
{
	size_t off, start;

	if (err == NULL)
		return;
	off = (size_t)snprintf(err->msg, sizeof(err->msg), "%s:", what);
	start = off;
	if (!(GSS_ROUTINE_ERROR(major) == GSS_S_FAILURE && minor != 0) || major == 0)
		gss_err_append_status(err, &off, major, GSS_C_GSS_CODE);
	if (minor != 0)
		gss_err_append_status(err, &off, minor, GSS_C_MECH_CODE);
	if (off >= sizeof(err->msg))
		off = sizeof(err->msg) - 1;
	/* "what:; text" -> "what: text" */
	if (off > start + 1 && err->msg[start] == ';')
		memmove(err->msg + start, err->msg + start + 1, off - start);
	for (char *p = err->msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
}

static gss_OID_set_desc gss_krb5_only(void)
{
	/* §9: accept and initiate with krb5 only, never a negotiated weaker
	 * mechanism. */
	gss_OID_set_desc set = {1, gss_mech_krb5};

	return set;
}

/* A name that contains '/' is a full Kerberos principal; anything else is
 * a host-based service, "service" or "service@host" (as Dante and curl
 * treat their service option). */
static int gss_import(const char *str, gss_name_t *name, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_buffer_desc buf = {strlen(str), (void *)str};
	gss_OID type =
		strchr(str, '/') ? (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME : GSS_C_NT_HOSTBASED_SERVICE;

	major = gss_import_name(&minor, &buf, type, name);
	if (GSS_ERROR(major)) {
		gss_err_status(err, "import name", major, minor);
		return -1;
	}
	return 0;
}

static char *gss_name_str(gss_name_t name)
{
	OM_uint32 major, minor;
	gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
	char *s;

	major = gss_display_name(&minor, name, &buf, NULL);
	if (GSS_ERROR(major))
		return strdup("?");
	s = strndup(buf.value, buf.length);
	gss_release_buffer(&minor, &buf);
	return s;
}

/* ---- acceptor credentials ---- */

/* A file keytab that cannot be read gets the system's reason: MIT would
 * only say "nonexistent or empty". */
static int gss_keytab_check(const char *keytab, struct gss_err *err)
{
	struct stat st;
	const char *path = keytab;
	const char *colon = strchr(keytab, ':');

	if (strncmp(keytab, "FILE:", 5) == 0)
		path = keytab + 5;
	else if (colon != NULL && keytab[0] != '/')
		return 0; /* another keytab type: MIT will tell */
	if (access(path, R_OK) != 0) {
		gss_err_printf(err, "keytab %s: %s", path, strerror(errno));
		return -1;
	}
	/* MIT calls an empty file a bad format version. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		gss_err_printf(err, "keytab %s: empty file, holds no keys", path);
		return -1;
	}
	return 0;
}

/* The keys of KEYTAB (NULL: the default keytab) copied into a MEMORY:
 * keytab of our own.  MIT reads a file keytab again at every
 * gss_accept_sec_context(), so a credential naming the file would stop
 * accepting when the file is removed or replaced, although the running
 * configuration was built from it and a failed reload keeps it; the copy
 * makes the keys part of the configuration snapshot, like the users file.
 * The MEMORY keytab lives while a handle to it is open: ours, closed in
 * gss_acceptor_free() after the credential that also holds one. */
static int gss_keytab_copy(struct gss_acceptor *a, const char *keytab, char *mem_name,
			   size_t mem_len, struct gss_err *err)
{
	static unsigned long serial;
	krb5_keytab src = NULL;
	krb5_kt_cursor cur;
	krb5_keytab_entry e;
	krb5_error_code ret;
	const char *what = keytab != NULL ? keytab : "the default keytab";
	const char *msg;
	unsigned n = 0;

	ret = krb5_init_context(&a->kctx);
	if (ret != 0) {
		a->kctx = NULL;
		gss_err_printf(err, "keytab %s: Kerberos library: %s", what, strerror(ret));
		return -1;
	}
	ret = keytab != NULL ? krb5_kt_resolve(a->kctx, keytab, &src)
			     : krb5_kt_default(a->kctx, &src);
	if (ret != 0)
		goto krb_fail;
	/* Configurations are built one at a time (start, reload), but the
	 * counter is atomic anyway: names must never be reused while an
	 * older snapshot's copy is still open. */
	snprintf(mem_name, mem_len, "MEMORY:socks64d-acceptor-%lu",
		 __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
	ret = krb5_kt_resolve(a->kctx, mem_name, &a->keys);
	if (ret != 0) {
		a->keys = NULL;
		goto krb_fail;
	}
	ret = krb5_kt_start_seq_get(a->kctx, src, &cur);
	if (ret != 0)
		goto krb_fail;
	while ((ret = krb5_kt_next_entry(a->kctx, src, &e, &cur)) == 0) {
		ret = krb5_kt_add_entry(a->kctx, a->keys, &e);
		krb5_free_keytab_entry_contents(a->kctx, &e);
		if (ret != 0)
			break;
		n++;
	}
	krb5_kt_end_seq_get(a->kctx, src, &cur);
	if (ret != KRB5_KT_END)
		goto krb_fail;
	krb5_kt_close(a->kctx, src);
	if (n == 0) {
		gss_err_printf(err, "keytab %s: holds no keys", what);
		return -1;
	}
	return 0;
krb_fail:
	msg = krb5_get_error_message(a->kctx, ret);
	gss_err_printf(err, "keytab %s: %s", what, msg);
	krb5_free_error_message(a->kctx, msg);
	if (src != NULL)
		krb5_kt_close(a->kctx, src);
	return -1;
}

struct gss_acceptor *gss_acceptor_new(const char *keytab, const char *service, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_OID_set_desc mechs = gss_krb5_only();
	char mem_name[64];
	gss_key_value_element_desc kv = {"keytab", mem_name};
	gss_key_value_set_desc store = {1, &kv};
	gss_name_t name = GSS_C_NO_NAME;
	struct gss_acceptor *a = NULL;
	bool any = service == NULL || service[0] == '\0';

	if (keytab != NULL && gss_keytab_check(keytab, err) != 0)
		goto fail;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		gss_err_printf(err, "acceptor: %s", strerror(ENOMEM));
		goto fail;
	}
	snprintf(a->desc, sizeof(a->desc), "%s%s in %s", any ? "any service" : "service ",
		 any ? "" : service, keytab != NULL ? keytab : "the default keytab");
	if (gss_keytab_copy(a, keytab, mem_name, sizeof(mem_name), err) != 0)
		goto fail;
	if (!any && gss_import(service, &name, err) != 0)
		goto fail;
	/* A cred store rather than KRB5_KTNAME or
	 * krb5_gss_register_acceptor_identity(): those are process-wide, and
	 * a reload must be able to build a new credential beside the one live
	 * sessions still use. */
	major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &store,
				      &a->cred, NULL, NULL);
	if (GSS_ERROR(major)) {
		char what[GSS_ERR_MAX];

		snprintf(what, sizeof(what), "acceptor credentials (%s)", a->desc);
		gss_err_status(err, what, major, minor);
		goto fail;
	}
	if (name != GSS_C_NO_NAME)
		gss_release_name(&minor, &name);
	return a;
fail:
	if (name != GSS_C_NO_NAME)
		gss_release_name(&minor, &name);
	gss_acceptor_free(a);
	return NULL;
}

void gss_acceptor_free(struct gss_acceptor *a)
{
	OM_uint32 minor;

	if (a == NULL)
		return;
	if (a->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &a->cred);
	if (a->keys != NULL)
		krb5_kt_close(a->kctx, a->keys); /* the last handle: frees the keys */
	if (a->kctx != NULL)
		krb5_free_context(a->kctx);
	free(a);
}

const char *gss_acceptor_desc(const struct gss_acceptor *a)
{
	return a != NULL ? a->desc : "any service in the default keytab";
}

/* ---- contexts ---- */

static struct gss_ctx *gss_ctx_alloc(bool client)
{
	struct gss_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ctx = GSS_C_NO_CONTEXT;
	c->cred = GSS_C_NO_CREDENTIAL;
	c->target = GSS_C_NO_NAME;
	c->client = client;
	return c;
}

void gss_ctx_free(struct gss_ctx *c)
{
	OM_uint32 minor;

	if (c == NULL)
		return;
	/* §6: the context is deleted locally; no token goes on the wire. */
	if (c->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &c->ctx, GSS_C_NO_BUFFER);
	if (c->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &c->cred);
	if (c->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &c->target);
	free(c->peer);
	free(c);
}

const char *gss_ctx_peer(const struct gss_ctx *c)
{
	return c->peer != NULL ? c->peer : "";
}

unsigned gss_ctx_levels(const struct gss_ctx *c)
{
	unsigned m = GSS_LEVEL_BIT(GSS_LEVEL_NONE);

	if (!c->established)
		return m;
	if (c->flags & GSS_C_INTEG_FLAG)
		m |= GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY);
	if ((c->flags & GSS_C_INTEG_FLAG) && (c->flags & GSS_C_CONF_FLAG))
		m |= GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY);
	return m;
}

/* Frame a token produced by the library as one message. */
static int gss_put(uint8_t mtyp, const gss_buffer_desc *tok, uint8_t *out, size_t cap,
		   size_t *outlen, struct gss_err *err)
{
	size_t n;

	if (tok->length > GSS_FRAME_TOKEN_MAX) {
		gss_err_printf(err, "token of %zu bytes exceeds RFC 1961's 65535", tok->length);
		return -1;
	}
	n = gss_frame_build(out, cap, mtyp, tok->value, tok->length);
	if (n == 0) {
		gss_err_printf(err, "output buffer of %zu bytes too small for a %zu-byte token",
			       cap, tok->length);
		return -1;
	}
	*outlen = n;
	return 0;
}

struct gss_ctx *gss_srv_new(const struct gss_acceptor *a)
{
	struct gss_ctx *c = gss_ctx_alloc(false);

	if (c != NULL)
		c->acceptor = a;
	return c;
}

enum gss_step gss_srv_step(struct gss_ctx *c, const uint8_t *tok, size_t len, uint8_t *out,
			   size_t cap, size_t *outlen, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_buffer_desc in = {len, (void *)tok};
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	gss_name_t src = GSS_C_NO_NAME;
	gss_cred_id_t cred = c->acceptor != NULL ? c->acceptor->cred : GSS_C_NO_CREDENTIAL;
	enum gss_step st = GSS_STEP_ERR;

	*outlen = 0;
	if (c->client || c->established) {
		gss_err_printf(err, "accept: context already established");
		goto fail;
	}
	if (len == 0) {
		gss_err_printf(err, "accept: empty token from the client");
		goto fail;
	}
	/* §3.6; no channel bindings (none in RFC 1961, and the addresses
	 * change in translation); NULL delegated_cred_handle discards any
	 * forwarded TGT. */
	major = gss_accept_sec_context(&minor, &c->ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &src,
				       NULL, &ob, &c->flags, NULL, NULL);
	if (GSS_ERROR(major)) {
		/* A KRB-ERROR token may come back; RFC 1961 has no place for
		 * it, the abort says it all. */
		gss_err_status(err, "accept", major, minor);
		goto fail;
	}
	if (major & GSS_S_CONTINUE_NEEDED) {
		if (gss_put(GSS_FRAME_AUTH, &ob, out, cap, outlen, err) != 0)
			goto fail;
		st = GSS_STEP_CONTINUE;
		goto out;
	}
	/* §3.7: with nothing to send, a zero-length token says "ready". */
	if (gss_put(GSS_FRAME_AUTH, &ob, out, cap, outlen, err) != 0)
		goto fail;
	c->peer = gss_name_str(src);
	if (c->peer == NULL) {
		gss_err_printf(err, "accept: %s", strerror(ENOMEM));
		goto fail;
	}
	c->established = true;
	st = GSS_STEP_DONE;
	goto out;
fail:
	/* §3.8 */
	*outlen = gss_frame_build_abort(out, cap);
out:
	gss_release_buffer(&minor, &ob);
	if (src != GSS_C_NO_NAME)
		gss_release_name(&minor, &src);
	return st;
}

struct gss_ctx *gss_cli_new(const char *service, const char *host, const char *ccache,
			    struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_OID_set_desc mechs = gss_krb5_only();
	gss_key_value_element_desc kv = {"ccache", ccache};
	gss_key_value_set_desc store = {1, &kv};
	struct gss_ctx *c = gss_ctx_alloc(true);
	char *target = NULL;

	if (c == NULL) {
		gss_err_printf(err, "init: %s", strerror(ENOMEM));
		return NULL;
	}
	if (strchr(service, '/') != NULL)
		target = strdup(service);
	else if (asprintf(&target, "%s@%s", service, host) < 0)
		target = NULL;
	if (target == NULL) {
		gss_err_printf(err, "init: %s", strerror(ENOMEM));
		goto fail;
	}
	if (gss_import(target, &c->target, err) != 0)
		goto fail;
	if (ccache != NULL) {
		major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
					      GSS_C_INITIATE, &store, &c->cred, NULL, NULL);
		if (GSS_ERROR(major)) {
			gss_err_status(err, "client credentials", major, minor);
			goto fail;
		}
	}
	free(target);
	return c;
fail:
	free(target);
	gss_ctx_free(c);
	return NULL;
}

enum gss_step gss_cli_step(struct gss_ctx *c, const uint8_t *tok, size_t len, uint8_t *out,
			   size_t cap, size_t *outlen, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_buffer_desc in = {len, (void *)tok};
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	gss_name_t targ = GSS_C_NO_NAME;
	/* §3.2; SEQUENCE because the context also protects a TCP stream. */
	OM_uint32 want = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG |
			 GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG;
	enum gss_step st = GSS_STEP_ERR;

	*outlen = 0;
	if (!c->client || c->established) {
		gss_err_printf(err, "init: context already established");
		return GSS_STEP_ERR;
	}
	if ((tok == NULL) != (c->ctx == GSS_C_NO_CONTEXT)) {
		gss_err_printf(err, "init: %s",
			       tok == NULL ? "server token missing" : "unexpected server token");
		return GSS_STEP_ERR;
	}
	major = gss_init_sec_context(&minor, c->cred, &c->ctx, c->target, gss_mech_krb5, want,
				     GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS,
				     tok != NULL ? &in : GSS_C_NO_BUFFER, NULL, &ob, &c->flags,
				     NULL);
	if (GSS_ERROR(major)) {
		gss_err_status(err, "init", major, minor);
		goto out;
	}
	if (ob.length > 0 && gss_put(GSS_FRAME_AUTH, &ob, out, cap, outlen, err) != 0)
		goto out;
	if (major & GSS_S_CONTINUE_NEEDED) {
		st = GSS_STEP_CONTINUE;
		goto out;
	}
	if (!(c->flags & GSS_C_MUTUAL_FLAG)) {
		gss_err_printf(err, "init: the gateway did not authenticate itself (no mutual "
				    "authentication)");
		*outlen = 0;
		goto out;
	}
	major = gss_inquire_context(&minor, c->ctx, NULL, &targ, NULL, NULL, NULL, NULL, NULL);
	c->peer = GSS_ERROR(major) ? strdup("?") : gss_name_str(targ);
	if (c->peer == NULL) {
		gss_err_printf(err, "init: %s", strerror(ENOMEM));
		*outlen = 0;
		goto out;
	}
	c->established = true;
	st = GSS_STEP_DONE;
out:
	gss_release_buffer(&minor, &ob);
	if (targ != GSS_C_NO_NAME)
		gss_release_name(&minor, &targ);
	return st;
}

/* ---- protection level (§4) ---- */

int gss_level_build(struct gss_ctx *c, uint8_t level, bool bare, uint8_t *out, size_t cap,
		    size_t *outlen, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_buffer_desc in = {1, &level};
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	int rc;

	*outlen = 0;
	if (!c->established) {
		gss_err_printf(err, "protection level: context not established");
		return -1;
	}
	if (bare)
		return gss_put(GSS_FRAME_LEVEL, &in, out, cap, outlen, err);
	/* §4.3: integrity only, whatever level is being announced. */
	major = gss_wrap(&minor, c->ctx, 0, GSS_C_QOP_DEFAULT, &in, NULL, &ob);
	if (GSS_ERROR(major)) {
		gss_err_status(err, "protection level: wrap", major, minor);
		return -1;
	}
	rc = gss_put(GSS_FRAME_LEVEL, &ob, out, cap, outlen, err);
	gss_release_buffer(&minor, &ob);
	return rc;
}

/* gss_unwrap with the output copied to out.  *supp gets the supplementary
 * bits; a routine error or a missing required confidentiality is -1. */
static int gss_unwrap_token(struct gss_ctx *c, const char *what, const uint8_t *tok, size_t len,
			    bool need_conf, uint8_t *out, size_t cap, size_t *outlen,
			    OM_uint32 *supp, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_buffer_desc in = {len, (void *)tok};
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	int conf = 0, rc = -1;

	*outlen = 0;
	*supp = 0;
	if (len == 0) {
		gss_err_printf(err, "%s: empty token", what);
		return -1;
	}
	major = gss_unwrap(&minor, c->ctx, &in, &ob, &conf, NULL);
	if (GSS_ERROR(major)) {
		gss_err_status(err, what, major, minor);
		goto out;
	}
	*supp = GSS_SUPPLEMENTARY_INFO(major);
	if (*supp != 0)
		gss_err_status(err, what, *supp, 0);
	if (need_conf && !conf) {
		gss_err_printf(err, "%s: token without confidentiality at level confidentiality",
			       what);
		goto out;
	}
	if (ob.length > cap) {
		gss_err_printf(err, "%s: %zu bytes do not fit in %zu", what, ob.length, cap);
		goto out;
	}
	if (ob.length > 0)
		memcpy(out, ob.value, ob.length);
	*outlen = ob.length;
	rc = 0;
out:
	gss_release_buffer(&minor, &ob);
	return rc;
}

int gss_level_parse(struct gss_ctx *c, const uint8_t *tok, size_t len, bool bare_ok, uint8_t *level,
		    bool *bare, struct gss_err *err)
{
	uint8_t buf[64];
	size_t n;
	OM_uint32 supp;

	*bare = false;
	if (!c->established) {
		gss_err_printf(err, "protection level: context not established");
		return -1;
	}
	/* No wrapped token is one octet long, so one octet is the NEC form
	 * (curl --socks5-gssapi-nec, Dante clientcompatibility necgssapi). */
	if (len == 1) {
		if (!bare_ok) {
			gss_err_printf(err, "protection level sent unwrapped (NEC style), "
					    "not enabled");
			return -1;
		}
		*level = tok[0];
		*bare = true;
		return 0;
	}
	if (gss_unwrap_token(c, "protection level: unwrap", tok, len, false, buf, sizeof(buf), &n,
			     &supp, err) != 0)
		return -1;
	/* The first message each way: anything out of sequence is forged. */
	if (supp != 0)
		return -1;
	if (n != 1) {
		gss_err_printf(err, "protection level: %zu octets instead of 1", n);
		return -1;
	}
	*level = buf[0];
	return 0;
}

int gss_ctx_set_level(struct gss_ctx *c, uint8_t level, struct gss_err *err)
{
	OM_uint32 major, minor, max = 0;

	if (!c->established) {
		gss_err_printf(err, "protection level: context not established");
		return -1;
	}
	if (level > GSS_LEVEL_CONFIDENTIALITY || !(gss_ctx_levels(c) & GSS_LEVEL_BIT(level))) {
		gss_err_printf(err, "protection level %u (%s) not available", level,
			       gss_frame_level_str(level));
		return -1;
	}
	c->level = level;
	c->max_plain = 0;
	if (level == GSS_LEVEL_NONE)
		return 0;
	major = gss_wrap_size_limit(&minor, c->ctx, level == GSS_LEVEL_CONFIDENTIALITY,
				    GSS_C_QOP_DEFAULT, GSS_FRAME_TOKEN_MAX, &max);
	if (GSS_ERROR(major) || max == 0) {
		gss_err_status(err, "wrap size limit", major, minor);
		return -1;
	}
	c->max_plain = max;
	return 0;
}

uint8_t gss_ctx_level(const struct gss_ctx *c)
{
	return c->level;
}

size_t gss_ctx_max_plain(const struct gss_ctx *c)
{
	return c->max_plain;
}

/* Largest plaintext whose message fits in room bytes (header included). */
static size_t gss_plain_fits(struct gss_ctx *c, size_t room)
{
	OM_uint32 major, minor, max = 0;

	if (room <= GSS_FRAME_HDR_LEN)
		return 0;
	if (room >= GSS_FRAME_MAX)
		return c->max_plain;
	major = gss_wrap_size_limit(&minor, c->ctx, c->level == GSS_LEVEL_CONFIDENTIALITY,
				    GSS_C_QOP_DEFAULT, (OM_uint32)(room - GSS_FRAME_HDR_LEN), &max);
	if (GSS_ERROR(major))
		return 0;
	return max < c->max_plain ? max : c->max_plain;
}

int gss_wrap_msg(struct gss_ctx *c, const void *in, size_t len, uint8_t *out, size_t cap,
		 size_t *outlen, struct gss_err *err)
{
	OM_uint32 major, minor;
	gss_buffer_desc ib = {len, (void *)in};
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	int rc;

	*outlen = 0;
	if (c->level != GSS_LEVEL_INTEGRITY && c->level != GSS_LEVEL_CONFIDENTIALITY) {
		gss_err_printf(err, "wrap: no per-message protection at level %s",
			       gss_frame_level_str(c->level));
		return -1;
	}
	if (len > c->max_plain) {
		gss_err_printf(err, "wrap: %zu bytes exceed the %zu-byte token limit", len,
			       c->max_plain);
		return -1;
	}
	/* Check room first: a wrapped token has used a sequence number and
	 * must be sent. */
	if (len > gss_plain_fits(c, cap)) {
		gss_err_printf(err, "wrap: output buffer of %zu bytes too small", cap);
		return -1;
	}
	major = gss_wrap(&minor, c->ctx, c->level == GSS_LEVEL_CONFIDENTIALITY, GSS_C_QOP_DEFAULT,
			 &ib, NULL, &ob);
	if (GSS_ERROR(major)) {
		gss_err_status(err, "wrap", major, minor);
		return -1;
	}
	rc = gss_put(GSS_FRAME_DATA, &ob, out, cap, outlen, err);
	gss_release_buffer(&minor, &ob);
	return rc;
}

int gss_wrap_stream(struct gss_ctx *c, const void *in, size_t len, uint8_t *out, size_t cap,
		    size_t *consumed, size_t *outlen, struct gss_err *err)
{
	const uint8_t *p = in;
	size_t used = 0, written = 0, n, fits, w;

	*consumed = 0;
	*outlen = 0;
	while (used < len) {
		fits = gss_plain_fits(c, cap - written);
		if (fits == 0)
			break;
		n = len - used < fits ? len - used : fits;
		if (gss_wrap_msg(c, p + used, n, out + written, cap - written, &w, err) != 0)
			return -1;
		used += n;
		written += w;
	}
	*consumed = used;
	*outlen = written;
	return 0;
}

int gss_unwrap_msg(struct gss_ctx *c, const uint8_t *tok, size_t len, uint8_t *out, size_t cap,
		   size_t *outlen, struct gss_err *err)
{
	OM_uint32 supp;

	if (c->level != GSS_LEVEL_INTEGRITY && c->level != GSS_LEVEL_CONFIDENTIALITY) {
		gss_err_printf(err, "unwrap: no per-message protection at level %s",
			       gss_frame_level_str(c->level));
		*outlen = 0;
		return -1;
	}
	if (gss_unwrap_token(c, "unwrap", tok, len, c->level == GSS_LEVEL_CONFIDENTIALITY, out, cap,
			     outlen, &supp, err) != 0)
		return -1;
	/* A reliable stream has no gaps, repeats or reordering: each is an
	 * attack on the stream. */
	if (supp != 0) {
		*outlen = 0;
		return -1;
	}
	return 0;
}

int gss_unwrap_dgram(struct gss_ctx *c, const uint8_t *dgram, size_t len, uint8_t *out, size_t cap,
		     size_t *outlen, struct gss_err *err)
{
	struct gss_frame f;
	size_t used = 0;
	OM_uint32 supp;

	*outlen = 0;
	if (c->level != GSS_LEVEL_INTEGRITY && c->level != GSS_LEVEL_CONFIDENTIALITY) {
		gss_err_printf(err, "unwrap datagram: no per-message protection at level %s",
			       gss_frame_level_str(c->level));
		return -1;
	}
	/* §5: a datagram is exactly one 01 03 len token message. */
	if (gss_frame_parse(dgram, len, GSS_FRAME_TOKEN_MAX, &f, &used) != CODEC_OK ||
	    f.mtyp != GSS_FRAME_DATA || used != len) {
		gss_err_printf(err, "unwrap datagram: not one RFC 1961 message (%zu bytes)", len);
		return -1;
	}
	if (gss_unwrap_token(c, "unwrap datagram", f.token, f.len,
			     c->level == GSS_LEVEL_CONFIDENTIALITY, out, cap, outlen, &supp,
			     err) != 0)
		return -1;
	/* Loss and reordering are what UDP does; a repeat is a replay. */
	if (supp & GSS_SUPP_REPLAY) {
		*outlen = 0;
		return 1;
	}
	return 0;
}
