# update_packed.sh - packed virtqueues across a live update and a crash:
# DPDK testpmd's virtio-user with packed_vq=1 (icmpecho) on a device that
# offers VIRTIO_F_RING_PACKED, pinged from a network namespace through a
# bridge and the representor.
#  - server mode (the controller listens): `update -s -w` twice under a 5 ms
#    ping flood, no echo lost, testpmd never notices, the rings stay packed
#    and keep going past a wrap (the hand-over carries the packed ring state:
#    indices with their wrap counters, in-flight chains);
#  - client mode (testpmd listens, server=1, as reconnect.sh): kill -9 of the
#    controller and a start: the device reconnects to the same testpmd,
#    negotiates packed rings again (DPDK resets the device and starts its rings
#    afresh) and traffic resumes; then `update -s -w` under a flood in client
#    mode, no echo lost.  The client-mode device is hotplugged into a process
#    that came from a live update (a hand-over long committed).
# update.sh does the same (and more) on split rings.
. "$top_srcdir/tests/functional/lib.sh"
. "$top_srcdir/tests/functional/dp_lib.sh"

dp_update_setup
packed_negotiated() { # VUID
    vn query -u "$1" | jq -e '.devices[0].negotiated_feature_names | index("VIRTIO_F_RING_PACKED")' >/dev/null
}
no_guest_errors() { # VUID
    vn stats -u "$1" | jq -e '[.device["queues-stats"][] | .bad_desc_errors == "0" and .invalid_buffer == "0" and .exceed_max_chain == "0"] | all' >/dev/null
}
used_idx() { vn query -u "$1" | jq -r ".devices[0].queues[$2].used_idx"; }
# update_under_flood DESC COUNT: `update -s -w` while the peer pings every 5 ms; every echo answered.
update_under_flood() {
    local desc=$1 count=$2 old=$CTL_PID base flood
    base=$(cat "/sys/class/net/$rep/statistics/tx_packets")
    peer_ping -q -i 0.005 -c "$count" -W 1 "$NET.2" >"$T/flood.out" 2>&1 &
    flood=$!
    wait_until 5 sh -c "[ \$(cat /sys/class/net/$rep/statistics/tx_packets) -gt $((base + 50)) ]"
    check "$desc: update -s -w succeeds" sh -c "'$VIRTNET' --socket '$SOCK' update -s -w >/dev/null"
    wait_until 10 pid_gone "$old" || not_ok "$desc: the old controller left"
    CTL_PID=$(lock_pid)
    check "$desc: a new pid serves" test "$CTL_PID" != "$old"
    wait "$flood"
    check "$desc: no echo lost ($count of $count)" grep -q " 0% packet loss" "$T/flood.out" ||
        diag <"$T/flood.out"
}

# ---- server mode: two live updates ------------------------------------------------------------
vuid=$(hotplug -m 02:00:00:00:1d:01 -t 1500 -n 2 -s 256 -u "$sfbase" -f 0x400000000) ||
    { not_ok "hotplug"; done_testing; }
rep=$(rep_of "$vuid")
ip link set "$rep" master "$BR"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:1d:0a ",packed_vq=1"
check "testpmd (packed_vq=1) attaches" wait_until 30 rings_running "$vuid" 2
check "RING_PACKED negotiated" packed_negotiated "$vuid"
check "the peer reaches the virtio-user" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
u0=$(used_idx "$vuid" 0)
update_under_flood "packed, first update" 800
update_under_flood "packed, second update" 800
check "testpmd never noticed (still attached)" pid_alive "$TP_PID"
check "after the updates: RING_PACKED still negotiated" packed_negotiated "$vuid"
u1=$(used_idx "$vuid" 0)
check "the receive ring went on past a wrap across the updates (used index $u0 -> $u1, 256 slots)" \
    test $(( (u1 - u0 + 65536) % 65536 )) -gt 256
check "no guest error on the packed rings" no_guest_errors "$vuid"
pings_ok "after the updates: 20 of 20 with 1400-byte echoes" -c 20 -i 0.02 -W 1 -s 1400 "$NET.2"
stop_testpmd
vn unplug -u "$vuid" >/dev/null || not_ok "unplug"
# No fd left behind by two hand-overs (checked here: after the kill -9 below the controller
# starts with a front-end reconnecting, which is no baseline for the end of the test).
_fd_check

# ---- client mode: kill -9 and a start, then an update ------------------------------------------
FE=$T/fe0.sock
start_testpmd "$FE" 1 02:00:00:00:1d:0b ",server=1,packed_vq=1"
check "testpmd (packed_vq=1, server=1) listens" wait_until 20 test -S "$FE"
vuid=$(hotplug -m 02:00:00:00:1d:02 -t 1500 -n 2 -s 256 -u $((sfbase + 1)) -f 0x400000000 \
    --vhost-server-path "$FE") || { not_ok "hotplug in client mode"; done_testing; }
rep=$(rep_of "$vuid")
ip link set "$rep" master "$BR"
# Hotplugged after two updates: the process serving it came from a hand-over (a client-mode
# device made then used to wait for a hand-over that had already committed, and never connected).
check "client mode, hotplug after the updates: rings run" wait_until 30 rings_running "$vuid" 2
check "client mode: RING_PACKED negotiated" packed_negotiated "$vuid"
check "client mode: the peer reaches testpmd" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "client mode: 300 of 300 (the rings wrap)" -c 300 -i 0.01 -W 1 "$NET.2"
kill -KILL "$CTL_PID"
wait_until 10 pid_gone "$CTL_PID"
CTL_PID=
t0=$(date +%s%N)
start_ctl || not_ok "start after kill -9"
VIRTNET_FD_CHECK=0 # see _fd_check above
check "after kill -9: the device reconnects, RING_PACKED negotiated again" \
    wait_until 30 sh -c "$(declare -f vn packed_negotiated); VIRTNET='$VIRTNET' SOCK='$SOCK'; packed_negotiated $vuid"
check "after kill -9: traffic resumes" wait_until 30 peer_ping -c 1 -W 1 "$NET.2"
diag <<<"kill -9, start to first echo: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "after kill -9: the same testpmd (it never restarted)" pid_alive "$TP_PID"
# DPDK's virtio-user resets the device when its back-end comes back and starts its rings afresh.
u0=$(used_idx "$vuid" 0)
pings_ok "after kill -9: 300 of 300 (the rings wrap again)" -c 300 -i 0.01 -W 1 "$NET.2"
u1=$(used_idx "$vuid" 0)
check "after kill -9: the receive ring moved past a wrap ($u0 -> $u1, 256 slots)" \
    test $(( (u1 - u0 + 65536) % 65536 )) -ge 300
update_under_flood "packed, client mode" 800
check "client mode: no guest error on the packed rings" no_guest_errors "$vuid"
stop_testpmd
stop_controller
done_testing
