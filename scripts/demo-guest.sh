#!/usr/bin/env bash
# demo-guest.sh - the software DPU end to end, for people: boots the test
# guest under QEMU (scripts/build-guest.sh, scripts/run-guest.sh), starts the
# controller with that VM as its host, runs `virtnet hotplug`, and shows the
# new NIC from inside the guest.  Everything lives in one directory (default
# a new one under /tmp) and is stopped on exit (Ctrl-C, or at once with -n).
#
#   sudo scripts/demo-guest.sh [-b BUILD_DIR] [-d DIR] [-n]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build D= once=
while getopts "b:d:nh" o; do
    case $o in
        b) B=$OPTARG ;;
        d) D=$OPTARG ;;
        n) once=1 ;;
        *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo-guest: needs root (taps)" >&2; exit 2; }
[ -x "$B/controller/virtio_net_controller" ] || { echo "demo-guest: build first (./build.sh -g)" >&2; exit 2; }
D=${D:-$(mktemp -d /tmp/virtnet-demo.XXXXXX)}
mkdir -p "$D"
V="$B/cli/virtnet --socket $D/virtnet.sock"
G="python3 $top/tests/functional/guest.py"
ctl=
stop() {
    [ -n "$ctl" ] && kill -TERM "$ctl" 2>/dev/null
    [ -f "$D/run/qemu.pid" ] && kill -TERM "$(cat "$D/run/qemu.pid")" 2>/dev/null
    [ -f "$D/rep" ] && ip link del "$(cat "$D/rep")" 2>/dev/null
    return 0
}
trap stop EXIT

echo "== building and booting the guest (QEMU, TCG) in $D"
bash "$top/scripts/build-guest.sh" "$D/guest" >/dev/null
bash "$top/scripts/run-guest.sh" "$D/guest" "$D/run" 2 >/dev/null
$G wait-ready "$D/run/serial.sock" 120
cat >"$D/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2 },
  "host": { "qmp_socket": "$D/run/qmp.sock", "root_ports": "rp0,rp1" } }
CONF
echo "== starting the controller with the VM as its host"
"$B/controller/virtio_net_controller" --foreground --config "$D/virtnet.conf" --state-dir "$D/state" \
    --socket "$D/virtnet.sock" --provider-lib-dir "$B/providers/.libs" 2>"$D/controller.log" &
ctl=$!
for _ in $(seq 100); do $V health >/dev/null 2>&1 && break; sleep 0.1; done
echo "== virtnet hotplug -i mlx5_0 -m 02:00:00:00:d0:01 -t 1500 -n 2 -s 256"
$V hotplug -i mlx5_0 -m 02:00:00:00:d0:01 -t 1500 -n 2 -s 256 | tee "$D/hp.json"
jq -r .sf_rep_net_device "$D/hp.json" >"$D/rep"
for _ in $(seq 60); do
    $G run "$D/run/serial.sock" 20 "grep -qs 02:00:00:00:d0:01 /sys/class/net/*/address" >/dev/null && break
    sleep 0.5
done
echo "== inside the guest:"
$G run "$D/run/serial.sock" 20 "for f in /sys/class/net/e*; do echo \${f##*/} \$(cat \$f/address) mtu \$(cat \$f/mtu); done"
echo "== the representor on this side: $(cat "$D/rep") (plug it into OVS or a bridge)"
[ -n "$once" ] && exit 0
echo "== Ctrl-C stops the controller and the VM"
wait "$ctl"
