/* Unit tests for the client shim's configuration: every key, errors as
 * file:line, source order (file, SOCKS64_CONF, SOCKS64_GATEWAY), bypass
 * matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "conf.h"
#include "gss_frame.h"
#include "socks5.h"

static void test_gw_is(const struct shim_conf *c, size_t i, const char *addr, unsigned port)
{
	char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_storage *ss = &c->gateways[i];

	assert_true(i < c->ngateways);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin->sin_port), port);
		assert_int_equal(c->gateway_lens[i], sizeof(*sin));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		assert_int_equal(ss->ss_family, AF_INET6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin6->sin6_port), port);
		assert_int_equal(c->gateway_lens[i], sizeof(*sin6));
	}
	assert_string_equal(buf, addr);
}

static void test_defaults(void **state)
{
	struct shim_conf c;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	shim_conf_defaults(&c);
	assert_int_equal(c.ngateways, 1);
	test_gw_is(&c, 0, "127.0.0.1", 1080);
	assert_int_equal(c.auth, SOCKS5_METHOD_NONE);
	assert_string_equal(c.gssapi_service, "rcmd");
	assert_string_equal(c.gssapi_host, "");
	assert_int_equal(c.gssapi_level, GSS_LEVEL_CONFIDENTIALITY);
	assert_int_equal(c.resolve, SHIM_RESOLVE_REMOTE);
	assert_false(c.verify_names);
	assert_int_equal(c.synth.v4_plen, 8);
	inet_ntop(AF_INET6, &c.synth.v6_net, buf, sizeof(buf));
	assert_string_equal(buf, "100::");
	assert_int_equal(c.synth.v6_plen, 64);
	assert_int_equal(c.synth.quarantine, 600);
}

static void test_all_keys(void **state)
{
	struct shim_conf c;
	char err[300] = "";
	char buf[INET6_ADDRSTRLEN];
	const char *text = "# client\n"
			   "gateway 198.51.100.1:1080   # primary\n"
			   "gateway [2001:db8::1]:1081 203.0.113.1\n"
			   "auth none\n"
			   "resolve auto\n"
			   "bypass 10.0.0.0/8 2001:db8:aa::/48 .lan Printer.Local.\n"
			   "synth-ipv4 0.64.0.0/10\n"
			   "synth-ipv6 2001:db8:64:ff00::/96\n"
			   "synth-size 1000\n"
			   "verify-names yes\n"
			   "quarantine 2m\n"
			   "connect-timeout 1500ms\n"
			   "\n";

	(void)state;
	shim_conf_defaults(&c);
	if (shim_conf_load_string(&c, text, "t.conf", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.ngateways, 3);
	test_gw_is(&c, 0, "198.51.100.1", 1080);
	test_gw_is(&c, 1, "2001:db8::1", 1081);
	test_gw_is(&c, 2, "203.0.113.1", 1080);
	assert_int_equal(c.resolve, SHIM_RESOLVE_AUTO);
	assert_int_equal(c.nnets, 2);
	assert_int_equal(c.nsuffixes, 2);
	assert_string_equal(c.suffixes[0], ".lan");
	assert_string_equal(c.suffixes[1], "printer.local");
	inet_ntop(AF_INET, &c.synth.v4_net, buf, sizeof(buf));
	assert_string_equal(buf, "0.64.0.0");
	assert_int_equal(c.synth.v4_plen, 10);
	inet_ntop(AF_INET6, &c.synth.v6_net, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:64:ff00::");
	assert_int_equal(c.synth.v6_plen, 96);
	assert_int_equal(c.synth.capacity, 1000);
	assert_true(c.verify_names);
	assert_int_equal(c.synth.quarantine, 120);
	assert_int_equal(c.connect_timeout_ms, 1500);
}

static void test_expect_error(const char *text, const char *want)
{
	struct shim_conf c;
	char err[300] = "";

	shim_conf_defaults(&c);
	assert_int_equal(shim_conf_load_string(&c, text, "bad.conf", err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_errors(void **state)
{
	(void)state;
	test_expect_error("gateway\n", "bad.conf:1: 'gateway' needs a value");
	test_expect_error("\n\ngateway host.example:1080\n", "bad.conf:3: bad gateway");
	test_expect_error("gateway 2001:db8::1\n", "bad.conf:1: bad gateway");
	test_expect_error("gateway 127.0.0.1:0\n", "bad gateway");
	test_expect_error("gateway 127.0.0.1:65536\n", "bad gateway");
	test_expect_error("gateway [::1]x\n", "bad gateway");
	test_expect_error("auth username\n", "bad.conf:1: auth username is not supported");
	test_expect_error("gssapi-protection selective\n",
			  "gssapi-protection must be none, integrity or confidentiality");
	test_expect_error("gssapi-protection\n", "'gssapi-protection' needs a value");
	test_expect_error("gssapi-service rcmd@host\n", "bad gssapi-service 'rcmd@host'");
	test_expect_error("gssapi-host gw/x\n", "bad gssapi-host 'gw/x'");
	test_expect_error("gssapi-host a@b\n", "bad gssapi-host");
	test_expect_error("gssapi-service a b\n", "takes one value");
	test_expect_error("auth magic\n", "unknown auth method");
	test_expect_error("resolve local\n", "resolve must be remote or auto");
	test_expect_error("bypass 10.0.0.1/8\n", "bad bypass network");
	test_expect_error("bypass 10.0.0.0/33\n", "bad bypass network");
	test_expect_error("bypass .a\x01\n", "bad bypass name");
	test_expect_error("synth-ipv4 0.0.0.0/31\n", "not in 8..30");
	test_expect_error("synth-ipv4 100::/64\n", "bad IPv4 pool");
	test_expect_error("synth-ipv6 100::/48\n", "not in 64..126");
	test_expect_error("synth-ipv6 100::1/64\n", "bad IPv6 pool");
	test_expect_error("synth-size 0\n", "synth-size must be");
	test_expect_error("verify-names maybe\n", "verify-names must be yes or no");
	test_expect_error("quarantine 10x\n", "bad duration");
	test_expect_error("connect-timeout 0\n", "bad duration");
	test_expect_error("resolve remote auto\n", "takes one value");
	test_expect_error("ok-line-missing-key-value\n", "needs a value");
	test_expect_error("# fine\nfrobnicate yes\n", "bad.conf:2: unknown key 'frobnicate'");
}

static void test_gssapi(void **state)
{
	struct shim_conf c;
	char err[300] = "";
	char longname[SHIM_CONF_GSS_NAME_MAX + 8];

	(void)state;
	shim_conf_defaults(&c);
	if (shim_conf_load_string(&c,
				  "auth gssapi\n"
				  "gssapi-service socks\n"
				  "gssapi-host gw.example\n"
				  "gssapi-protection integrity\n",
				  "g.conf", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.auth, SOCKS5_METHOD_GSSAPI);
	assert_string_equal(c.gssapi_service, "socks");
	assert_string_equal(c.gssapi_host, "gw.example");
	assert_int_equal(c.gssapi_level, GSS_LEVEL_INTEGRITY);
	/* A whole principal name may carry '@REALM'; later lines override. */
	if (shim_conf_load_string(&c,
				  "gssapi-service rcmd/gw.example@TEST.EXAMPLE\n"
				  "gssapi-protection none\n"
				  "auth none\n",
				  "g2.conf", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(c.gssapi_service, "rcmd/gw.example@TEST.EXAMPLE");
	assert_int_equal(c.gssapi_level, GSS_LEVEL_NONE);
	assert_int_equal(c.auth, SOCKS5_METHOD_NONE);
	if (shim_conf_load_string(&c, "gssapi-protection confidentiality\n", "g3.conf", err,
				  sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.gssapi_level, GSS_LEVEL_CONFIDENTIALITY);
	/* Too long for the buffer: refused, the old value kept. */
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		char text[sizeof(longname) + 32];

		snprintf(text, sizeof(text), "gssapi-host %s\n", longname);
		assert_int_equal(shim_conf_load_string(&c, text, "g4.conf", err, sizeof(err)), -1);
		assert_non_null(strstr(err, "g4.conf:1: gssapi-host too long"));
		assert_string_equal(c.gssapi_host, "gw.example");
	}
}

static void test_sources(void **state)
{
	struct shim_conf c;
	char err[300] = "", path[] = "/tmp/test_shim_conf.XXXXXX";
	int fd = mkstemp(path);
	const char *text = "gateway 127.0.0.1:2000\nbypass .corp\nverify-names yes\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	/* A later source's gateway list replaces, not extends, the earlier one. */
	shim_conf_defaults(&c);
	assert_int_equal(shim_conf_load_string(&c, "gateway 198.51.100.1\nbypass .lan\n", "a", err,
					       sizeof(err)),
			 0);
	assert_int_equal(shim_conf_load_file(&c, path, false, err, sizeof(err)), 0);
	assert_int_equal(c.ngateways, 1);
	test_gw_is(&c, 0, "127.0.0.1", 2000);
	assert_int_equal(c.nsuffixes, 1);
	assert_string_equal(c.suffixes[0], ".corp");
	assert_true(c.verify_names);

	assert_int_equal(shim_conf_set_gateways(&c, "[::1]:3000, 127.0.0.2:3001", err, sizeof(err)),
			 0);
	assert_int_equal(c.ngateways, 2);
	test_gw_is(&c, 0, "::1", 3000);
	test_gw_is(&c, 1, "127.0.0.2", 3001);
	assert_int_equal(shim_conf_set_gateways(&c, "nope", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SOCKS64_GATEWAY:1: bad gateway"));
	assert_int_equal(shim_conf_set_gateways(&c, " , ", err, sizeof(err)), -1);

	/* Missing files: fine when optional, an error naming the file otherwise. */
	assert_int_equal(
		shim_conf_load_file(&c, "/nonexistent/socks64.conf", true, err, sizeof(err)), 0);
	assert_int_equal(
		shim_conf_load_file(&c, "/nonexistent/socks64.conf", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/socks64.conf"));

	/* The whole chain through the environment. */
	setenv("SOCKS64_CONF", path, 1);
	setenv("SOCKS64_GATEWAY", "127.0.0.3:4000", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	assert_int_equal(shim_conf_load(&c, err, sizeof(err)), 0);
	test_gw_is(&c, 0, "127.0.0.3", 4000);
	assert_int_equal(c.ngateways, 1);
	assert_true(c.verify_names);
	unsetenv("SOCKS64_GATEWAY");
	assert_int_equal(shim_conf_load(&c, err, sizeof(err)), 0);
	test_gw_is(&c, 0, "127.0.0.1", 2000);
	/* A broken SOCKS64_CONF names file and line. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\nresolve sometimes\n", 19), 19);
	close(fd);
	assert_int_equal(shim_conf_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: resolve must be"));
	assert_non_null(strstr(err, path));
	unsetenv("SOCKS64_CONF");
	unsetenv("XDG_CONFIG_HOME");
	unlink(path);
}

static bool test_bypass(const struct shim_conf *c, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char hp[80];

	snprintf(hp, sizeof(hp), strchr(addr, ':') ? "[%s]:1" : "%s:1", addr);
	assert_int_equal(shim_conf_parse_hostport(hp, &ss, &len), 0);
	return shim_conf_bypass_addr(c, (struct sockaddr *)&ss);
}

static void test_bypass_matching(void **state)
{
	struct shim_conf c;
	char err[200];

	(void)state;
	shim_conf_defaults(&c);
	assert_int_equal(shim_conf_load_string(&c,
					       "bypass 198.51.100.0/25 2001:db8:1::/48 .lan "
					       "exact.test\n",
					       "b", err, sizeof(err)),
			 0);
	/* Loopback is always direct. */
	assert_true(test_bypass(&c, "127.0.0.1"));
	assert_true(test_bypass(&c, "127.9.9.9"));
	assert_true(test_bypass(&c, "::1"));
	assert_true(test_bypass(&c, "::ffff:127.0.0.1"));
	assert_true(test_bypass(&c, "198.51.100.127"));
	assert_false(test_bypass(&c, "198.51.100.128"));
	assert_true(test_bypass(&c, "::ffff:198.51.100.1"));
	assert_true(test_bypass(&c, "2001:db8:1:ffff::1"));
	assert_false(test_bypass(&c, "2001:db8:2::1"));
	assert_false(test_bypass(&c, "203.0.113.1"));

	assert_true(shim_conf_bypass_name(&c, "localhost"));
	assert_true(shim_conf_bypass_name(&c, "foo.localhost"));
	assert_true(shim_conf_bypass_name(&c, "lan"));
	assert_true(shim_conf_bypass_name(&c, "printer.lan"));
	assert_false(shim_conf_bypass_name(&c, "printerlan"));
	assert_false(shim_conf_bypass_name(&c, "lan.example"));
	assert_true(shim_conf_bypass_name(&c, "exact.test"));
	assert_false(shim_conf_bypass_name(&c, "www.exact.test"));
	assert_false(shim_conf_bypass_name(&c, "www.v6.test"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),        cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_errors),          cmocka_unit_test(test_sources),
		cmocka_unit_test(test_bypass_matching), cmocka_unit_test(test_gssapi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
