# tests/functional/: shell tests (TAP) that start the real daemon in a temp dir
# and drive it only through `virtnet` and raw JSON-RPC.
FUNCTIONAL_TESTS = \
	tests/functional/cli.sh \
	tests/functional/daemon.sh \
	tests/functional/datapath.sh \
	tests/functional/devices.sh \
	tests/functional/dummy.sh \
	tests/functional/features.sh \
	tests/functional/guest_boot.sh \
	tests/functional/guest_e2e.sh \
	tests/functional/guest_iommu.sh \
	tests/functional/iommu.sh \
	tests/functional/libvirt.sh \
	tests/functional/limits.sh \
	tests/functional/metrics.sh \
	tests/functional/migrate.sh \
	tests/functional/migrate_update.sh \
	tests/functional/modify_rings.sh \
	tests/functional/ovs.sh \
	tests/functional/ownership.sh \
	tests/functional/packed.sh \
	tests/functional/providers.sh \
	tests/functional/reconnect.sh \
	tests/functional/rpc.sh \
	tests/functional/rpc_bad_input.sh \
	tests/functional/rpc_hygiene.sh \
	tests/functional/rpc_idle.sh \
	tests/functional/rpc_limits.sh \
	tests/functional/rpc_privilege.sh \
	tests/functional/statedir.sh \
	tests/functional/states.sh \
	tests/functional/static_vf.sh \
	tests/functional/update.sh \
	tests/functional/update_packed.sh \
	tests/functional/vhost_proto.sh \
	tests/functional/vhost_reconnect.sh
TESTS += $(FUNCTIONAL_TESTS)
EXTRA_DIST += $(FUNCTIONAL_TESTS) tests/functional/lib.sh tests/functional/rpc_raw.py tests/functional/rpc_flood.py tests/functional/guest.py \
	tests/functional/vhost_peer.py tests/functional/dp_lib.sh
