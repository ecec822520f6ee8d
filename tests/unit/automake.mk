# tests/unit/: cmocka unit tests of lib/ and controller internals.
# Test data is found through $top_srcdir (AM_TESTS_ENVIRONMENT); VN_TEST_SRCDIR
# lets a test binary also run by hand.
if HAVE_CMOCKA
unit_tests = \
	tests/unit/test_conf \
	tests/unit/test_provider_conf \
	tests/unit/test_jsonrpc \
	tests/unit/test_sock_perms \
	tests/unit/test_statefile \
	tests/unit/test_fault
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

unit_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DVN_TEST_SRCDIR='"$(abs_top_srcdir)"'
unit_test_ldadd = lib/libvirtnet.la $(CMOCKA_LIBS) $(CJSON_LIBS)

tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(unit_test_cflags)
tests_unit_test_conf_LDADD = $(unit_test_ldadd)

tests_unit_test_provider_conf_SOURCES = tests/unit/test_provider_conf.c
tests_unit_test_provider_conf_CFLAGS = $(unit_test_cflags)
tests_unit_test_provider_conf_LDADD = $(unit_test_ldadd)

tests_unit_test_jsonrpc_SOURCES = tests/unit/test_jsonrpc.c
tests_unit_test_jsonrpc_CFLAGS = $(unit_test_cflags)
tests_unit_test_jsonrpc_LDADD = $(unit_test_ldadd)

tests_unit_test_sock_perms_SOURCES = tests/unit/test_sock_perms.c
tests_unit_test_sock_perms_CFLAGS = $(unit_test_cflags)
tests_unit_test_sock_perms_LDADD = $(unit_test_ldadd)

tests_unit_test_statefile_SOURCES = tests/unit/test_statefile.c
tests_unit_test_statefile_CFLAGS = $(unit_test_cflags)
tests_unit_test_statefile_LDADD = $(unit_test_ldadd)

tests_unit_test_fault_SOURCES = tests/unit/test_fault.c
tests_unit_test_fault_CFLAGS = $(unit_test_cflags)
tests_unit_test_fault_LDADD = $(unit_test_ldadd)
endif

EXTRA_DIST += \
	tests/unit/data/vendor-nonlag.conf \
	tests/unit/data/vendor-lag.conf \
	tests/unit/data/vendor-single-port.conf \
	tests/unit/data/vendor-ace.provider \
	tests/unit/data/vendor-dpa.provider
include tests/unit/vq.mk
include tests/unit/recovery.mk
include tests/unit/sf.mk
