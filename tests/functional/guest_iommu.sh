# guest_iommu.sh - VIRTIO_F_IOMMU_PLATFORM end to end: the test guest (QEMU/TCG,
# q35) behind an emulated Intel VT-d (intel-iommu, device-iotlb=on) whose
# kernel runs with intel_iommu=on, a virtio-net-pci of ours with
# iommu_platform=on,ats=on on a PCIe root port.  QEMU negotiates the bit,
# hands ring and buffer addresses as IOVAs and answers the back-end's IOTLB
# misses; the guest's DMA unmaps reach us as invalidations.  The guest pings
# a netns peer through the representor and a bridge, both ways.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || skip_all "no cloud kernel (linux-image-cloud-amd64)"
cfg=$(ls /boot/config-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$cfg" ] && ! grep -q '^CONFIG_INTEL_IOMMU=y' "$cfg" &&
    skip_all "the guest kernel ($cfg) has no CONFIG_INTEL_IOMMU"
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"intel-iommu"' ||
    skip_all "this QEMU has no intel-iommu device"
need_cmd ping
GUEST="python3 $top_srcdir/tests/functional/guest.py"
R=$T/run
ID=$(( $$ % 100000 ))
NS=vnie$ID BR=vnib$ID VA=vnia$ID VB=vniv$ID NET=10.217.$(( ID % 250 ))
trap 'qemu_stop "$R"; peer_cleanup; _cleanup' EXIT
g() { $GUEST run "$R/serial.sock" 60 "$@"; }   # a command in the guest, its output

bash "$top_srcdir/scripts/build-guest.sh" "$T/guest" >"$T/build-guest.log" 2>&1 ||
    { not_ok "build the guest"; diag <"$T/build-guest.log"; done_testing; }
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 1, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
peer_setup

# The device asks for IOMMU_PLATFORM (hotplug -f adds it to the default set).
mac=02:00:00:00:0d:01
vn hotplug -i mlx5_0 -m $mac -t 1500 -n 2 -s 256 -u "$sfbase" -f 0x200000000 >"$T/hp.json" ||
    { not_ok "hotplug a device with IOMMU_PLATFORM"; diag <"$T/hp.json"; done_testing; }
vuid=$(jget .vuid <"$T/hp.json"); rep=$(jget .sf_rep_net_device <"$T/hp.json")
track_rep "$rep"
ip link set "$rep" master "$BR"
vn query -u "$vuid" >"$T/q.json"
sock=$(jget '.devices[0].vhost_socket' <"$T/q.json")
check "query's QEMU arguments ask for iommu_platform=on,ats=on" jq -e '.devices[0].qemu_args // "" | test("iommu_platform=on,ats=on")' "$T/q.json"

# The vIOMMU first, then the NIC on root port rp0 (ATS needs a PCIe port); vectors=0:
# QEMU 7.2 crashes with MSI-X on a vhost-user virtio-net-pci under TCG (docs/host.md).
export VIRTNET_GUEST_CMDLINE="virtnet.ip=$NET.2/24 intel_iommu=on"
# Bounded: a QEMU that cannot set up its NIC retries (and logs) in a loop at start.
timeout 120 bash "$top_srcdir/scripts/run-guest.sh" "$T/guest" "$R" 1 -- \
    -device intel-iommu,intremap=off,device-iotlb=on \
    -chardev "socket,id=vnic0,path=$sock,reconnect=1" -netdev "vhost-user,id=vnin0,chardev=vnic0" \
    -device "virtio-net-pci,netdev=vnin0,id=vninic0,mac=$mac,bus=rp0,iommu_platform=on,ats=on,vectors=0" \
    2>&1 | head -c 65536 >"$T/qemu.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { not_ok "boot the guest with a vIOMMU"; tail -n 20 "$T/qemu.log" | diag; done_testing; }
check "the guest reaches its shell" $GUEST wait-ready "$R/serial.sock" 180
check "the guest's kernel uses the vIOMMU (DMAR)" sh -c "$GUEST run '$R/serial.sock' 30 'dmesg | grep -c -e DMAR -e IOMMU' | grep -qE '^[1-9]'"
g "dmesg | grep -i -e dmar -e iommu | tail -n 8" | diag
drv_ok() { vn query -u "$vuid" | jq -e '.devices[0].driver_status | index("DRIVER_OK")' >/dev/null; }
check "the guest's driver reached DRIVER_OK" wait_until 120 drv_ok
vn query -u "$vuid" >"$T/q.json"
check "query: IOMMU_PLATFORM negotiated, the IOTLB active" jq -e '.devices[0] | (.negotiated_feature_names | index("VIRTIO_F_IOMMU_PLATFORM")) and .iotlb.active' "$T/q.json"
check "the peer pings the guest" wait_until 60 ip netns exec "$NS" ping -c 1 -W 2 "$NET.2"
check "the guest pings the peer" sh -c "$GUEST run '$R/serial.sock' 30 'ping -c 3 -W 2 $NET.1' | grep -q '3 packets received'"
ip netns exec "$NS" ping -q -c 20 -i 0.05 -W 2 "$NET.2" >"$T/ping.out" 2>&1
check "20 of 20 echoes through the vIOMMU's translations" grep -q " 0% packet loss" "$T/ping.out" || diag <"$T/ping.out"
vn query -u "$vuid" >"$T/q.json"
check "query: translations were asked for and answered, none refused" jq -e '.devices[0].iotlb | .misses_sent > 0 and .updates > 0 and .misses_unsent == 0 and .denied == 0' "$T/q.json"
jq -c '.devices[0].iotlb' "$T/q.json" | diag
# An INVALIDATE that removed a translation restarts the rings; one whose ring addresses
# wait for their translation again runs once QEMU answers: every queue runs within a bound.
all_run() { vn query -u "$vuid" | jq -e '[.devices[0].queues[] | .state == "running"] | all' >/dev/null; }
check "query: every queue runs" wait_until 10 all_run
# A queue may wait for a moment (the guest maps each new buffer; we ask, QEMU answers).
no_wait() { vn query -u "$vuid" | jq -e '[.devices[0].queues[] | has("error") | not] | all' >/dev/null; }
check "no queue waits for a translation for long" wait_until 10 no_wait
vn query -u "$vuid" | jq -c '[.devices[0].queues[] | {type, state, avail_idx, used_idx, error}]' | diag
check "the controller logged no error" sh -c "! grep -q '\] error:' '$CTL_LOG'"
stop_controller
done_testing
