# tests/unit/sf.mk: unit tests of the SF manager (controller/sfmgr.c: SF
# numbers and the pool; sfmgr_tap.c: tap representors; sfmgr_dummy.c) and of
# lib/netlink.c.  The tap cases create and delete real netdevs, so they need
# root and /dev/net/tun; without them those cases are reported as skipped.  Included from
# tests/unit/automake.mk.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_sf
TESTS += tests/unit/test_sf
tests_unit_test_sf_SOURCES = tests/unit/test_sf.c controller/sfmgr.c controller/sfmgr_tap.c \
	controller/sfmgr_dummy.c
tests_unit_test_sf_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_sf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/controller
tests_unit_test_sf_LDADD = lib/libvirtnet.la $(CMOCKA_LIBS) $(MNL_LIBS)
endif
