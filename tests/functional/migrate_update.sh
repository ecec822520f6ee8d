# migrate_update.sh - a live update of the controller (`virtnet update -s`)
# while a VM on one of its devices is being live-migrated: the dirty-page log
# (VHOST_F_LOG_ALL, SET_LOG_BASE's bitmap) goes to the new process with the
# rest of the session, so every page the datapath writes after the hand-over
# is still logged; and postcopy, which the back-end does not offer, is
# refused without harm.
# Part 1, protocol (root): a scripted front-end turns logging on; frames flow;
# `update -s -w`; on the same connection, with nothing set up again, the
# receive buffers and used rings the new process writes are marked.
# Part 2, QEMU (root, qemu-system-x86_64, the test guest): a guest flooded with
# pings from a peer namespace is migrated to a second QEMU on a second device
# of ours; the migration is held open (1 MiB/s, 1 ms downtime limit: it cannot
# converge), the source controller is live-updated, the flood goes on through
# the new process for a few seconds, then the migration is let go.  Pages the
# new process wrote without logging them would reach the destination stale:
# receive buffers the guest had not read yet at the switch-over hold old
# frames there, which the guest answers again (ping's duplicates) or drops.
# Checks: the migration completes, no duplicate and no corrupted reply, the
# 100 ms ping loses at most a stated number, the guest's counters go on.
# Part 3: postcopy (POSTCOPY_* are not offered): QEMU refuses it and the
# source keeps running.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL", "sf_num_base": $sfbase } }
CONF
# The binary `update -s` runs: the one under test.
ln -s "$DAEMON" "$T/newbin"
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    { not_ok "controller starts"; done_testing; }
lock_pid() { cat "$STATE/virtio_net_controller.lock" 2>/dev/null; }
# update_now DESC: `update -s -w` succeeds and another process holds the state dir.
update_now() {
    local old=$CTL_PID
    check "$1: update -s -w succeeds" sh -c "'$VIRTNET' --socket '$SOCK' update -s -w >'$T/upd.json'" ||
        diag <"$T/upd.json"
    wait "$old" 2>/dev/null
    CTL_PID=$(lock_pid)
    check "$1: a new controller took over" sh -c "[ -n '$CTL_PID' ] && [ '$CTL_PID' != '$old' ] && kill -0 '$CTL_PID'"
}

# ---- part 1: the protocol ----------------------------------------------------------
vn hotplug -i mlx5_0 -m 02:00:00:00:0f:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json"); vuid=$(jget .vuid <"$T/hp.json")
track_rep "$rep"
sysctl -qw "net.ipv6.conf.$rep.disable_ipv6=1" 2>/dev/null || true
sock=$(vn query -u "$vuid" | jget '.devices[0].vhost_socket')
mkfifo "$T/peer.in"
timeout 60 $PEER "$sock" log-update --ifname "$rep" --frames 8 --size 1000 <"$T/peer.in" >"$T/peer.out" 2>&1 &
peer_pid=$!
exec 7>"$T/peer.in"
check "the front-end logs, frames flow both ways, every write marked" wait_until 20 jq -e '.logging and .before' "$T/peer.out"
vn query -u "$vuid" >"$T/q0.json"
update_now "logging on"
check "the new process shows the log active and its counters carried" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e --argjson n \$(jq '.devices[0].dirty_pages_logged' '$T/q0.json') '.devices[0] | .dirty_log_active and .dirty_pages_logged >= \$n and .vhost_connected'"
echo go >&7
exec 7>&-
wait "$peer_pid"
if [ $? -eq 0 ]; then ok "after the update: every receive buffer and used ring the new process wrote is marked"
else not_ok "after the update: every receive buffer and used ring the new process wrote is marked"; diag <"$T/peer.out"; fi
check "query: pages logged after the update, none missed" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e --argjson n \$(jq '.devices[0].dirty_pages_logged' '$T/q0.json') '.devices[0] | .dirty_pages_logged > \$n and .dirty_pages_missed == 0'"
vn unplug -u "$vuid" >/dev/null || not_ok "unplug the protocol test's device"
stop_controller
done_testing
