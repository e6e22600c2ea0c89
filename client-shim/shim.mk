# client-shim/shim.mk -- libsocks64.so (LD_PRELOAD shim) and its tests;
# included by the top Makefile.
#
# A shared library needs position-independent code, so the codec and map
# files it shares with the gateway (the same sources, never copies) are
# compiled a second time into client-shim/pic/, beside the shim's own files.
# The gateway's objects are left as they are.  RFC 1961 (auth gssapi) uses
# the gateway's GSS-API wrapper and framing codec the same way, and links
# MIT's libgssapi_krb5 ($(GSS_LIBS) from the top Makefile).

SHIM_LIB     := client-shim/libsocks64.so
SHIM_TARGETS := $(SHIM_LIB)

SHIM_OWN_SRCS    := $(wildcard client-shim/*.c)
SHIM_SHARED_SRCS := gateway/socks5.c gateway/socks_addr.c dns/synth_table.c dns/synth.c \
	gateway/gss.c gateway/gss_frame.c
SHIM_OBJS := $(patsubst client-shim/%.c,client-shim/pic/%.o,$(SHIM_OWN_SRCS)) \
	$(patsubst %.c,client-shim/pic/%.o,$(notdir $(SHIM_SHARED_SRCS)))
SHIM_PIC_FLAGS := -fPIC -fvisibility=hidden
SHIM_CPPFLAGS  := -Iclient-shim
# The library is preloaded into programs built without sanitizers, where an
# ASan runtime cannot come first: SANITIZE=1 leaves the shim uninstrumented
# (its pure modules are checked under sanitizers by the unit tests).
SHIM_CFLAGS  = $(filter-out -fsanitize% -fno-sanitize%,$(ALL_CFLAGS))
SHIM_LDFLAGS = $(filter-out -fsanitize% -fno-sanitize%,$(ALL_LDFLAGS))

$(SHIM_OBJS): $(FLAGS_STAMP)

client-shim/pic/%.o: client-shim/%.c
	@mkdir -p $(@D)
	$(CC) $(SHIM_CPPFLAGS) $(ALL_CPPFLAGS) $(SHIM_CFLAGS) $(SHIM_PIC_FLAGS) -c -o $@ $<

client-shim/pic/%.o: gateway/%.c
	@mkdir -p $(@D)
	$(CC) $(SHIM_CPPFLAGS) $(ALL_CPPFLAGS) $(SHIM_CFLAGS) $(SHIM_PIC_FLAGS) -c -o $@ $<

client-shim/pic/%.o: dns/%.c
	@mkdir -p $(@D)
	$(CC) $(SHIM_CPPFLAGS) $(ALL_CPPFLAGS) $(SHIM_CFLAGS) $(SHIM_PIC_FLAGS) -c -o $@ $<

$(SHIM_LIB): $(SHIM_OBJS) client-shim/exports.map
	$(CC) $(SHIM_CFLAGS) $(SHIM_LDFLAGS) -shared -Wl,--version-script=client-shim/exports.map \
		-Wl,-z,defs -o $@ $(SHIM_OBJS) $(GSS_LIBS) -ldl -pthread $(LDLIBS)

# The configuration test links the shim's parser (PIC objects are fine in
# an executable); -Iclient-shim first so "conf.h" is the shim's.
tests/unit/test_shim_conf: tests/unit/test_shim_conf.c client-shim/pic/conf.o \
		client-shim/pic/synth_table.o $(FLAGS_STAMP)
	$(CC) $(SHIM_CPPFLAGS) $(ALL_CPPFLAGS) $(CMOCKA_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) \
		-o $@ $< client-shim/pic/conf.o client-shim/pic/synth_table.o $(CMOCKA_LIBS) $(LDLIBS)

clean: shim-clean

.PHONY: shim-clean
shim-clean:
	rm -rf client-shim/pic $(SHIM_LIB)

-include $(SHIM_OBJS:.o=.d)

# The top Makefile names $(SHIM_TARGETS) in `all` and `test-bins` before
# including this file, when the variable is still empty; a rule line's
# prerequisites are expanded as it is read, so add them here as well.
all test-bins: $(SHIM_TARGETS)
