# guest_e2e.sh - end to end with a real host: the test guest (QEMU/TCG, its
# virtio_net driver) stands for the DPU's host, attached over QMP.
#   virtnet hotplug -> the guest finds a NIC with that MAC and MTU -> the
#   representor is in a bridge with a veth to a netns peer -> guest and peer
#   ping each other -> a multi-queue device -> the controller is killed and
#   started again while the guest pings: QEMU reconnects, traffic resumes ->
#   virtnet unplug -> the NIC is gone from the guest.  QMP trouble: a port
#   QEMU refuses and a VM that is gone roll back with a clear error.  Then a
#   transitional device (-l) in a guest booted with virtio_pci.force_legacy=1.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || skip_all "no cloud kernel (linux-image-cloud-amd64)"
need_cmd ping
GUEST="python3 $top_srcdir/tests/functional/guest.py"
R=$T/run
ID=$(( $$ % 100000 ))
NS=vnge$ID BR=vngb$ID VA=vnga$ID VB=vngv$ID NET=10.215.$(( ID % 250 ))
e2e_cleanup() {
    [ -f "$R/qemu.pid" ] && kill -TERM "$(cat "$R/qemu.pid")" 2>/dev/null &&
        wait_until 10 pid_gone "$(cat "$R/qemu.pid")"
    peer_cleanup
    _cleanup
}
trap e2e_cleanup EXIT
g() { $GUEST run "$R/serial.sock" 60 "$@"; }   # a command in the guest, its output

bash "$top_srcdir/scripts/build-guest.sh" "$T/guest" >"$T/build-guest.log" 2>&1 ||
    { not_ok "build the guest"; diag <"$T/build-guest.log"; done_testing; }
bash "$top_srcdir/scripts/run-guest.sh" "$T/guest" "$R" 2 >/dev/null ||
    { not_ok "boot the guest"; done_testing; }
check "the guest reaches its shell" $GUEST wait-ready "$R/serial.sock" 120

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 3, "serial": "$SERIAL" },
  "host": { "qmp_socket": "$R/qmp.sock", "root_ports": "rp0,rp1,nosuchport" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

peer_setup

# ---- hotplug: the guest finds the NIC ----------------------------------------------------
mac=02:00:00:00:07:01
vn hotplug -i mlx5_0 -m $mac -t 1400 -n 2 -s 256 -u "$sfbase" >"$T/hp.json" ||
    { not_ok "hotplug into the guest"; diag <"$T/hp.json"; done_testing; }
ok "hotplug into the guest"
vuid=$(jget .vuid <"$T/hp.json"); rep=$(jget .sf_rep_net_device <"$T/hp.json")
track_rep "$rep"
check "the answer says where the guest sees it (host_bdf)" jq -e '.host_bdf | test("^[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$")' "$T/hp.json"
# has_mac MAC: the guest has a NIC with it (exit status of the guest's grep).
has_mac() { g "grep -qs $1 /sys/class/net/*/address" >/dev/null; }
# if_of MAC: the guest's name for it ("IF=" marks output, not the echoed command).
if_of() { g "for f in /sys/class/net/*; do grep -qs $1 \$f/address && echo IF=\${f##*/}; done" | sed -n 's/^IF=\([A-Za-z0-9_.-]*\)$/\1/p'; }
check "the guest has a NIC with that MAC" wait_until 60 has_mac $mac
ifname=$(if_of $mac)
diag <<<"the guest calls it '$ifname'"
check "its MTU is the device's (1400)" sh -c "$GUEST run '$R/serial.sock' 20 'cat /sys/class/net/$ifname/mtu' | grep -qx 1400"
check "the guest's driver reached DRIVER_OK" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].driver_status | index(\"DRIVER_OK\")'"

# ---- traffic both ways ---------------------------------------------------------------------
ip link set "$rep" master "$BR"
g "ip addr add $NET.2/24 dev $ifname; ip link set $ifname up" >/dev/null
check "the peer pings the guest" wait_until 30 ip netns exec "$NS" ping -c 1 -W 2 "$NET.2" || {
    vn query -u "$vuid" | jq -c '.devices[0] | {vhost_connected, driver_status, vhost_last_error, queues: [.queues[] | {state, avail_idx, used_idx, error}]}' | diag
    g "ip addr; cat /proc/net/dev" | diag
    ip -s link show "$rep" | diag
}
check "the guest pings the peer" sh -c "$GUEST run '$R/serial.sock' 30 'ping -c 3 -W 2 $NET.1' | grep -q '3 packets received'"
ip netns exec "$NS" ping -q -c 20 -i 0.05 -W 2 "$NET.2" >"$T/ping.out" 2>&1
check "20 of 20 echoes through the representor and the guest's driver" grep -q " 0% packet loss" "$T/ping.out"

# ---- kill -9 and start again while the guest is pinged: QEMU reconnects ----------------------
ip netns exec "$NS" ping -q -i 0.1 -c 150 -W 1 "$NET.2" >"$T/crash.out" 2>&1 &
flood=$!
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
start_controller --config "$T/virtnet.conf" || not_ok "start again after kill -9"
check "QEMU reconnected: DRIVER_OK and running rings again" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0] | .vhost_connected and (.queues[0].state == \"running\")'"
check "traffic resumed after the restart" wait_until 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET.2"
wait "$flood"
diag <"$T/crash.out"

# ---- multi-queue: two queue pairs offered --------------------------------------------------
vn hotplug -i mlx5_0 -m 02:00:00:00:07:02 -t 1500 -n 4 -s 256 -u $((sfbase + 1)) >"$T/mq.json" &&
    ok "a device with two queue pairs" || { not_ok "a device with two queue pairs"; diag <"$T/mq.json"; }
track_rep "$(jget .sf_rep_net_device <"$T/mq.json")"
check "the guest has it" wait_until 60 has_mac 02:00:00:00:07:02
check "QEMU's one connection carries both pairs' memory (no refusal)" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$(jget .vuid <"$T/mq.json")' | jq -e '.devices[0] | .vhost_connected and .vhost_queue_pairs == 2 and (.negotiated_feature_names | index(\"VIRTIO_NET_F_MQ\"))'"

# ---- QMP trouble: a root port QEMU does not have; then no VM at all ---------------------------
vn hotplug -i mlx5_0 -m 02:00:00:00:07:03 -t 1500 -n 2 -s 256 -u $((sfbase + 2)) >"$T/bad.out" 2>&1
[ $? -ne 0 ] && grep -q "the host VM did not take the device" "$T/bad.out" &&
    ok "a port QEMU refuses: a clear error" || { not_ok "a port QEMU refuses: a clear error"; diag <"$T/bad.out"; }
check "and the controller rolled it back (2 devices)" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.devices | length == 2'"
check "and QEMU has no half of it" sh -c "! $GUEST qmp '$R/qmp.sock' '{\"execute\":\"query-chardev\"}' | grep -q 'vnch-.*VNETH2'"

# ---- unplug: the NIC leaves the guest --------------------------------------------------------
check "unplug" vn unplug -u "$vuid"
nic_gone() { ! has_mac $mac; }
check "the NIC is gone from the guest" wait_until 30 nic_gone

qemu_pid=$(cat "$R/qemu.pid")
kill -TERM "$qemu_pid"; wait_until 10 pid_gone "$qemu_pid"
vn hotplug -i mlx5_0 -m 02:00:00:00:07:04 -t 1500 -n 2 -s 256 -u $((sfbase + 3)) >"$T/novm.out" 2>&1
[ $? -ne 0 ] && grep -q "cannot reach QEMU" "$T/novm.out" &&
    ok "no VM: hotplug fails and says so" || { not_ok "no VM: hotplug fails and says so"; diag <"$T/novm.out"; }
check "nothing left behind (1 device)" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.devices | length == 1'"

# ---- a transitional device and a guest whose virtio_pci is forced to the legacy interface ----
rm -f "$R/qmp.sock" "$R/serial.sock"
VIRTNET_GUEST_CMDLINE=virtio_pci.force_legacy=1 bash "$top_srcdir/scripts/run-guest.sh" "$T/guest" "$R" 2 \
    >/dev/null || not_ok "boot a guest with virtio_pci.force_legacy=1"
check "the legacy guest reaches its shell" $GUEST wait-ready "$R/serial.sock" 120
lmac=02:00:00:00:07:05
vn hotplug -i mlx5_0 -m $lmac -t 1500 -n 2 -s 256 -u $((sfbase + 4)) -l >"$T/leg.json" &&
    ok "hotplug a transitional device (-l)" || { not_ok "hotplug a transitional device (-l)"; diag <"$T/leg.json"; }
lvuid=$(jget .vuid <"$T/leg.json"); lrep=$(jget .sf_rep_net_device <"$T/leg.json")
track_rep "$lrep"
check "the legacy guest has the NIC" wait_until 60 has_mac $lmac
# (The legacy header is 10 bytes, 12 with MRG_RXBUF.)
check "its driver uses the legacy interface (no VERSION_1, legacy header)" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$lvuid' | jq -e '.devices[0] | (.driver_status | index(\"DRIVER_OK\")) and (.negotiated_feature_names | index(\"VIRTIO_F_VERSION_1\") | not) and .vnet_hdr_len == (if (.negotiated_feature_names | index(\"VIRTIO_NET_F_MRG_RXBUF\")) then 12 else 10 end)'"
lif=$(if_of $lmac)
ip link set "$lrep" master "$BR"
g "ip addr add $NET.3/24 dev $lif; ip link set $lif up" >/dev/null
check "the peer pings the legacy guest" wait_until 30 ip netns exec "$NS" ping -c 1 -W 2 "$NET.3"
ip netns exec "$NS" ping -q -c 20 -i 0.05 -W 2 -s 1400 "$NET.3" >"$T/lping.out" 2>&1
check "legacy: 20 of 20 echoes of 1400 bytes" grep -q " 0% packet loss" "$T/lping.out"
stop_controller
done_testing
