# providers/: datapath providers, one shared object each, loaded by the
# controller from $(providerdir).  Only the entry point is exported.
providerdir = $(pkglibdir)/providers
provider_LTLIBRARIES = providers/sw.la providers/ace.la providers/dpa.la
PROVIDER_LDFLAGS = -module -avoid-version -shared -export-symbols-regex '^vn_provider_entry$$'
PROVIDER_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

# The sw provider compiles the state-free split-ring code of lib/ in (hidden,
# direct calls on the hot path) and takes logging from the controller, which
# exports it (controller/provider.sym): one log, one set of levels.
providers_sw_la_SOURCES = providers/sw/sw.c providers/sw/sw.h providers/sw/sw_net.c \
	providers/sw/sw_worker.c providers/sw/sw_uring.c lib/virtq.c lib/guest_mem.c \
	lib/dirty_log.c lib/iotlb.c
providers_sw_la_CFLAGS = $(PROVIDER_CFLAGS) $(URING_CFLAGS)
providers_sw_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_sw_la_LIBADD = $(URING_LIBS)

providers_ace_la_SOURCES = providers/mlx5/mlx5_provider.c
providers_ace_la_CPPFLAGS = $(AM_CPPFLAGS) -DVN_PROVIDER_NAME='"ace"'
providers_ace_la_CFLAGS = $(PROVIDER_CFLAGS) $(IBVERBS_CFLAGS)
providers_ace_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_ace_la_LIBADD = $(IBVERBS_LIBS)

providers_dpa_la_SOURCES = providers/mlx5/mlx5_provider.c
providers_dpa_la_CPPFLAGS = $(AM_CPPFLAGS) -DVN_PROVIDER_NAME='"dpa"'
providers_dpa_la_CFLAGS = $(PROVIDER_CFLAGS) $(IBVERBS_CFLAGS)
providers_dpa_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_dpa_la_LIBADD = $(IBVERBS_LIBS)


# The SDK for out-of-tree providers: the header and a pkg-config file
# (configure writes it from providers/virtnet-provider.pc.in).
virtnetincludedir = $(includedir)/virtnet
virtnetinclude_HEADERS = include/virtnet/provider.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = providers/virtnet-provider.pc
DISTCLEANFILES += providers/virtnet-provider.pc
EXTRA_DIST += providers/virtnet-provider.pc.in
