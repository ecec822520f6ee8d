# tests/unit/recovery.mk: unit tests of the recovery store.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_recovery
TESTS += tests/unit/test_recovery
tests_unit_test_recovery_SOURCES = tests/unit/test_recovery.c
tests_unit_test_recovery_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_recovery_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/recovery
tests_unit_test_recovery_LDADD = recovery/librecovery.la lib/libvirtnet.la $(CMOCKA_LIBS) $(CJSON_LIBS)
endif
