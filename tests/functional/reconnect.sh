# reconnect.sh - vhost-user client mode (issue 15): DPDK virtio-user listens
# (`server=1`), a device hotplugged with --vhost-server-path connects to it.
# Traffic (pings from a peer netns through the representor, answered by
# testpmd's icmpecho) resumes without touching testpmd after: a kill -9 of
# the controller and a start, a live update (`update -s -w`), a restart of
# testpmd itself.  Then busy rings: testpmd floods (txonly, both queue pairs)
# while the controller is killed and started again; the representor must receive
# exactly the frames testpmd counted as sent: none lost, none twice (the
# transmit record, lib/virtq_inflight.h).
. "$top_srcdir/tests/functional/lib.sh"
. "$top_srcdir/tests/functional/dp_lib.sh"

dp_update_setup

FE=$T/fe0.sock
MAC=02:00:00:00:15:02
# testpmd listens on $FE (server=1) and waits there for the back-end.
start_testpmd "$FE" 1 "$MAC" ",server=1"
check "testpmd listens on its socket" wait_until 20 test -S "$FE"
# Two queue pairs: the echo parts use one, the flood both.
vuid=$(hotplug -m 02:00:00:00:15:01 -t 1500 -n 4 -s 256 -u "$sfbase" --vhost-server-path "$FE") ||
    { not_ok "hotplug in client mode"; done_testing; }
ok "hotplug in client mode"
rep=$(rep_of "$vuid")
ip link set "$rep" master "$BR"
ip link set "$rep" up
check "query: client mode, the front-end's socket" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e --arg p '$FE' '.devices[0] | .vhost_mode == \"client\" and .vhost_socket == \$p'"
check "the controller connects and the rings run" wait_until 30 rings_running "$vuid" 2
check "query: vhost_connected, reconnect counters" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0] | .vhost_connected == true and .vhost_reconnect_attempts >= 1 and .vhost_reconnect_failures == 0'"
check "recovery file keeps the server path" sh -c "jq -e --arg p '$FE' '.vhost_server_path == \$p' '$STATE'/recovery/*.json 2>/dev/null || grep -rqF '\"vhost_server_path\"' '$STATE'"
check "the peer reaches testpmd" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
tp=$TP_PID

# ---- kill -9 and a start: the controller connects again, testpmd untouched -------------------
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
check "testpmd survives the back-end's death" pid_alive "$tp"
t0=$(date +%s%N)
start_ctl || not_ok "restart after kill -9"
check "after kill -9: client mode restored from the recovery file" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e --arg p '$FE' '.devices[0] | .vhost_mode == \"client\" and .vhost_socket == \$p'"
check "after kill -9: connected again, rings run" wait_until 30 rings_running "$vuid" 2
check "after kill -9: traffic resumes" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
echo "# kill -9 -> start -> first echo: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
pings_ok "after kill -9: 20 of 20 echoes" -c 20 -i 0.05 -W 1 "$NET.2"
check "testpmd was not restarted" test "$TP_PID" = "$tp"

# ---- live update: the connection is handed over ----------------------------------------------
old=$CTL_PID
check "update -s -w succeeds" sh -c "'$VIRTNET' --socket '$SOCK' update -s -w >/dev/null"
wait "$old" 2>/dev/null
check "a new controller holds the state dir" wait_until 10 sh -c "p=\$(cat '$STATE/virtio_net_controller.lock'); [ -n \"\$p\" ] && [ \"\$p\" != $old ]"
CTL_PID=$(lock_pid)
check "after update: still client mode and connected" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0] | .vhost_mode == \"client\" and .vhost_connected == true'"
pings_ok "after update: 20 of 20 echoes" -c 20 -i 0.05 -W 1 "$NET.2"
# The new controller is not our child: kill -9 it through its pid, start one of ours.
kill -KILL "$CTL_PID"; wait_until 10 pid_gone "$CTL_PID"; CTL_PID=
start_ctl || not_ok "restart after kill -9 of the updated controller"
check "after update + kill -9: traffic resumes" wait_until 30 peer_ping -c 1 -W 1 "$NET.2"

# ---- the front-end restarts: the controller reconnects by itself ----------------------------
stop_testpmd
check "testpmd gone: the device sees the hang-up" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].vhost_connected == false'"
check "while nobody listens, failed attempts are counted" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].vhost_reconnect_failures >= 2'"
start_testpmd "$FE" 1 "$MAC" ",server=1"
check "after testpmd restarts: connected again, rings run" wait_until 30 rings_running "$vuid" 2
check "after testpmd restarts: traffic resumes" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
check "controller alive" pid_alive "$CTL_PID"

# ---- a busy ring: kill -9 under a txonly flood; every frame exactly once --------------------
stop_testpmd
# The peer's bridge would forward the flood: the representor leaves it and counts what it gets.
ip link set "$rep" nomaster
# Frames written into the representor: the kernel takes them (rx_packets) or drops them on
# a full backlog (rx_dropped); both mean the controller delivered them once.
rep_rx() { echo $(( $(cat "/sys/class/net/$rep/statistics/rx_packets") + $(cat "/sys/class/net/$rep/statistics/rx_dropped") )); }
r0=$(rep_rx)
# testpmd floods from "start" to "stop"; what it left on the ring then drains, so the frames
# it counted as sent (put on the ring) and the ones the representor got must be equal.
start_testpmd_cmd "$FE" 2 "$MAC" ",server=1" --forward-mode=txonly --txpkts=64 --burst=32
check "flood: testpmd connected, both queue pairs run" wait_until 30 rings_running "$vuid" 4
tp_cmd start
check "flood: frames arrive at the representor" wait_until 10 sh -c "[ \$(cat /sys/class/net/$rep/statistics/rx_packets) -gt $((r0 + 20000)) ]"
for round in 1 2 3; do
    kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
    start_ctl || not_ok "flood: restart $round"
    r1=$(rep_rx)
    check "flood: the ring runs again after kill -9 ($round)" wait_until 20 sh -c "[ \$(cat /sys/class/net/$rep/statistics/rx_packets) -gt $((r1 + 5000)) ]"
done
tp_cmd stop
check "flood: testpmd stopped and counted" wait_until 20 grep -q "Accumulated forward statistics" "$T/testpmd.log"

sent=$(awk '/Accumulated forward statistics/ {acc=1} acc && /TX-packets:/ {for (i = 1; i < NF; i++) if ($i == "TX-packets:") {v = $(i+1); acc = 0}} END {print v}' "$T/testpmd.log")
check "flood: testpmd counted what it sent (${sent:-nothing})" test "${sent:-0}" -gt 0
# The ring drains: the representor reaches the count (or more, if frames went twice).
wait_until 20 test $(( $(rep_rx) - r0 )) -ge "${sent:-1}"
got=$(( $(rep_rx) - r0 ))
echo "# flood: testpmd sent $sent frames, the representor received $got, 3 kills"
grep 'were being sent when the last controller stopped' "$CTL_LOG" | sed 's/^/# /' | tail -3
check "flood: every frame exactly once, across 3 kill -9 ($got received of $sent sent)" test "$got" -eq "${sent:-0}"
tp_cmd quit
stop_testpmd
check "controller alive" pid_alive "$CTL_PID"
# The fd baseline is taken at start: start once more with no front-end, so start and stop compare.
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
start_ctl || not_ok "start without a front-end"
check "no front-end: the device keeps trying" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0] | .vhost_connected == false and .vhost_reconnect_failures >= 1'"
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "clean shutdown" || not_ok "clean shutdown (rc $rc)"
done_testing
