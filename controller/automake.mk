# controller/: the daemon virtio_net_controller.
sbin_PROGRAMS += controller/virtio_net_controller
controller_virtio_net_controller_SOURCES = \
	controller/main.c \
	controller/ctl.c controller/ctl.h \
	controller/rpc_server.c controller/rpc_server.h \
	controller/rpc_methods.c controller/rpc_methods.h
controller_virtio_net_controller_LDADD = lib/libvirtnet.la $(CJSON_LIBS) $(MNL_LIBS)
