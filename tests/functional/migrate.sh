# migrate.sh - live migration of a guest on our devices.
# Part 1, protocol (root): the vhost-user back-end offers VHOST_F_LOG_ALL and
# LOG_SHMFD, maps the dirty-page log of SET_LOG_BASE (bounds-checked), marks
# every page it writes (receive buffers, used rings) and none it only reads,
# stops marking when logging is off, refuses a log outside its file, and
# announces a migrated guest with a RARP frame out of the representor
# (SEND_RARP); query counts the pages.
# Part 2, QEMU (root, qemu-system-x86_64, the test guest): a guest pinging a
# peer namespace through our device and its representor (bridged) is
# live-migrated (QMP migrate over a unix socket) to a second QEMU started with
# -incoming whose NIC is a second device of ours with the same MAC; the ping
# goes on after the migration on the destination's device, the source device
# is unplugged.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL", "sf_num_base": $sfbase } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

# ---- part 1: the protocol ----------------------------------------------------------
vn hotplug -i mlx5_0 -m 02:00:00:00:0e:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json"); vuid=$(jget .vuid <"$T/hp.json")
track_rep "$rep"
sysctl -qw "net.ipv6.conf.$rep.disable_ipv6=1" 2>/dev/null || true
sock=$(vn query -u "$vuid" | jget '.devices[0].vhost_socket')

peer() { timeout 30 $PEER "$sock" "$@" >"$T/peer.out" 2>&1; local rc=$?; cat "$T/peer.out" >>"$T/peer.log"; return $rc; }
check_peer() { # DESC SCENARIO [ARGS]
    local desc=$1; shift
    if peer "$@"; then ok "$desc"; else not_ok "$desc"; diag <"$T/peer.out"; fi
}

check_peer "dirty log: receive buffers and used rings marked, transmit buffers not, nothing with logging off" log --ifname "$rep" --frames 8 --size 1000
check "dirty log: the SET_LOG_BASE reply has no payload" jq -e '.reply_size == 0 and .pages_marked >= 6' "$T/peer.out"
vn query -u "$vuid" >"$T/q.json"
check "query: pages logged are counted, none missed" jq -e '.devices[0] | .dirty_pages_logged > 0 and .dirty_pages_missed == 0 and .dirty_log_active == false' "$T/q.json"
check_peer "SET_LOG_BASE with a log larger than its file: connection closed" log-bad --size 0
check_peer "SET_LOG_BASE with an offset past the end of its file: connection closed" log-bad --size 1
check_peer "SET_LOG_BASE without LOG_SHMFD negotiated: connection closed" log-bad --size 2
check "the controller is alive after the bad logs" vn health
check_peer "SEND_RARP: a RARP frame with the guest's MAC comes out of the representor" rarp --ifname "$rep" --mac 02:00:00:00:0e:01
check "query: the announcement is counted" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].rarps_sent == 1'"
check_peer "a good front-end still works after all that" good
vn unplug -u "$vuid" >/dev/null || not_ok "unplug the protocol test's device"

# ---- part 2: a guest live-migrated between two QEMUs ------------------------------------
why=$(qemu_guest_missing)
if [ -n "$why" ]; then
    skip "live migration between two QEMUs: $why"
    done_testing
fi
GUEST="python3 $top_srcdir/tests/functional/guest.py"
ID=$(( $$ % 100000 ))
NS=vnme$ID BR=vnmb$ID VA=vnma$ID VB=vnmv$ID NET=10.216.$(( ID % 250 ))
mig_cleanup() {
    local f pid
    for f in "$T"/src-*/qemu.pid "$T"/dst-*/qemu.pid; do
        pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null &&
            wait_until 10 pid_gone "$pid"
    done
    [ -n "${ping_pid:-}" ] && kill "$ping_pid" 2>/dev/null
    peer_cleanup
    _cleanup
}
trap mig_cleanup EXIT
qmp() { $GUEST qmp "$1/qmp.sock" "$2"; }   # RUNDIR JSON
gd() { $GUEST run "$RD/serial.sock" 60 "$@"; }

bash "$top_srcdir/scripts/build-guest.sh" "$T/guest" >"$T/build-guest.log" 2>&1 ||
    { not_ok "build the guest"; diag <"$T/build-guest.log"; done_testing; }
peer_setup

# migrate_run RING HOST MAC: one guest (split or packed rings) at $NET.HOST, live-migrated.
migrate_run() {
local ring=$1 host=$2 mac=$3 fflag= qflag=
RS=$T/src-$ring RD=$T/dst-$ring
if [ "$ring" = packed ]; then fflag="-f 0x400000000" qflag=",packed=on"; fi
diag <<<"---- a guest on $ring rings"
# Two devices of ours with the guest's MAC: the source's and the destination's.
mig_devices $mac $fflag || done_testing
ok "two devices with the guest's MAC, both representors in the bridge"

# The same machine on both sides; only the NIC's back-end socket and -incoming differ.
nic() { mig_nic "$1" $mac "$qflag"; } # SOCKET
export VIRTNET_GUEST_CMDLINE="virtnet.ip=$NET.$host/24"
# shellcheck disable=SC2046
bash "$top_srcdir/scripts/run-guest.sh" "$T/guest" "$RS" 0 -- $(nic "$ssock") >/dev/null ||
    { not_ok "boot the source guest"; done_testing; }
check "the source guest reaches its shell" $GUEST wait-ready "$RS/serial.sock" 120
check "the source device: the guest's driver is up" wait_until 60 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$svuid' | jq -e '.devices[0] | (.driver_status | index(\"DRIVER_OK\")) and (.negotiated_protocol_features | ltrimstr(\"0x\") | length > 0)'"
check "the peer pings the guest on the source" wait_until 60 ip netns exec "$NS" ping -c 1 -W 2 "$NET.$host"
rx_before=$($GUEST run "$RS/serial.sock" 30 "cat /sys/class/net/eth0/statistics/rx_packets" | tr -dc 0-9)
start_destination() {
    # shellcheck disable=SC2046
    bash "$top_srcdir/scripts/run-guest.sh" "$T/guest" "$RD" 0 -- $(nic "$dsock") -incoming "unix:$RD/mig.sock" >/dev/null ||
        { not_ok "start the destination QEMU (-incoming)"; done_testing; }
    check "the destination QEMU connects to its device" wait_until 60 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$dvuid' | jq -e '.devices[0].vhost_connected'"
}
src_dev() { vn query -u "$svuid" | jq -e ".devices[0] | $1" >/dev/null; }   # FILTER on the source device
mig_status() { qmp "$RS" '{"execute":"query-migrate"}' | jq -e ".return.status == \"$1\"" >/dev/null; }
start_destination
check "QMP: no migration blocker on the source (LOG_ALL and LOG_SHMFD negotiated)" sh -c "$GUEST qmp '$RS/qmp.sock' '{\"execute\":\"query-migrate\"}' | jq -e '.return | has(\"blocked-reasons\") | not'"

# A migration cancelled midway (slowed to 1 MiB/s): logging on while it runs, off after; the
# source keeps running the guest on its device.
qmp "$RS" '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":1048576}}' >/dev/null
qmp "$RS" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:$RD/mig.sock\"}}" >/dev/null
check "while migrating, the source device logs dirty pages" wait_until 60 src_dev '.dirty_log_active'
qmp "$RS" '{"execute":"migrate_cancel"}' >/dev/null
check "migrate_cancel: the migration is cancelled" wait_until 30 mig_status cancelled
check "after the cancel, the source device stops logging" wait_until 30 src_dev '.dirty_log_active | not'
check "the source still runs the guest" sh -c "$GUEST qmp '$RS/qmp.sock' '{\"execute\":\"query-status\"}' | jq -e '.return.status == \"running\"'"
check "the peer pings the guest on the source after the cancel" wait_until 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET.$host"
# The destination gives up its incoming migration; a fresh one for the real migration.
dpid=$(cat "$RD/qemu.pid")
wait_until 30 pid_gone "$dpid" || { kill -TERM "$dpid"; wait_until 10 pid_gone "$dpid"; }
rm -f "$RD/qmp.sock" "$RD/serial.sock" "$RD/mig.sock"
start_destination

# Migrate while the guest is pinged every 100 ms (it receives: its RX buffers are written).
ip netns exec "$NS" ping -i 0.1 -W 1 -c 1500 "$NET.$host" >"$T/mig-ping.out" 2>&1 &
ping_pid=$!
wait_until 10 sh -c "grep -q 'bytes from' '$T/mig-ping.out'"
qmp "$RS" '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":1073741824}}' >/dev/null
t0=$(date +%s.%N)
qmp "$RS" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:$RD/mig.sock\"}}" >"$T/migrate.out" ||
    { not_ok "QMP migrate"; diag <"$T/migrate.out"; }
mig_done() { qmp "$RS" '{"execute":"query-migrate"}' >"$T/qm.json" && jq -e '.return.status == "completed" or .return.status == "failed"' "$T/qm.json" >/dev/null; }
wait_until 300 mig_done
t1=$(date +%s.%N)
check "the migration completed" jq -e '.return.status == "completed"' "$T/qm.json" || diag <"$T/qm.json"
jq -c '.return | {status, "total-time", downtime, ram: {transferred: .ram.transferred, "dirty-sync-count": .ram["dirty-sync-count"]}}' "$T/qm.json" | diag
check "the destination runs the guest" wait_until 30 sh -c "$GUEST qmp '$RD/qmp.sock' '{\"execute\":\"query-status\"}' | jq -e '.return.status == \"running\"'"
vn query -u "$svuid" >"$T/sq.json"
check "the source device logged dirty pages during the migration" jq -e '.devices[0] | .dirty_pages_logged > 0 and .dirty_pages_missed == 0' "$T/sq.json"
jq -c '.devices[0] | {dirty_pages_logged, dirty_pages_missed}' "$T/sq.json" | diag
check "the destination device runs the rings (resumed at the source's index)" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$dvuid' | jq -e '.devices[0] | (.driver_status | index(\"DRIVER_OK\")) and .queues[0].state == \"running\" and .queues[1].state == \"running\"'"
check "the guest was announced on the destination (RARP through its representor)" wait_until 30 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$dvuid' | jq -e '.devices[0].rarps_sent >= 1'"
check "the peer pings the guest on the destination" wait_until 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET.$host"
# 20 more answers to the 100 ms ping after the migration, then its summary.
n0=$(grep -c 'bytes from' "$T/mig-ping.out")
wait_until 20 sh -c "[ \$(grep -c 'bytes from' '$T/mig-ping.out') -ge $((n0 + 20)) ]"
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null; ping_pid=
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/mig-ping.out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T/mig-ping.out")
diag <<<"ping every 100 ms across the migration ($(echo "$t1 - $t0" | bc) s): $sent sent, $got answered, $(( sent - got )) lost"
check "pings across the migration: answered after it" sh -c "[ '${got:-0}' -gt 0 ] && tail -n 20 '$T/mig-ping.out' | grep -q 'bytes from'"
check "the guest keeps its MAC on the destination" sh -c "$GUEST run '$RD/serial.sock' 30 'cat /sys/class/net/eth0/address' | grep -qx $mac"
rx_after=$(gd "cat /sys/class/net/eth0/statistics/rx_packets" | tr -dc 0-9)
check "the guest's counters carried over and went on ($rx_before -> $rx_after received)" test "${rx_after:-0}" -gt "${rx_before:-0}"

# The source QEMU is paused for good: stop it, unplug its device; the guest keeps working.
qmp "$RS" '{"execute":"quit"}' >/dev/null 2>&1
wait_until 20 pid_gone "$(cat "$RS/qemu.pid")"
check "the source device is unplugged" vn unplug -u "$svuid"
check "the guest still answers after the unplug" wait_until 30 ip netns exec "$NS" ping -c 3 -i 0.2 -W 1 "$NET.$host"
[ "$ring" = packed ] && check "packed rings were used on both sides" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$dvuid' | jq -e '.devices[0].negotiated_feature_names | index(\"VIRTIO_F_RING_PACKED\")'"
# Done with this guest: its QEMU goes, then its device.
qmp "$RD" '{"execute":"quit"}' >/dev/null 2>&1
wait_until 20 pid_gone "$(cat "$RD/qemu.pid" 2>/dev/null)"
vn unplug -u "$dvuid" >/dev/null || not_ok "unplug the destination device"
ip link set "$(jget .sf_rep_net_device <"$T/dst.json")" nomaster 2>/dev/null
}
migrate_run split 2 02:00:00:00:0e:02
migrate_run packed 3 02:00:00:00:0e:03
stop_controller
done_testing
