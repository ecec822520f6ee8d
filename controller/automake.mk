# controller/: the daemon virtio_net_controller.
sbin_PROGRAMS += controller/virtio_net_controller
controller_virtio_net_controller_SOURCES = \
	controller/main.c \
	controller/ctl.c controller/ctl.h \
	controller/reload.c controller/reload.h \
	controller/device.c controller/device.h controller/device_priv.h \
	controller/device_rec.c controller/device_ops.c controller/device_json.c \
	controller/provider.c controller/provider.h \
	controller/rpc_device.c \
	controller/rpc_server.c controller/rpc_server.h \
	controller/rpc_methods.c controller/rpc_methods.h \
	controller/sfmgr.c controller/sfmgr.h controller/sfmgr_class.h \
	controller/sfmgr_tap.c controller/sfmgr_tap.h \
	controller/sfmgr_dummy.c \
	controller/emu.c controller/emu.h controller/emu_class.h \
	controller/emu_vhost.c controller/emu_vhost_log.c controller/emu_vhost_log.h \
	controller/emu_vhost_conn.c controller/emu_vhost_conn.h \
	controller/emu_vhost_txrec.c controller/emu_vhost_txrec.h \
	controller/emu_vhost_iommu.c controller/emu_vhost_iommu.h \
	controller/emu_dummy.c \
	controller/update.c controller/update.h controller/update_follow.c \
	controller/update_msg.c controller/update_msg.h \
	controller/qmp.c controller/qmp.h \
	controller/host.c controller/host.h \
	controller/host_libvirt.c controller/host_libvirt.h \
	controller/metrics.c controller/metrics.h controller/metrics_http.c
controller_virtio_net_controller_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/recovery $(MHD_CFLAGS) $(LIBVIRT_CFLAGS)
# Providers resolve the log functions from the controller (see provider.sym).
controller_virtio_net_controller_LDFLAGS = -Wl,--dynamic-list=$(top_srcdir)/controller/provider.sym
EXTRA_DIST += controller/provider.sym
controller_virtio_net_controller_LDADD = recovery/librecovery.la lib/libvirtnet.la \
	$(CJSON_LIBS) $(MNL_LIBS) $(MHD_LIBS) $(LIBVIRT_LIBS) $(LIBS)
