# tests/unit/vq.mk: cmocka unit tests of the datapath libraries of lib/: guest
# memory table (guest_mem), the device IOTLB (iotlb), split virtqueue access (virtq) and the vhost-user
# message layer (vhost_user).  Included from tests/unit/automake.mk.
if HAVE_CMOCKA
vq_unit_tests = \
	tests/unit/test_guest_mem \
	tests/unit/test_iotlb \
	tests/unit/test_virtq \
	tests/unit/test_vhost_user
check_PROGRAMS += $(vq_unit_tests)
TESTS += $(vq_unit_tests)

vq_unit_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
vq_unit_test_ldadd = lib/libvirtnet.la $(CMOCKA_LIBS)

tests_unit_test_guest_mem_SOURCES = tests/unit/test_guest_mem.c
tests_unit_test_guest_mem_CFLAGS = $(vq_unit_test_cflags)
tests_unit_test_guest_mem_LDADD = $(vq_unit_test_ldadd)

tests_unit_test_iotlb_SOURCES = tests/unit/test_iotlb.c
tests_unit_test_iotlb_CFLAGS = $(vq_unit_test_cflags)
tests_unit_test_iotlb_LDADD = $(vq_unit_test_ldadd)

tests_unit_test_virtq_SOURCES = tests/unit/test_virtq.c
tests_unit_test_virtq_CFLAGS = $(vq_unit_test_cflags)
tests_unit_test_virtq_LDADD = $(vq_unit_test_ldadd)

tests_unit_test_vhost_user_SOURCES = tests/unit/test_vhost_user.c
tests_unit_test_vhost_user_CFLAGS = $(vq_unit_test_cflags)
tests_unit_test_vhost_user_LDADD = $(vq_unit_test_ldadd)
endif
