# guest_boot.sh - the test guest (scripts/build-guest.sh) boots under QEMU/TCG
# as the software DPU's host: virtio modules loaded, the hotplug root ports
# visible over QMP.  The end-to-end tests build on this.
. "$top_srcdir/tests/functional/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || skip_all "no cloud kernel (linux-image-cloud-amd64)"
GUEST="python3 $top_srcdir/tests/functional/guest.py"
R=$T/run
qemu_cleanup() {
    [ -f "$R/qemu.pid" ] && kill -TERM "$(cat "$R/qemu.pid")" 2>/dev/null
    [ -f "$R/qemu.pid" ] && wait_until 10 pid_gone "$(cat "$R/qemu.pid")"
    _cleanup
}
trap qemu_cleanup EXIT

check "build the guest" bash "$top_srcdir/scripts/build-guest.sh" "$T/guest"
check "boot it with 2 hotplug root ports" bash "$top_srcdir/scripts/run-guest.sh" "$T/guest" "$R" 2
check "the guest reaches its shell" $GUEST wait-ready "$R/serial.sock" 120
check "virtio_net is loaded in the guest" sh -c "$GUEST run '$R/serial.sock' 20 'grep -c ^virtio_net /proc/modules' | grep -qx 1"
check "QMP: the root ports rp0 and rp1 are there" sh -c "$GUEST qmp '$R/qmp.sock' '{\"execute\":\"query-pci\"}' | jq -e '[.return[].devices[].qdev_id] | index(\"rp0\") and index(\"rp1\")'"
pid=$(cat "$R/qemu.pid")
check "QMP quit stops QEMU" sh -c "$GUEST qmp '$R/qmp.sock' '{\"execute\":\"quit\"}' >/dev/null"
wait_until 10 pid_gone "$pid" && ok "QEMU is gone" || not_ok "QEMU is gone"
done_testing
