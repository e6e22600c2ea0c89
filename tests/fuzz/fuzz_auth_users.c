/* libFuzzer target: the RFC 1929 users file ("name:crypt-hash" lines),
 * auth_users_load().
 *
 * The loader takes a path, so each input is written to one memfd (mode 0600,
 * as the mode check demands) and read back through /proc/self/fd/N: nothing
 * is left on disk and no other file is ever opened.  auth_users_check() is
 * left out on purpose: it runs crypt(3) at the cost the hash names, and a
 * fuzzed "$2b$31$" would take days.
 *
 * Invariants: a load either succeeds or leaves a one-line reason in err;
 * every user came from a line of its own; loading is deterministic. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_fd = -1;
static char fuzz_path[64];

static void fuzz_open_file(void)
{
	fuzz_fd = memfd_create("socks64-fuzz-users", MFD_CLOEXEC);
	assert(fuzz_fd >= 0);
	assert(fchmod(fuzz_fd, 0600) == 0);
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_users *u, *u2;
	char err[256], err2[256];
	size_t lines = 1;

	if (fuzz_fd < 0)
		fuzz_open_file();
	assert(ftruncate(fuzz_fd, 0) == 0);
	assert(pwrite(fuzz_fd, data, size, 0) == (ssize_t)size);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';

	memset(err, 'X', sizeof(err));
	u = auth_users_load(fuzz_path, err, sizeof(err));
	if (u == NULL) {
		assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		assert(strchr(err, '\n') == NULL);
		return 0;
	}
	assert(auth_users_count(u) <= lines);
	/* A reload of the same bytes gives the same users (reload keeps the
	 * old snapshot only on error, so this must not flap). */
	u2 = auth_users_load(fuzz_path, err2, sizeof(err2));
	assert(u2 != NULL && auth_users_count(u2) == auth_users_count(u));
	auth_users_free(u2);
	auth_users_free(u);
	return 0;
}
