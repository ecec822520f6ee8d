# lib/: code without daemon state, shared by the controller, the CLI, providers and tests.
noinst_LTLIBRARIES += lib/libvirtnet.la
lib_libvirtnet_la_SOURCES = \
	lib/conf.c lib/conf.h \
	lib/dirty_log.c lib/dirty_log.h \
	lib/fault.c lib/fault.h \
	lib/guest_mem.c lib/guest_mem.h \
	lib/iotlb.c lib/iotlb.h \
	lib/json.c lib/json.h \
	lib/jsonrpc.c lib/jsonrpc.h \
	lib/log.c lib/log.h \
	lib/netlink.c lib/netlink.h \
	lib/paths.h \
	lib/provider_conf.c lib/provider_conf.h \
	lib/rpc_client.c lib/rpc_client.h \
	lib/rpc_params.c lib/rpc_params.h \
	lib/sock_perms.c lib/sock_perms.h \
	lib/statefile.c lib/statefile.h \
	lib/util.c lib/util.h \
	lib/vhost_user.c lib/vhost_user.h \
	lib/virtq.c lib/virtq.h \
	lib/virtq_inflight.c lib/virtq_inflight.h
lib_libvirtnet_la_LIBADD = $(CJSON_LIBS) $(MNL_LIBS)
