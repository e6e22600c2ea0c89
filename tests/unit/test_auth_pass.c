/* Unit tests for RFC 1929: the sub-negotiation codec byte by byte, the users
 * file (good, bad lines with file:line, duplicates, modes, non-files) and
 * password checks against hashes made by auth_pass_hash() and libcrypt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_pass.h"
#include "codec_feed.h"
#define TEST_ERRLEN 512
#define TEST_MAX_FILES 64

/* ---- codec (RFC 1929 §2) ---- */

static enum codec_status test_parse_pass(const uint8_t *in, size_t len, void *out, size_t *used,
					 uint8_t *rep)
{
	(void)rep;
	return auth_pass_parse_request(in, len, out, used);
}

/* A pipelined SOCKS5 request after each complete sub-negotiation. */
static void test_feed_ok(const uint8_t *msg, size_t len, struct auth_pass_creds *c)
{
	codec_feed_ok(test_parse_pass, msg, len, c, sizeof(*c), "\x05\x01\x00", 3);
}

static void test_feed_err(const uint8_t *msg, size_t len, size_t err_at)
{
	struct auth_pass_creds c;

	codec_feed_err_at(test_parse_pass, msg, len, err_at, &c, sizeof(c));
}

/* VER ULEN UNAME PLEN PASSWD from raw fields (which may hold NULs). */
static size_t test_msg(uint8_t *out, uint8_t ver, const void *u, size_t ulen, const void *p,
		       size_t plen)
{
	out[0] = ver;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, u, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, p, plen);
	return 3 + ulen + plen;
}

static void test_request_bytewise(void **state)
{
	uint8_t msg[AUTH_PASS_REQUEST_MAX];
	size_t len = test_msg(msg, 0x01, "alice", 5, "correct horse", 13);
	struct auth_pass_creds c;

	(void)state;
	test_feed_ok(msg, len, &c);
	assert_string_equal(c.name, "alice");
	assert_string_equal(c.password, "correct horse");
}

static void test_request_longest(void **state)
{
	uint8_t msg[AUTH_PASS_REQUEST_MAX];
	char u[255], p[255];
	size_t len;
	struct auth_pass_creds c;

	(void)state;
	memset(u, 'u', sizeof(u));
	memset(p, 'p', sizeof(p));
	len = test_msg(msg, 0x01, u, 255, p, 255);
	assert_int_equal(len, AUTH_PASS_REQUEST_MAX);
	test_feed_ok(msg, len, &c);
	assert_int_equal(strlen(c.name), 255);
	assert_memory_equal(c.name, u, 255);
	assert_int_equal(strlen(c.password), 255);
	assert_memory_equal(c.password, p, 255);
}

static void test_request_empty_fields(void **state)
{
	uint8_t msg[AUTH_PASS_REQUEST_MAX];
	size_t len;
	struct auth_pass_creds c;

	(void)state;
	/* Tor and macOS send empty fields: they parse, policy refuses. */
	len = test_msg(msg, 0x01, "", 0, "", 0);
	assert_int_equal(len, 3);
	test_feed_ok(msg, len, &c);
	assert_string_equal(c.name, "");
	assert_string_equal(c.password, "");

	len = test_msg(msg, 0x01, "bob", 3, "", 0);
	test_feed_ok(msg, len, &c);
	assert_string_equal(c.name, "bob");
	assert_string_equal(c.password, "");

	len = test_msg(msg, 0x01, "", 0, "pw", 2);
	test_feed_ok(msg, len, &c);
	assert_string_equal(c.name, "");
	assert_string_equal(c.password, "pw");
}

static void test_request_bad(void **state)
{
	uint8_t msg[AUTH_PASS_REQUEST_MAX];
	size_t len;

	(void)state;
	/* VER 5 (a client that skipped the sub-negotiation) fails at once. */
	len = test_msg(msg, 0x05, "alice", 5, "pw", 2);
	test_feed_err(msg, len, 1);
	len = test_msg(msg, 0x00, "alice", 5, "pw", 2);
	test_feed_err(msg, len, 1);
	/* A NUL in the name fails as soon as the name is complete. */
	len = test_msg(msg, 0x01, "al\0ce", 5, "pw", 2);
	test_feed_err(msg, len, 7);
	len = test_msg(msg, 0x01, "\0", 1, "pw", 2);
	test_feed_err(msg, len, 3);
	/* In the password: when the password is complete. */
	len = test_msg(msg, 0x01, "alice", 5, "pw\0", 3);
	test_feed_err(msg, len, len);
}

static void test_request_roundtrip(void **state)
{
	uint8_t buf[AUTH_PASS_REQUEST_MAX];
	char big[257];
	struct auth_pass_creds c;
	size_t n, used;

	(void)state;
	n = auth_pass_build_request(buf, sizeof(buf), "alice", "s3cret");
	assert_int_equal(n, 3 + 5 + 6);
	assert_memory_equal(buf,
			    "\x01\x05"
			    "alice\x06s3cret",
			    n);
	assert_int_equal(auth_pass_parse_request(buf, n, &c, &used), CODEC_OK);
	assert_int_equal(used, n);
	assert_string_equal(c.name, "alice");
	assert_string_equal(c.password, "s3cret");

	assert_int_equal(auth_pass_build_request(buf, sizeof(buf), "", ""), 3);
	assert_memory_equal(buf, "\x01\x00\x00", 3);

	/* Fields over 255 bytes cannot be expressed. */
	memset(big, 'x', 256);
	big[256] = '\0';
	assert_int_equal(auth_pass_build_request(buf, sizeof(buf), big, "pw"), 0);
	assert_int_equal(auth_pass_build_request(buf, sizeof(buf), "u", big), 0);
	big[255] = '\0';
	assert_int_equal(auth_pass_build_request(buf, sizeof(buf), big, big),
			 AUTH_PASS_REQUEST_MAX);
	/* Too small an output. */
	assert_int_equal(auth_pass_build_request(buf, 8, "alice", "pw"), 0);
	assert_int_equal(auth_pass_build_request(buf, 10, "alice", "pw"), 10);
}

static void test_reply(void **state)
{
	uint8_t buf[4];
	uint8_t status = 0xee;
	size_t used = TEST_USED_UNSET;

	(void)state;
	assert_int_equal(auth_pass_build_reply(buf, sizeof(buf), AUTH_PASS_STATUS_OK), 2);
	/* VER is 0x01, not 0x05 (Firefox checks). */
	assert_memory_equal(buf, "\x01\x00", 2);
	assert_int_equal(auth_pass_parse_reply(buf, 0, &status, &used), CODEC_NEED_MORE);
	assert_int_equal(auth_pass_parse_reply(buf, 1, &status, &used), CODEC_NEED_MORE);
	assert_int_equal(status, 0xee);
	assert_int_equal(used, TEST_USED_UNSET);
	assert_int_equal(auth_pass_parse_reply(buf, 2, &status, &used), CODEC_OK);
	assert_int_equal(status, AUTH_PASS_STATUS_OK);
	assert_int_equal(used, 2);

	assert_int_equal(auth_pass_build_reply(buf, sizeof(buf), AUTH_PASS_STATUS_FAIL), 2);
	assert_memory_equal(buf, "\x01\x01", 2);
	assert_int_equal(auth_pass_parse_reply(buf, 3, &status, &used), CODEC_OK);
	assert_int_equal(status, AUTH_PASS_STATUS_FAIL);
	assert_int_equal(used, 2);
	assert_int_equal(auth_pass_build_reply(buf, 1, 0), 0);

	/* The common server bug: VER 5. */
	status = 0xee;
	used = TEST_USED_UNSET;
	assert_int_equal(auth_pass_parse_reply((const uint8_t *)"\x05\x00", 1, &status, &used),
			 CODEC_ERR);
	assert_int_equal(auth_pass_parse_reply((const uint8_t *)"\x05\x00", 2, &status, &used),
			 CODEC_ERR);
	assert_int_equal(status, 0xee);
	assert_int_equal(used, TEST_USED_UNSET);
}

/* ---- users file ---- */

struct test_env {
	char dir[256];
	char paths[TEST_MAX_FILES][320];
	size_t npaths;
	char alice[AUTH_PASS_HASH_MAX]; /* yescrypt of "correct horse" */
	char bob[AUTH_PASS_HASH_MAX]; /* SHA-512 of "battery staple" */
	char carol[AUTH_PASS_HASH_MAX]; /* bcrypt of "Tr0ub4dor&3" */
	char empty[AUTH_PASS_HASH_MAX]; /* yescrypt of "" */
};

/* A hash of a given kind straight from libcrypt, to prove the file accepts
 * hashes made elsewhere (mkpasswd, htpasswd) and not only our own. */
static void test_libcrypt_hash(const char *prefix, const char *pw, char *out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(cd);
	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)));
	h = crypt_rn(pw, setting, cd, (int)sizeof(*cd));
	assert_non_null(h);
	assert_true(strncmp(h, prefix, strlen(prefix)) == 0);
	assert_true(strlen(h) < AUTH_PASS_HASH_MAX);
	strcpy(out, h);
	free(cd);
}

static int test_setup(void **state)
{
	struct test_env *e = calloc(1, sizeof(*e));
	const char *tmp = getenv("TMPDIR");

	if (e == NULL)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "%s/socks64-auth-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(e->dir) == NULL) {
		free(e);
		return -1;
	}
	*state = e;
	if (auth_pass_hash("correct horse", e->alice, sizeof(e->alice)) < 0 ||
	    auth_pass_hash("", e->empty, sizeof(e->empty)) < 0)
		return -1;
	test_libcrypt_hash("$6$", "battery staple", e->bob);
	test_libcrypt_hash("$2b$", "Tr0ub4dor&3", e->carol);
	return 0;
}

static int test_teardown(void **state)
{
	struct test_env *e = *state;

	if (e == NULL)
		return 0;
	for (size_t i = e->npaths; i-- > 0;) {
		if (unlink(e->paths[i]) < 0)
			rmdir(e->paths[i]);
	}
	rmdir(e->dir);
	free(e);
	return 0;
}

/* A path under the test directory, removed by the teardown. */
static const char *test_path(struct test_env *e, const char *leaf)
{
	char buf[sizeof(e->paths[0])];

	assert_true(e->npaths < TEST_MAX_FILES);
	snprintf(buf, sizeof(buf), "%s/%s", e->dir, leaf);
	memcpy(e->paths[e->npaths], buf, sizeof(buf));
	return e->paths[e->npaths++];
}

/* A file under the test directory with exactly this content and mode. */
static const char *test_file(struct test_env *e, const char *content, size_t len, mode_t mode)
{
	char leaf[32];
	const char *path;
	int fd;

	snprintf(leaf, sizeof(leaf), "users%zu", e->npaths);
	path = test_path(e, leaf);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	/* fchmod, not the open mode: the umask must not decide the test. */
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static const char *test_file_str(struct test_env *e, const char *content)
{
	return test_file(e, content, strlen(content), 0600);
}

/* Loading must fail with exactly "PATH:LINE: " followed by text containing
 * why. */
static void test_load_fails_at(const char *path, unsigned line, const char *why)
{
	char err[TEST_ERRLEN] = "";
	char prefix[400];

	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, why) == NULL)
		fail_msg("error \"%s\", want \"%s...%s\"", err, prefix, why);
}

static void test_users_good(void **state)
{
	struct test_env *e = *state;
	char text[4096], err[TEST_ERRLEN] = "";
	struct auth_users *u;
	const char *path;

	snprintf(text, sizeof(text),
		 "# socks64 users\n"
		 "\n"
		 "alice:%s\n"
		 "   # indented comment\n"
		 "\t\n"
		 "bob:%s\r\n"
		 "  carol:%s   \n"
		 "nopass:%s",
		 e->alice, e->bob, e->carol, e->empty);
	path = test_file(e, text, strlen(text), 0640);
	u = auth_users_load(path, err, sizeof(err));
	if (u == NULL)
		fail_msg("%s", err);
	assert_int_equal(auth_users_count(u), 4);

	assert_true(auth_users_check(u, "alice", "correct horse"));
	assert_true(auth_users_check(u, "bob", "battery staple"));
	assert_true(auth_users_check(u, "carol", "Tr0ub4dor&3"));

	/* Wrong passwords, including another user's. */
	assert_false(auth_users_check(u, "alice", "correct horsE"));
	assert_false(auth_users_check(u, "alice", "correct horse "));
	assert_false(auth_users_check(u, "alice", "battery staple"));
	assert_false(auth_users_check(u, "bob", "correct horse"));
	/* Unknown and near-miss names, even with a valid password. */
	assert_false(auth_users_check(u, "mallory", "correct horse"));
	assert_false(auth_users_check(u, "Alice", "correct horse"));
	assert_false(auth_users_check(u, "alic", "correct horse"));
	assert_false(auth_users_check(u, "", "correct horse"));
	/* Empty passwords never log in, even against a hash of "". */
	assert_false(auth_users_check(u, "alice", ""));
	assert_false(auth_users_check(u, "nopass", ""));
	assert_false(auth_users_check(u, "nopass", "x"));
	assert_false(auth_users_check(u, "alice", NULL));
	assert_false(auth_users_check(u, NULL, "correct horse"));
	auth_users_free(u);
}

static void test_users_name_255(void **state)
{
	struct test_env *e = *state;
	char name[256], text[1024], err[TEST_ERRLEN] = "";
	struct auth_users *u;

	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text), "%s:%s\n", name, e->bob);
	u = auth_users_load(test_file_str(e, text), err, sizeof(err));
	if (u == NULL)
		fail_msg("%s", err);
	assert_true(auth_users_check(u, name, "battery staple"));
	auth_users_free(u);

	/* 256 bytes is one too many. */
	snprintf(text, sizeof(text), "%sn:%s\n", name, e->bob);
	test_load_fails_at(test_file_str(e, text), 1, "user name longer than 255 bytes");
}

static void test_users_bad_lines(void **state)
{
	struct test_env *e = *state;
	static const struct {
		const char *line;
		const char *why;
	} bad[] = {
		{"nocolon", "expected name:hash"},
		{":$6$saltsalt$abc", "empty user name"},
		{"a b:$6$saltsalt$abc", "user name contains a blank"},
		{"a\tb:$6$saltsalt$abc", "user name contains a blank"},
		{"carol:", "user carol: no password hash"},
		{"carol:hunter2", "plain text and DES are refused"},
		{"carol:abJnggxhB/yWI", "plain text and DES are refused"},
		{"carol:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "MD5-crypt hashes are refused"},
		{"carol:$md5$salt$abc", "unsupported hash kind"},
		{"carol:$sha1$40000$salt$abc", "unsupported hash kind"},
		{"carol:$2a$10$abcdefghijklmnopqrstuu", "unsupported hash kind"},
		{"carol:$6$salt$abc:19000:0:99999:7:::", "unexpected ':' or blank"},
		{"carol:$6$salt $abc", "unexpected ':' or blank"},
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Line 3, after a comment and a good user, so the number is
		 * really counted. */
		snprintf(text, sizeof(text), "# users\nalice:%s\n%s\nbob:%s\n", e->alice,
			 bad[i].line, e->bob);
		test_load_fails_at(test_file_str(e, text), 3, bad[i].why);
	}
}

static void test_users_odd_bytes(void **state)
{
	struct test_env *e = *state;
	char text[1024];
	size_t n;

	/* A NUL byte inside a line. */
	n = (size_t)snprintf(text, sizeof(text), "alice:%s\nbob:$6$ab", e->alice);
	memcpy(text + n, "\0cd\n", 4);
	test_load_fails_at(test_file(e, text, n + 4, 0600), 2, "NUL byte in line");

	/* A hash longer than crypt(3) can produce. */
	n = (size_t)snprintf(text, sizeof(text), "bob:$6$");
	memset(text + n, 'a', 400);
	text[n + 400] = '\n';
	test_load_fails_at(test_file(e, text, n + 401, 0600), 1, "hash too long");
}

static void test_users_duplicate(void **state)
{
	struct test_env *e = *state;
	char text[2048];
	const char *path;
	char want[TEST_ERRLEN], err[TEST_ERRLEN] = "";

	snprintf(text, sizeof(text), "zed:%s\nalice:%s\nbob:%s\nalice:%s\n", e->bob, e->alice,
		 e->bob, e->bob);
	path = test_file_str(e, text);
	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: duplicate user alice (first on line 2)", path);
	assert_string_equal(err, want);
}

static void test_users_modes(void **state)
{
	struct test_env *e = *state;
	char text[1024], want[TEST_ERRLEN], err[TEST_ERRLEN] = "";
	struct auth_users *u;
	const char *path;

	snprintf(text, sizeof(text), "alice:%s\n", e->alice);
	path = test_file(e, text, strlen(text), 0644);
	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "users file %s is readable by others (mode 0644); chmod 600 or 640 it", path);
	assert_string_equal(err, want);

	path = test_file(e, text, strlen(text), 0602);
	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "users file %s is writable by others (mode 0602); chmod 600 or 640 it", path);
	assert_string_equal(err, want);

	path = test_file(e, text, strlen(text), 0666);
	assert_null(auth_users_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "readable by others (mode 0666)"));

	/* Owner and group only: accepted. */
	path = test_file(e, text, strlen(text), 0640);
	u = auth_users_load(path, err, sizeof(err));
	assert_non_null(u);
	assert_true(auth_users_check(u, "alice", "correct horse"));
	auth_users_free(u);
}

static void test_users_not_files(void **state)
{
	struct test_env *e = *state;
	char want[TEST_ERRLEN], err[TEST_ERRLEN] = "";
	const char *path;

	/* A directory. */
	path = test_path(e, "dir");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "users file %s is not a regular file", path);
	assert_string_equal(err, want);

	/* A FIFO: refused at once, not a hang waiting for a writer. */
	path = test_path(e, "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "users file %s is not a regular file", path);
	assert_string_equal(err, want);

	/* Missing. */
	path = test_path(e, "missing");
	assert_null(auth_users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "users file %s: No such file or directory", path);
	assert_string_equal(err, want);

	/* A short or absent error buffer is not overrun. */
	assert_null(auth_users_load(path, err, 4));
	assert_string_equal(err, "use");
	assert_null(auth_users_load(path, NULL, 0));
}

static void test_users_empty(void **state)
{
	struct test_env *e = *state;
	char err[TEST_ERRLEN] = "";
	struct auth_users *u;

	u = auth_users_load(test_file_str(e, "# nobody yet\n\n"), err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(auth_users_count(u), 0);
	assert_false(auth_users_check(u, "alice", "correct horse"));
	auth_users_free(u);

	u = auth_users_load(test_file_str(e, ""), err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(auth_users_count(u), 0);
	auth_users_free(u);
}

static void test_hash(void **state)
{
	struct test_env *e = *state;
	char a[AUTH_PASS_HASH_MAX], b[AUTH_PASS_HASH_MAX], small[8];

	/* yescrypt on Debian's libxcrypt; fresh salt every time. */
	assert_int_equal(strncmp(e->alice, "$y$", 3), 0);
	assert_int_equal(auth_pass_hash("same", a, sizeof(a)), 0);
	assert_int_equal(auth_pass_hash("same", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	/* Each verifies through libcrypt itself. */
	assert_string_equal(crypt("same", a), a);
	assert_string_equal(crypt("same", b), b);

	errno = 0;
	assert_int_equal(auth_pass_hash("same", small, sizeof(small)), -1);
	assert_int_equal(errno, ERANGE);
}

int main(void)
{
	const struct CMUnitTest codec[] = {
		cmocka_unit_test(test_request_bytewise),     cmocka_unit_test(test_request_longest),
		cmocka_unit_test(test_request_empty_fields), cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_request_roundtrip),    cmocka_unit_test(test_reply),
	};
	const struct CMUnitTest users[] = {
		cmocka_unit_test(test_users_good),
		cmocka_unit_test(test_users_name_255),
		cmocka_unit_test(test_users_bad_lines),
		cmocka_unit_test(test_users_odd_bytes),
		cmocka_unit_test(test_users_duplicate),
		cmocka_unit_test(test_users_modes),
		cmocka_unit_test(test_users_not_files),
		cmocka_unit_test(test_users_empty),
		cmocka_unit_test(test_hash),
	};
	int failed = cmocka_run_group_tests_name("rfc1929 codec", codec, NULL, NULL);

	failed += cmocka_run_group_tests_name("users file", users, test_setup, test_teardown);
	return failed;
}
