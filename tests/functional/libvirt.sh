# libvirt.sh - the libvirt host back-end with a real libvirtd (Debian's
# libvirt-daemon-system and QEMU driver, started by hand without systemd):
# the project's test guest runs as a transient q35 TCG domain with memfd
# shared memory and pcie-root-ports; `virtnet hotplug` attaches a vhostuser
# interface through libvirt's API -> the guest finds the NIC -> a netns peer
# and the guest ping each other through the representor -> `virtnet unplug`
# detaches it (device-removed event) -> the NIC is gone from the guest and the
# domain.  A refused attach (QEMU cannot reach the socket) and a domain that
# does not exist roll back with libvirt's reason.
#
# libvirtd and virtlogd are started with pid files of this test and stopped
# by pid at the end.  If a libvirtd already runs on this machine it is left
# alone and the test is skipped.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun
need_cmd libvirtd virtlogd virsh ping
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || skip_all "no cloud kernel (linux-image-cloud-amd64)"
getent passwd libvirt-qemu >/dev/null || skip_all "no libvirt-qemu user (libvirt-daemon-system not installed)"
if pgrep -x libvirtd >/dev/null 2>&1; then
    skip_all "a libvirtd is already running (pid $(pgrep -x libvirtd | tr '\n' ' ')): not touching it"
fi
GUEST="python3 $top_srcdir/tests/functional/guest.py"
ID=$(( $$ % 100000 ))
NS=vnlv$ID BR=vnlb$ID VA=vnla$ID VB=vnlp$ID NET=10.217.$(( ID % 250 ))
DOM=virtnet-test-$ID
URI=qemu:///system
LV=$T/libvirt
R=$T/run
LIBVIRTD_PID= VIRTLOGD_PID=

# stop_pidfile FILE: SIGTERM to the pid in FILE (a daemon this test started), bounded wait.
stop_pidfile() {
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    wait_until 20 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
}
lv_cleanup() {
    if [ -n "$LIBVIRTD_PID" ]; then
        virsh -c $URI destroy "$DOM" >/dev/null 2>&1
        stop_pidfile "$LV/libvirtd.pid"
    fi
    [ -n "$VIRTLOGD_PID" ] && stop_pidfile "$LV/virtlogd.pid"
    peer_cleanup
    _cleanup
}
trap lv_cleanup EXIT

mkdir -p "$LV" "$R"
chown libvirt-qemu "$R"
bash "$top_srcdir/scripts/build-guest.sh" "$T/guest" >"$T/build-guest.log" 2>&1 ||
    { not_ok "build the guest"; diag <"$T/build-guest.log"; done_testing; }

# ---- libvirtd and virtlogd, by hand, without systemd -----------------------------------------
if ! pgrep -x virtlogd >/dev/null 2>&1; then
    virtlogd -d -p "$LV/virtlogd.pid" || { not_ok "virtlogd starts"; done_testing; }
    wait_until 10 test -s "$LV/virtlogd.pid" && VIRTLOGD_PID=$(cat "$LV/virtlogd.pid")
fi
libvirtd -d -p "$LV/libvirtd.pid" || { not_ok "libvirtd starts"; done_testing; }
wait_until 10 test -s "$LV/libvirtd.pid" && LIBVIRTD_PID=$(cat "$LV/libvirtd.pid")
check "libvirtd answers (qemu:///system)" wait_until 30 virsh -c $URI version
[ -n "$LIBVIRTD_PID" ] || { not_ok "libvirtd wrote its pid file"; done_testing; }

# ---- the guest as a libvirt domain --------------------------------------------------------------
# ACPI on (PCIe hotplug of the root ports goes through it); the guest's PCI
# without MSI: QEMU 7.2 under TCG crashes when a vhost-user virtio-net device
# uses MSI-X (notes/machine.md), and libvirt has no vectors=0 for a
# hot-plugged interface.
rp=""
for i in 0 1 2 3; do
    rp="$rp<controller type='pci' model='pcie-root-port'><address type='pci' domain='0x0000' bus='0x00' slot='0x0$((i + 2))' function='0x0'/></controller>"
done
cat >"$LV/domain.xml" <<XML
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>512</memory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$T/guest/vmlinuz</kernel>
    <initrd>$T/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 pci=nomsi</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='pci' model='pcie-root'/>
    $rp
    <controller type='usb' model='none'/>
    <serial type='unix'><source mode='bind' path='$R/serial.sock'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
check "the test guest runs as a transient libvirt domain" virsh -c $URI create "$LV/domain.xml"
check "the guest reaches its shell" $GUEST wait-ready "$R/serial.sock" 120

# ---- the controller: sockets for libvirt's QEMU user ------------------------------------------
# The state dir lets the group through (the controller never loosens it itself).
mkdir -p "$STATE"
chgrp libvirt-qemu "$STATE"
chmod 0750 "$STATE"
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL" },
  "vhost_socket": { "group": "libvirt-qemu", "mode": "0660" },
  "host": { "type": "libvirt", "uri": "$URI", "domain": "$DOM", "timeout_ms": 30000 } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
peer_setup
g() { $GUEST run "$R/serial.sock" 60 "$@"; }
has_mac() { g "grep -qs $1 /sys/class/net/*/address" >/dev/null; }
if_of() { g "for f in /sys/class/net/*; do grep -qs $1 \$f/address && echo IF=\${f##*/}; done" | sed -n 's/^IF=\([A-Za-z0-9_.-]*\)$/\1/p'; }
dom_has() { virsh -c $URI dumpxml "$DOM" | grep -q "$1"; }

# ---- hotplug ------------------------------------------------------------------------------------
mac=02:00:00:00:09:01
vn hotplug -i mlx5_0 -m $mac -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json" 2>&1 &&
    ok "hotplug into the libvirt domain" || { not_ok "hotplug into the libvirt domain"; diag <"$T/hp.json"; done_testing; }
vuid=$(jget .vuid <"$T/hp.json"); rep=$(jget .sf_rep_net_device <"$T/hp.json")
track_rep "$rep"
sock=$STATE/vhost/$vuid.sock
check "the answer says where the guest sees it (host_bdf)" jq -e '.host_bdf | test("^[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$")' "$T/hp.json"
check "the socket is the group's, mode 0660" test "$(stat -c '%G %a' "$sock")" = "libvirt-qemu 660"
check "the domain has a vhostuser interface on our socket, client mode, with the alias" sh -c "
    virsh -c $URI dumpxml '$DOM' | tr -d '\n' | grep -q \"<interface type='vhostuser'>.*<mac address='$mac'/>.*path='$sock' mode='client'.*<alias name='ua-vn-$vuid'/>\""
check "the guest has a NIC with that MAC" wait_until 60 has_mac $mac
ifname=$(if_of $mac)
diag <<<"the guest calls it '$ifname'"
check "the guest's driver reached DRIVER_OK" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].driver_status | index(\"DRIVER_OK\")'"
check "query prints the interface XML" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -r '.devices[0].libvirt_xml' | grep -q \"<alias name='ua-vn-$vuid'/>\""

# ---- traffic through the representor --------------------------------------------------------------
ip link set "$rep" master "$BR"
g "ip addr add $NET.2/24 dev $ifname; ip link set $ifname up" >/dev/null
check "the peer pings the guest" wait_until 30 ip netns exec "$NS" ping -c 1 -W 2 "$NET.2"
ip netns exec "$NS" ping -q -c 20 -i 0.05 -W 2 "$NET.2" >"$T/ping.out" 2>&1
check "20 of 20 echoes through the representor and the guest's driver" grep -q " 0% packet loss" "$T/ping.out"
check "the guest pings the peer" sh -c "$GUEST run '$R/serial.sock' 30 'ping -c 3 -W 2 $NET.1' | grep -q '3 packets received'"
ip link set "$rep" nomaster

# ---- unplug ------------------------------------------------------------------------------------------
check "unplug (libvirt detaches, the guest releases it)" vn unplug -u "$vuid"
nic_gone() { ! has_mac $mac; }
check "the NIC is gone from the guest" wait_until 30 nic_gone
check "and from the domain" sh -c "! virsh -c $URI dumpxml '$DOM' | grep -q 'ua-vn-$vuid'"
check "and from the controller (socket, representor)" sh -c "[ ! -e '$sock' ] && ! ip link show '$rep' >/dev/null 2>&1"

# ---- a refused attach rolls back ----------------------------------------------------------------------
# QEMU (as libvirt-qemu) cannot reach the socket: the state dir keeps its
# group out (the controller checks it, and never loosens it); libvirt reports
# QEMU's error.
chmod 0700 "$STATE"
vn hotplug -i mlx5_0 -m 02:00:00:00:09:02 -t 1500 -n 2 -s 256 -u $((sfbase + 1)) >"$T/bad.out" 2>&1
rc=$?
chmod 0750 "$STATE"
[ $rc -ne 0 ] && grep -q "the host VM did not take the device: libvirt did not attach the interface" "$T/bad.out" &&
    grep -q "Permission denied" "$T/bad.out" &&
    ok "a socket QEMU cannot reach: hotplug fails with libvirt's reason" || { not_ok "a socket QEMU cannot reach: hotplug fails with libvirt's reason"; diag <"$T/bad.out"; }
diag <"$T/bad.out"
check "the controller rolled it back (no device, no representor)" sh -c "
    '$VIRTNET' --socket '$SOCK' list | jq -e '.devices | length == 0' && ! ip link show en3f0pf0sf$((sfbase + 1)) >/dev/null 2>&1"
check "the domain has no half of it" sh -c "! virsh -c $URI dumpxml '$DOM' | grep -q vhostuser"

# ---- a second device after the refusal: the back-end still works ------------------------------------
vn hotplug -i mlx5_0 -m 02:00:00:00:09:03 -t 1500 -n 4 -s 256 -u $((sfbase + 2)) >"$T/hp2.json" 2>&1 &&
    ok "hotplug a two-queue-pair device" || { not_ok "hotplug a two-queue-pair device"; diag <"$T/hp2.json"; }
track_rep "$(jget .sf_rep_net_device <"$T/hp2.json")"
check "the domain's interface has two queues" sh -c "virsh -c $URI dumpxml '$DOM' | grep -q \"<driver queues='2'\""
check "the guest has it" wait_until 60 has_mac 02:00:00:00:09:03
check "unplug it" vn unplug -u "$(jget .vuid <"$T/hp2.json")"

# ---- a domain libvirt does not have ---------------------------------------------------------------------
stop_controller
sed -i "s/\"domain\": \"$DOM\"/\"domain\": \"$DOM-missing\"/" "$T/virtnet.conf"
start_controller --config "$T/virtnet.conf" || not_ok "controller starts again"
vn hotplug -i mlx5_0 -m 02:00:00:00:09:04 -t 1500 -n 2 -s 256 -u $((sfbase + 3)) >"$T/nodom.out" 2>&1
[ $? -ne 0 ] && grep -q "has no domain '$DOM-missing'" "$T/nodom.out" &&
    ok "no such domain: hotplug fails and says so" || { not_ok "no such domain: hotplug fails and says so"; diag <"$T/nodom.out"; }
check "nothing left behind" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.devices | length == 0'"

stop_controller
check "the controller exits cleanly" test $? -eq 0
done_testing
