# tests/unit/sf.mk: unit tests of the SF manager of the software DPU
# (controller/sf.c: tap representors, the SF pool) and of lib/netlink.c.
# They create and delete real netdevs, so they need root and /dev/net/tun;
# without them every case is reported as skipped.  Included from
# tests/unit/automake.mk.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_sf
TESTS += tests/unit/test_sf
tests_unit_test_sf_SOURCES = tests/unit/test_sf.c controller/sf.c controller/sf.h
tests_unit_test_sf_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_sf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/controller
tests_unit_test_sf_LDADD = lib/libvirtnet.la $(CMOCKA_LIBS) $(MNL_LIBS)
endif
