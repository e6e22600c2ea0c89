/* auth_pass — RFC 1929 username/password authentication for SOCKS5: the
 * sub-negotiation codec (pure, same conventions as socks5.h), the users file
 * (name:crypt(3)-hash per line) and password verification through libcrypt.
 *
 * Cost: verifying a yescrypt (or bcrypt) hash takes milliseconds of CPU by
 * design; auth_users_check() is thread-safe and may run on the event loop or
 * on a helper thread — the caller decides. */
#ifndef SOCKS64_AUTH_PASS_H
#define SOCKS64_AUTH_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socks5.h"

/* RFC 1929 §2: the sub-negotiation has its own version, 0x01 (not 0x05). */
#define AUTH_PASS_VERSION 0x01
/* §2: 0 is success; anything else is failure and the server closes. */
#define AUTH_PASS_STATUS_OK 0x00
#define AUTH_PASS_STATUS_FAIL 0x01

#define AUTH_PASS_FIELD_MAX 255
/* VER ULEN UNAME PLEN PASSWD */
#define AUTH_PASS_REQUEST_MAX (3 + 2 * AUTH_PASS_FIELD_MAX)
/* VER STATUS */
#define AUTH_PASS_REPLY_LEN 2

/* Room for crypt(3) output (CRYPT_OUTPUT_SIZE in <crypt.h>). */
#define AUTH_PASS_HASH_MAX 384

struct auth_pass_creds {
	char name[AUTH_PASS_FIELD_MAX + 1]; /* NUL-terminated, may be empty */
	char password[AUTH_PASS_FIELD_MAX + 1]; /* wipe with explicit_bzero() after use */
};

/* Client request: VER=1 ULEN UNAME PLEN PASSWD.  CODEC_ERR for VER != 1 (at
 * the first byte) or a field that contains a NUL byte (it could never match a
 * users-file entry).  ULEN = 0 and PLEN = 0 parse fine: policy decides
 * (protocols.md §3: Tor and macOS send empty fields). */
enum codec_status auth_pass_parse_request(const uint8_t *in, size_t len, struct auth_pass_creds *c,
					  size_t *used);

/* Server reply VER=1 STATUS, for the client side (shim, tests).  CODEC_ERR for
 * VER != 1 (the common 0x05 bug). */
enum codec_status auth_pass_parse_reply(const uint8_t *in, size_t len, uint8_t *status,
					size_t *used);

/* Writers return the number of bytes written, or 0 if out is too small or a
 * field is longer than 255 bytes. */
size_t auth_pass_build_request(uint8_t *out, size_t cap, const char *name, const char *password);
size_t auth_pass_build_reply(uint8_t *out, size_t cap, uint8_t status);

/* The users file: one "name:hash" per line; blank lines and lines starting
 * with '#' are ignored.  Names are 1..255 bytes without ':' or whitespace;
 * hashes are crypt(3) strings of a modern kind (yescrypt $y$, gost-yescrypt
 * $gy$, scrypt $7$, SHA-512 $6$, SHA-256 $5$, bcrypt $2b$/$2y$).  DES,
 * MD5-crypt and plain text are refused.  The file must be a regular file that
 * others cannot read or write. */
struct auth_users;

/* NULL on error with a one-line reason in err ("FILE:LINE: ..." for a bad
 * line, "users file FILE is readable by others (mode 0644); chmod 600 or 640
 * it" for the mode).  An empty file loads as zero users. */
struct auth_users *auth_users_load(const char *path, char *err, size_t errlen);
void auth_users_free(struct auth_users *u);
size_t auth_users_count(const struct auth_users *u);

/* True if name exists and password matches its hash.  Constant-time
 * comparison of the crypt output; an unknown name still costs one crypt with
 * a hash of the same kind so timing does not tell which names exist.  An
 * empty password never matches.  Thread-safe; u is read-only. */
bool auth_users_check(const struct auth_users *u, const char *name, const char *password);

/* A fresh crypt(3) hash of password for a users-file line: yescrypt with
 * default cost, SHA-512 if this libcrypt lacks yescrypt; the salt comes from
 * the kernel.  Returns 0, or -1 with errno (ERANGE if outlen is too small). */
int auth_pass_hash(const char *password, char *out, size_t outlen);

#endif
