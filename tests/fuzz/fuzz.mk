# tests/fuzz/fuzz.mk -- libFuzzer targets (clang), included by the top
# Makefile.
#
#   make fuzz-bins        build every target into tests/fuzz/build/
#   make fuzz             run each target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_TARGETS="conf shim_conf" FUZZ_SECONDS=600
#   make fuzz-brief       what `make check` runs: every target for seconds,
#                         plus every saved crash in tests/fuzz/regress/
#   make fuzz-merge       keep what `make fuzz` found that adds coverage in
#                         tests/fuzz/grown/TARGET/ (committed)
#
# The targets are built with clang from the sources themselves, never from
# the gcc-built core archive: each source a target needs is compiled again
# with coverage and sanitizer instrumentation into tests/fuzz/build/.
# New corpus entries go to FUZZ_WORK (outside the tree); crashes go to
# tests/fuzz/artifacts/TARGET/.

FUZZ_CC        ?= clang
FUZZ_SECONDS   ?= 60
FUZZ_WORK      ?= $(or $(TMPDIR),/tmp)/socks64-fuzz
FUZZ_ARGS      ?=
FUZZ_DIR       := tests/fuzz
FUZZ_BUILD     := $(FUZZ_DIR)/build
FUZZ_ARTIFACTS := $(FUZZ_DIR)/artifacts

FUZZ_SAN_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# The targets check their invariants with assert(): never build them with
# NDEBUG.
FUZZ_CFLAGS := $(SOCKS64_CFLAGS) -g -O1 $(FUZZ_SAN_FLAGS) -UNDEBUG
FUZZ_CPPFLAGS := $(SOCKS64_CPPFLAGS)

# Every target: its sources (besides tests/fuzz/fuzz_TARGET.c), libraries,
# extra flags and the largest input worth trying (-max_len), about the
# largest valid message of its format plus some room.
FUZZ_CODEC5 := gateway/socks5.c gateway/socks_addr.c

FUZZ_TARGETS ?= socks5_greeting socks5_request socks5_reply socks5_udp socks4_request \
	socks4_reply auth_pass_request auth_pass_reply gss_frame auth_users socks_addr conf \
	shim_conf synth_table_check synth_table_ops

FUZZ_SRCS_socks5_greeting := $(FUZZ_CODEC5)
FUZZ_MAXLEN_socks5_greeting := 300
FUZZ_SRCS_socks5_request := $(FUZZ_CODEC5)
FUZZ_MAXLEN_socks5_request := 300
FUZZ_SRCS_socks5_reply := $(FUZZ_CODEC5)
FUZZ_MAXLEN_socks5_reply := 300
FUZZ_SRCS_socks5_udp := $(FUZZ_CODEC5)
FUZZ_MAXLEN_socks5_udp := 512
FUZZ_SRCS_socks4_request := gateway/socks4.c $(FUZZ_CODEC5)
FUZZ_MAXLEN_socks4_request := 600
FUZZ_SRCS_socks4_reply := gateway/socks4.c $(FUZZ_CODEC5)
FUZZ_MAXLEN_socks4_reply := 16
FUZZ_SRCS_auth_pass_request := gateway/auth_pass.c
FUZZ_LIBS_auth_pass_request := $(CRYPT_LIBS)
FUZZ_MAXLEN_auth_pass_request := 600
FUZZ_SRCS_auth_pass_reply := gateway/auth_pass.c
FUZZ_LIBS_auth_pass_reply := $(CRYPT_LIBS)
FUZZ_MAXLEN_auth_pass_reply := 8
FUZZ_SRCS_gss_frame := gateway/gss_frame.c
FUZZ_MAXLEN_gss_frame := 8192
FUZZ_SRCS_auth_users := gateway/auth_pass.c
FUZZ_LIBS_auth_users := $(CRYPT_LIBS)
FUZZ_MAXLEN_auth_users := 4096
FUZZ_SRCS_socks_addr := gateway/socks_addr.c
FUZZ_MAXLEN_socks_addr := 300
# users-file paths in fuzzed configs are redirected, GSSAPI acceptors
# stand-ins (see fuzz_conf.c).
FUZZ_SRCS_conf := gateway/conf.c gateway/rules.c gateway/auth_pass.c $(FUZZ_CODEC5)
FUZZ_LIBS_conf := -Wl,--wrap=auth_users_load -Wl,--wrap=gss_acceptor_new \
	-Wl,--wrap=gss_acceptor_free $(CRYPT_LIBS)
FUZZ_MAXLEN_conf := 4096
# The shim's "conf.h" must win over the gateway's.
FUZZ_SRCS_shim_conf := client-shim/conf.c dns/synth_table.c
FUZZ_INC_shim_conf := -Iclient-shim
FUZZ_MAXLEN_shim_conf := 4096
FUZZ_SRCS_synth_table_check := dns/synth_table.c
FUZZ_MAXLEN_synth_table_check := 8192
FUZZ_SRCS_synth_table_ops := dns/synth_table.c
FUZZ_MAXLEN_synth_table_ops := 2048

FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB_OBJS := $(sort $(foreach t,$(FUZZ_TARGETS),$(FUZZ_SRCS_$(t):%.c=$(FUZZ_BUILD)/%.o)))
FUZZ_MAIN_OBJS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%.o)

.PHONY: fuzz fuzz-bins fuzz-brief fuzz-list fuzz-clean fuzz-merge

fuzz-bins: $(FUZZ_BINS)

# Objects are rebuilt when this file (and so the flags) changes.
$(FUZZ_LIB_OBJS) $(FUZZ_MAIN_OBJS): $(FUZZ_DIR)/fuzz.mk

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%.o: $(FUZZ_DIR)/fuzz_%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_INC_$*) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

define FUZZ_LINK
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_BUILD)/fuzz_$(1).o $(FUZZ_SRCS_$(1):%.c=$(FUZZ_BUILD)/%.o)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$^ $$(FUZZ_LIBS_$(1)) -pthread
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK,$(t))))

# "TARGET MAXLEN" per line, for tests/fuzz/test_fuzz.sh.
fuzz-list:
	@$(foreach t,$(FUZZ_TARGETS),echo '$(t) $(FUZZ_MAXLEN_$(t))';)

# Each target in turn, FUZZ_SECONDS each; a crash does not stop the others,
# the exit status says whether any target crashed.
fuzz: fuzz-bins
	@failed=; \
	for pair in $(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t))); do \
		t=$${pair%%:*}; maxlen=$${pair#*:}; \
		mkdir -p "$(FUZZ_WORK)/$$t" "$(FUZZ_ARTIFACTS)/$$t"; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s (corpus $(FUZZ_WORK)/$$t)"; \
		./$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$maxlen \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$(FUZZ_ARTIFACTS)/$$t/" $(FUZZ_ARGS) \
			"$(FUZZ_WORK)/$$t" "$(FUZZ_DIR)/corpus/$$t" \
			$$([ -d "$(FUZZ_DIR)/grown/$$t" ] && echo "$(FUZZ_DIR)/grown/$$t") \
			|| failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "fuzz: crashes in:$$failed (inputs in $(FUZZ_ARTIFACTS)/)"; exit 1; \
	fi; \
	echo "fuzz: no crash"

# What `make fuzz` found that adds coverage, kept in the repository:
# libFuzzer's -merge=1 moves into grown/TARGET/ only the inputs of
# FUZZ_WORK/TARGET that reach something grown/ does not yet reach.
fuzz-merge: fuzz-bins
	@for pair in $(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t))); do \
		t=$${pair%%:*}; maxlen=$${pair#*:}; \
		[ -d "$(FUZZ_WORK)/$$t" ] || continue; \
		mkdir -p "$(FUZZ_DIR)/grown/$$t"; \
		before=$$(ls "$(FUZZ_DIR)/grown/$$t" | wc -l); \
		./$(FUZZ_BUILD)/fuzz_$$t -merge=1 -max_len=$$maxlen "$(FUZZ_DIR)/grown/$$t" \
			"$(FUZZ_WORK)/$$t" >/dev/null 2>&1 || { echo "fuzz-merge: $$t failed"; exit 1; }; \
		echo "fuzz-merge: $$t: $$before -> $$(ls "$(FUZZ_DIR)/grown/$$t" | wc -l) inputs"; \
	done

fuzz-brief: fuzz-bins
	@sh $(FUZZ_DIR)/test_fuzz.sh

clean: fuzz-clean

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_MAIN_OBJS:.o=.d)
