# socks64 — plain GNU Makefile.
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS, DESTDIR and prefix come from outside (OpenWrt
# passes CFLAGS in the environment and CC on the command line); the project's
# own flags live in SOCKS64_* variables and are never overridden by them.

VERSION    := 0.1.0
.DEFAULT_GOAL := all

prefix     ?= /usr/local
exec_prefix ?= $(prefix)
sbindir    ?= $(exec_prefix)/sbin
bindir     ?= $(exec_prefix)/bin
libdir     ?= $(exec_prefix)/lib
sysconfdir ?= /etc
mandir     ?= $(prefix)/share/man

PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
INSTALL    ?= install

SANITIZE   ?=

SOCKS64_CPPFLAGS := -D_GNU_SOURCE -DSOCKS64_VERSION='"$(VERSION)"' \
	-DSOCKS64_SYSCONFDIR='"$(sysconfdir)"' -Igateway -Idns
SOCKS64_CFLAGS := -std=c11 -pthread -MMD -MP \
	-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wimplicit-fallthrough -Wformat=2 -Werror=format-security \
	-Wno-format-nonliteral -fno-strict-aliasing
SOCKS64_LDFLAGS := -pthread

ifeq ($(SANITIZE),1)
SOCKS64_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
SOCKS64_LDFLAGS += -fsanitize=address,undefined
endif

CARES_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcares 2>/dev/null)
CARES_LIBS   := $(shell $(PKG_CONFIG) --libs libcares 2>/dev/null || echo -lcares)
NL_CFLAGS    := $(shell $(PKG_CONFIG) --cflags libnl-3.0 2>/dev/null)
NL_LIBS      := $(shell $(PKG_CONFIG) --libs libnl-3.0 2>/dev/null || echo -lnl-3)
GSS_CFLAGS   := $(shell $(PKG_CONFIG) --cflags krb5-gssapi krb5 2>/dev/null)
GSS_LIBS     := $(shell $(PKG_CONFIG) --libs krb5-gssapi krb5 2>/dev/null || echo -lgssapi_krb5 -lkrb5)
CRYPT_LIBS   := $(shell $(PKG_CONFIG) --libs libcrypt 2>/dev/null || echo -lcrypt)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS  := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

ALL_CPPFLAGS = $(SOCKS64_CPPFLAGS) $(CARES_CFLAGS) $(NL_CFLAGS) $(GSS_CFLAGS) $(CPPFLAGS)
# Everything the core archive may need at link time.
CORE_LIBS    = $(CARES_LIBS) $(NL_LIBS) $(GSS_LIBS) $(CRYPT_LIBS)
ALL_CFLAGS   = $(SOCKS64_CFLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(SOCKS64_LDFLAGS) $(LDFLAGS)

# Every gateway and dns module except main goes into one archive that the
# daemon, the unit tests and (later) the fuzzers link; the linker pulls only
# the objects each program needs, so pure codecs stay free of I/O modules.
CORE_SRCS := $(filter-out gateway/main.c,$(wildcard gateway/*.c)) $(wildcard dns/*.c)
CORE_OBJS := $(CORE_SRCS:.c=.o)
CORE_LIB  := gateway/libsocks64core.a

DAEMON    := gateway/socks64d

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:.c=)

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:.c=)

HELPER_SRCS := $(wildcard tests/integration/*.c)
HELPER_BINS := $(HELPER_SRCS:.c=)

DEPS := $(CORE_OBJS:.o=.d) gateway/main.d $(UNIT_BINS:=.d) $(BENCH_BINS:=.d) $(HELPER_BINS:=.d)

# Objects depend on a stamp named after the flags, so switching SANITIZE=1
# (or CFLAGS) rebuilds everything instead of mixing builds.
FLAGS_STAMP := .flags-$(shell printf '%s' '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cksum | cut -d' ' -f1)

$(FLAGS_STAMP):
	@rm -f .flags-*
	@touch $@

$(CORE_OBJS) gateway/main.o $(UNIT_BINS) $(BENCH_BINS) $(HELPER_BINS): $(FLAGS_STAMP)

# The client shim's rules (libsocks64.so, the socks64 wrapper) live beside it,
# the fuzzers' (clang, libFuzzer) beside them: included before the targets
# that name their variables.
-include client-shim/shim.mk
-include tests/fuzz/fuzz.mk

.PHONY: all run check bench install uninstall clean deps format format-check unit \
	test-bins

all: $(DAEMON) $(SHIM_TARGETS)

%.o: %.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(DAEMON): gateway/main.o $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ gateway/main.o $(CORE_LIB) $(CORE_LIBS) $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c $(CORE_LIB)
	$(CC) $(ALL_CPPFLAGS) $(CMOCKA_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(CORE_LIB) $(CORE_LIBS) $(CMOCKA_LIBS) $(LDLIBS)

tests/bench/%: tests/bench/%.c $(CORE_LIB)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_LIB) $(CORE_LIBS) $(LDLIBS)

tests/integration/%: tests/integration/%.c $(CORE_LIB)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_LIB) $(CORE_LIBS) $(LDLIBS)

unit: $(UNIT_BINS)

test-bins: $(DAEMON) $(SHIM_TARGETS) $(UNIT_BINS) $(BENCH_BINS) $(HELPER_BINS)

# deps: install whatever a fresh Debian machine lacks (root: apt-get).
deps:
	@sh tests/deps.sh

run: deps $(DAEMON)
	./$(DAEMON)

check: deps test-bins format-check
	@SANITIZE=$(SANITIZE) sh tests/run.sh

bench: deps $(DAEMON) $(BENCH_BINS)
	@sh tests/bench/run.sh

# soak: mixed CONNECT/UDP/BIND load through socks64d in namespaces (root) for
# SOAK_SECONDS (default 120), every stream hashed at both ends, then leak
# checks and a summary line; see tests/soak/soak.sh.
.PHONY: soak
soak: deps $(DAEMON)
	@bash tests/soak/soak.sh

# demo: the one-command tour -- an IPv4-only host fetches an IPv6-only site
# by name through the gateway, and the reverse, in network namespaces (root).
.PHONY: demo
demo: deps all
	@bash tests/netns/demo.sh

FORMAT_SRCS = $(wildcard gateway/*.[ch] dns/*.[ch] client-shim/*.[ch] tests/unit/*.[ch] \
	tests/bench/*.[ch] tests/integration/*.[ch] tests/fuzz/*.[ch])

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRCS) && echo "format-check: ok"

# install: the daemon, its man pages and systemd unit (systemdunitdir=DIR
# to place the unit elsewhere; its paths are rewritten to sbindir and
# sysconfdir), the client shim and wrapper with theirs when they were built,
# and the example configurations -- never over a file that is already there.
install: all
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(sysconfdir)/socks64 \
		$(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(or $(systemdunitdir),$(prefix)/lib/systemd/system)
	$(INSTALL) -m 0755 $(DAEMON) $(DESTDIR)$(sbindir)/socks64d
	$(INSTALL) -m 0644 docs/socks64d.8 $(DESTDIR)$(mandir)/man8/socks64d.8
	$(INSTALL) -m 0644 docs/socks64d.conf.5 $(DESTDIR)$(mandir)/man5/socks64d.conf.5
	sed -e 's|/usr/sbin/socks64d|$(sbindir)/socks64d|g' \
		-e 's|/etc/socks64/|$(sysconfdir)/socks64/|g' init/socks64d.service \
		>$(DESTDIR)$(or $(systemdunitdir),$(prefix)/lib/systemd/system)/socks64d.service
	chmod 0644 $(DESTDIR)$(or $(systemdunitdir),$(prefix)/lib/systemd/system)/socks64d.service
	@set -e; if [ -f client-shim/libsocks64.so ]; then \
		echo "installing the client shim"; \
		$(INSTALL) -d $(DESTDIR)$(libdir)/socks64 $(DESTDIR)$(bindir) \
			$(DESTDIR)$(mandir)/man1; \
		$(INSTALL) -m 0644 client-shim/libsocks64.so $(DESTDIR)$(libdir)/socks64/libsocks64.so; \
		$(INSTALL) -m 0755 client-shim/socks64 $(DESTDIR)$(bindir)/socks64; \
		$(INSTALL) -m 0644 docs/socks64.1 $(DESTDIR)$(mandir)/man1/socks64.1; \
		$(INSTALL) -m 0644 docs/socks64.conf.5 $(DESTDIR)$(mandir)/man5/socks64.conf.5; \
	fi
	@set -e; for f in socks64d.conf socks64.conf; do \
		dst=$(DESTDIR)$(sysconfdir)/socks64/$$f; \
		if [ ! -f conf/$$f ]; then continue; fi; \
		if [ $$f = socks64.conf ] && [ ! -f client-shim/libsocks64.so ]; then continue; fi; \
		if [ -e "$$dst" ]; then \
			echo "keeping $$dst (the example is conf/$$f)"; \
		else \
			echo "$(INSTALL) -m 0644 conf/$$f $$dst"; \
			$(INSTALL) -m 0644 conf/$$f "$$dst"; \
		fi; \
	done

# uninstall: everything install put in place except the configurations.
uninstall:
	rm -f $(DESTDIR)$(sbindir)/socks64d \
		$(DESTDIR)$(libdir)/socks64/libsocks64.so $(DESTDIR)$(bindir)/socks64 \
		$(DESTDIR)$(mandir)/man8/socks64d.8 $(DESTDIR)$(mandir)/man5/socks64d.conf.5 \
		$(DESTDIR)$(mandir)/man1/socks64.1 $(DESTDIR)$(mandir)/man5/socks64.conf.5 \
		$(DESTDIR)$(or $(systemdunitdir),$(prefix)/lib/systemd/system)/socks64d.service
	@rmdir $(DESTDIR)$(libdir)/socks64 2>/dev/null || true
	@echo "kept the configuration in $(DESTDIR)$(sysconfdir)/socks64"

clean:
	rm -f $(CORE_OBJS) gateway/main.o $(CORE_LIB) $(DAEMON) $(UNIT_BINS) $(BENCH_BINS) \
		$(HELPER_BINS) $(DEPS) .flags-*

-include $(DEPS)
