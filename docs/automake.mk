# docs/: man pages and references.
dist_man_MANS += docs/virtio_net_controller.8 docs/virtnet.8 docs/virtnet.conf.5
EXTRA_DIST += docs/rpc.md docs/architecture.md docs/testing.md docs/packaging.md docs/metrics.md docs/compat.md
