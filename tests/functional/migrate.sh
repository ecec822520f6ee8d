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

done_testing
