# tests/fuzz/: libFuzzer targets for every parser of outside input (lib/, the
# vhost-user back-end in controller/emu_vhost.c, the device manager's reading
# of recovery records in controller/device.c).  `make fuzz` builds them with
# clang (-fsanitize=fuzzer,address,undefined) outside the normal build, and
# runs each for FUZZ_SECONDS (10) from its seed corpus (tests/fuzz/corpus/NAME/
# plus the unit-test data).
FUZZ_TARGETS = fuzz_conf fuzz_provider_conf fuzz_rpc fuzz_virtq fuzz_virtq_packed fuzz_vhost \
	fuzz_iotlb \
	fuzz_dirty_log fuzz_recovery fuzz_devices
FUZZ_SECONDS ?= 10
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -I$(top_builddir) -I$(top_srcdir)/lib -I$(top_srcdir)/include \
	-I$(top_srcdir)/controller -I$(top_srcdir)/recovery $(CJSON_CFLAGS)
FUZZ_LIB_SRCS = lib/conf.c lib/guest_mem.c lib/iotlb.c lib/json.c lib/jsonrpc.c lib/log.c lib/provider_conf.c \
	lib/rpc_params.c lib/util.c lib/vhost_user.c lib/virtq.c lib/virtq_inflight.c lib/dirty_log.c \
	lib/fault.c lib/sock_perms.c lib/statefile.c recovery/recovery.c

EXTRA_DIST += $(FUZZ_TARGETS:%=tests/fuzz/%.c) tests/fuzz/fuzz_tmpdir.h tests/fuzz/run.sh tests/fuzz/corpus \
	tests/fuzz/mkseeds.py

fuzz:
	$(AM_V_at)$(SHELL) $(top_srcdir)/tests/fuzz/run.sh "$(FUZZ_CC)" "$(FUZZ_FLAGS)" \
		"$(FUZZ_LIB_SRCS)" "$(CJSON_LIBS) -lev -lmnl -lpthread -lm" "$(FUZZ_SECONDS)" $(FUZZ_TARGETS)
.PHONY: fuzz
