/* Unit tests for synth, the per-user shared map: real files in a private
 * temporary directory, real fork()ed processes.  Parent and children see
 * the same assignments; processes starting together agree on one file; a
 * process that dies holding the lock does not wedge the others; truncated,
 * foreign and corrupt files are reset with one warning; an unusable
 * directory or another configuration's map gives a private map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "synth.h"

static int test_warnings;
static char test_last_warning[PATH_MAX + 200];

static void test_warn(const char *msg)
{
	test_warnings++;
	snprintf(test_last_warning, sizeof(test_last_warning), "%s", msg);
}

struct test_env {
	char dir[256];
	char path[PATH_MAX];
	struct synth_table_config cfg;
};

static int test_setup(void **state)
{
	struct test_env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	snprintf(env->dir, sizeof(env->dir), "%s/test_synth.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(env->dir));
	snprintf(env->path, sizeof(env->path), "%s/%s", env->dir, SYNTH_FILE_NAME);
	synth_table_config_default(&env->cfg);
	env->cfg.capacity = 256;
	test_warnings = 0;
	test_last_warning[0] = '\0';
	*state = env;
	return 0;
}

static int test_teardown(void **state)
{
	struct test_env *env = *state;

	unlink(env->path);
	rmdir(env->dir);
	free(env);
	return 0;
}

static struct synth *test_open(struct test_env *env)
{
	struct synth *s = synth_open(&env->cfg, env->dir, test_warn);

	assert_non_null(s);
	return s;
}

static void test_assign_name(struct synth *s, const char *name, struct synth_entry_info *e)
{
	assert_int_equal(synth_assign(s, name, strlen(name), e), 0);
}

/* Wait (bounded by the child itself) and return its exit status. */
static int test_wait(pid_t pid)
{
	int st = -1;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_shared_file(void **state)
{
	struct test_env *env = *state;
	struct synth *s = test_open(env);
	struct synth_entry_info a, b;
	struct stat st;

	assert_true(synth_is_shared(s));
	assert_string_equal(synth_path(s), env->path);
	assert_int_equal(stat(env->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, getuid());
	test_assign_name(s, "www.v6.test", &a);
	assert_int_equal(synth_lookup_v4(s, &a.v4, &b), 0);
	assert_string_equal(b.name, "www.v6.test");
	assert_int_equal(synth_lookup_v6(s, &a.v6, &b), 0);
	assert_string_equal(b.name, "www.v6.test");
	assert_true(synth_in_pool_v4(s, &a.v4));
	assert_true(synth_in_pool_v6(s, &a.v6));
	synth_close(s);

	/* A second open (a new program) finds the same entry. */
	s = test_open(env);
	assert_int_equal(synth_lookup_name(s, "WWW.v6.test.", 12, &b), 0);
	assert_memory_equal(&a.v4, &b.v4, sizeof(a.v4));
	assert_memory_equal(&a.v6, &b.v6, sizeof(a.v6));
	synth_close(s);
	assert_int_equal(test_warnings, 0);
	/* No temporary files left behind. */
	DIR *d = opendir(env->dir);
	struct dirent *de;
	int files = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			files++;
	}
	closedir(d);
	assert_int_equal(files, 1);
}

/* The parent's names are visible in the child through the inherited
 * handle and through a fresh one; the child's new name is visible to the
 * parent afterwards. */
static void test_fork(void **state)
{
	struct test_env *env = *state;
	struct synth *s = test_open(env);
	struct synth_entry_info a, c;
	pid_t pid;

	test_assign_name(s, "parent.test", &a);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct synth_entry_info e;
		struct synth *s2 = synth_open(&env->cfg, env->dir, NULL);

		if (synth_lookup_name(s, "parent.test", 11, &e) < 0 ||
		    memcmp(&e.v4, &a.v4, sizeof(e.v4)) != 0)
			_exit(1);
		if (!s2 || synth_lookup_v6(s2, &a.v6, &e) < 0 || strcmp(e.name, "parent.test"))
			_exit(2);
		if (synth_assign(s2, "child.test", 10, &e) < 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(test_wait(pid), 0);
	assert_int_equal(synth_lookup_name(s, "child.test", 10, &c), 0);
	assert_memory_not_equal(&c.v4, &a.v4, sizeof(a.v4));
	synth_close(s);
}

/* Eight processes open a map that does not exist yet and assign the same
 * names in different orders: every one gets the same addresses. */
static void test_concurrent_start(void **state)
{
	struct test_env *env = *state;
	struct synth_entry_info want[3];
	int fds[2];
	pid_t pids[8];
	struct synth *s;

	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			static const char *names[] = {"n0.test", "n1.test", "n2.test"};
			struct synth_entry_info e[3];
			struct synth *cs = synth_open(&env->cfg, env->dir, NULL);

			if (!cs || !synth_is_shared(cs))
				_exit(1);
			for (int k = 0; k < 3; k++) {
				int n = (k + i) % 3;

				if (synth_assign(cs, names[n], 7, &e[n]) < 0)
					_exit(2);
			}
			if (write(fds[1], e, sizeof(e)) != (ssize_t)sizeof(e))
				_exit(3);
			_exit(0);
		}
	}
	close(fds[1]);
	for (int i = 0; i < 8; i++)
		assert_int_equal(test_wait(pids[i]), 0);
	s = test_open(env);
	for (int k = 0; k < 3; k++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d.test", k);
		assert_int_equal(synth_lookup_name(s, name, 7, &want[k]), 0);
	}
	for (int i = 0; i < 8; i++) {
		struct synth_entry_info got[3];

		assert_int_equal(read(fds[0], got, sizeof(got)), sizeof(got));
		for (int k = 0; k < 3; k++) {
			assert_string_equal(got[k].name, want[k].name);
			assert_memory_equal(&got[k].v4, &want[k].v4, sizeof(want[k].v4));
			assert_memory_equal(&got[k].v6, &want[k].v6, sizeof(want[k].v6));
		}
	}
	close(fds[0]);
	synth_close(s);
	assert_int_equal(test_warnings, 0);
}

static int test_die_in_callback(const struct synth_entry_info *e, void *arg)
{
	(void)e;
	(void)arg;
	_exit(42); /* with the map's lock held */
}

/* A child dies holding the lock (inside synth_foreach's callback); the
 * parent's next call still proceeds (robust mutex, EOWNERDEAD), and so do
 * later ones. */
static void test_owner_dies(void **state)
{
	struct test_env *env = *state;
	struct synth *s = test_open(env);
	struct synth_entry_info a, b;
	pid_t pid;

	test_assign_name(s, "before.test", &a);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct synth *cs = synth_open(&env->cfg, env->dir, NULL);

		if (cs)
			synth_foreach(cs, test_die_in_callback, NULL);
		_exit(1);
	}
	assert_int_equal(test_wait(pid), 42);
	test_assign_name(s, "after.test", &b);
	assert_true(synth_is_shared(s));
	assert_int_equal(synth_lookup_name(s, "before.test", 11, &b), 0);
	assert_memory_equal(&a.v4, &b.v4, sizeof(a.v4));
	/* The table was sound, so nothing was reset. */
	assert_int_equal(test_warnings, 0);
	/* And a new process gets in too. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct synth *cs = synth_open(&env->cfg, env->dir, NULL);
		struct synth_entry_info e;

		_exit(cs && synth_lookup_name(cs, "after.test", 10, &e) == 0 ? 0 : 1);
	}
	assert_int_equal(test_wait(pid), 0);
	synth_close(s);
}

static void test_write_at(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

/* Truncated, wrong magic, corrupt table: each reset with one warning, the
 * map shared again afterwards. */
static void test_damaged_files(void **state)
{
	struct test_env *env = *state;
	struct synth *s = test_open(env);
	struct synth_entry_info e;
	struct stat st;

	test_assign_name(s, "x.test", &e);
	synth_close(s);
	assert_int_equal(stat(env->path, &st), 0);

	assert_int_equal(truncate(env->path, 100), 0);
	s = test_open(env);
	assert_true(synth_is_shared(s));
	assert_int_equal(test_warnings, 1);
	assert_non_null(strstr(test_last_warning, "invalid"));
	assert_int_equal(synth_lookup_name(s, "x.test", 6, &e), -1);
	test_assign_name(s, "y.test", &e);
	synth_close(s);
	{
		struct stat st2;

		assert_int_equal(stat(env->path, &st2), 0);
		assert_int_equal(st2.st_size, st.st_size);
	}

	test_write_at(env->path, 0, "garbage!", 8);
	s = test_open(env);
	assert_true(synth_is_shared(s));
	assert_int_equal(test_warnings, 2);
	assert_non_null(strstr(test_last_warning, "bad header"));
	test_assign_name(s, "z.test", &e);
	synth_close(s);

	/* Scribble inside the table (header intact): reset in place. */
	{
		char junk[64];

		memset(junk, 0x5a, sizeof(junk));
		test_write_at(env->path, 256 + 88, junk, sizeof(junk));
	}
	s = test_open(env);
	assert_true(synth_is_shared(s));
	assert_int_equal(test_warnings, 3);
	assert_non_null(strstr(test_last_warning, "corrupt"));
	assert_int_equal(synth_lookup_name(s, "z.test", 6, &e), -1);
	test_assign_name(s, "z.test", &e);
	synth_close(s);

	/* An empty file (a crash between create and initialise elsewhere). */
	assert_int_equal(truncate(env->path, 0), 0);
	s = test_open(env);
	assert_true(synth_is_shared(s));
	assert_int_equal(test_warnings, 4);
	synth_close(s);
}

/* Another configuration's map is left alone: this process goes private. */
static void test_other_config(void **state)
{
	struct test_env *env = *state;
	struct synth_table_config other = env->cfg;
	struct synth *s = test_open(env), *s2;
	struct synth_entry_info e;

	test_assign_name(s, "keep.test", &e);
	inet_pton(AF_INET6, "2001:db8:64::", &other.v6_net);
	s2 = synth_open(&other, env->dir, test_warn);
	assert_non_null(s2);
	assert_false(synth_is_shared(s2));
	assert_int_equal(test_warnings, 1);
	assert_non_null(strstr(test_last_warning, "private"));
	test_assign_name(s2, "p.test", &e);
	synth_close(s2);
	/* The shared map still works for its own configuration. */
	assert_int_equal(synth_lookup_name(s, "keep.test", 9, &e), 0);
	assert_int_equal(synth_lookup_name(s, "p.test", 6, &e), -1);
	synth_close(s);
}

/* A directory that does not exist or that others can write: private map,
 * one warning, fully working. */
static void test_private_fallback(void **state)
{
	struct test_env *env = *state;
	char bad[300];
	struct synth *s;
	struct synth_entry_info a, b;

	snprintf(bad, sizeof(bad), "%s/missing", env->dir);
	s = synth_open(&env->cfg, bad, test_warn);
	assert_non_null(s);
	assert_false(synth_is_shared(s));
	assert_int_equal(test_warnings, 1);
	test_assign_name(s, "priv.test", &a);
	assert_int_equal(synth_lookup_v4(s, &a.v4, &b), 0);
	assert_string_equal(b.name, "priv.test");
	synth_close(s);

	assert_int_equal(mkdir(bad, 0777), 0);
	assert_int_equal(chmod(bad, 0777), 0);
	s = synth_open(&env->cfg, bad, test_warn);
	assert_non_null(s);
	assert_false(synth_is_shared(s));
	assert_int_equal(test_warnings, 2);
	synth_close(s);
	rmdir(bad);
}

static void test_runtime_dir(void **state)
{
	struct test_env *env = *state;
	char out[PATH_MAX], *old = getenv("XDG_RUNTIME_DIR");
	char *saved = old ? strdup(old) : NULL;

	setenv("XDG_RUNTIME_DIR", env->dir, 1);
	assert_int_equal(synth_runtime_dir(out, sizeof(out)), 0);
	assert_string_equal(out, env->dir);
	/* A relative XDG_RUNTIME_DIR is ignored, not trusted; the fallback
	 * directory is removed again if this test created it. */
	char fallback[64];
	struct stat st;
	snprintf(fallback, sizeof(fallback), "/tmp/socks64-%u", (unsigned)getuid());
	bool existed = stat(fallback, &st) == 0;
	setenv("XDG_RUNTIME_DIR", "relative/dir", 1);
	assert_int_equal(synth_runtime_dir(out, sizeof(out)), 0);
	assert_string_not_equal(out, "relative/dir");
	assert_true(out[0] == '/');
	if (!existed)
		rmdir(fallback);
	if (saved) {
		setenv("XDG_RUNTIME_DIR", saved, 1);
		free(saved);
	} else {
		unsetenv("XDG_RUNTIME_DIR");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shared_file, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_fork, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_start, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_owner_dies, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_files, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_other_config, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_private_fallback, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_runtime_dir, test_setup, test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
