# docs/: man pages and references.  The man pages name the directories this
# build was configured with (--with-virtnet-confdir, --with-virtnet-statedir).
man_MANS += docs/virtio_net_controller.8 docs/virtnet.8 docs/virtnet.conf.5
CLEANFILES += docs/virtio_net_controller.8 docs/virtnet.8 docs/virtnet.conf.5
EXTRA_DIST += docs/virtio_net_controller.8.in docs/virtnet.8.in docs/virtnet.conf.5.in
man_edit = $(MKDIR_P) docs && sed -e 's|@VIRTNET_CONFDIR[@]|$(virtnet_confdir)|g' \
	-e 's|@VIRTNET_STATEDIR[@]|$(virtnet_statedir)|g'
docs/virtio_net_controller.8: docs/virtio_net_controller.8.in Makefile
	$(AM_V_GEN)$(man_edit) $(srcdir)/docs/virtio_net_controller.8.in >$@
docs/virtnet.8: docs/virtnet.8.in Makefile
	$(AM_V_GEN)$(man_edit) $(srcdir)/docs/virtnet.8.in >$@
docs/virtnet.conf.5: docs/virtnet.conf.5.in Makefile
	$(AM_V_GEN)$(man_edit) $(srcdir)/docs/virtnet.conf.5.in >$@
EXTRA_DIST += docs/rpc.md docs/architecture.md docs/testing.md docs/packaging.md docs/metrics.md docs/compat.md
