# update.sh - live update (`virtnet update -s`), fast restart (`virtnet
# restart`) and crash recovery under traffic: a network namespace floods
# pings at DPDK testpmd's virtio-user (icmpecho) through a bridge and the
# representor while the controller hands its devices to a new process.
# Checks: the pid changes, every device is the same in `query`, counters
# carry over, `update -t` reports per-device downtime, no echo is lost; a new
# binary that fails early leaves the old controller serving; a hand-over
# that fails after the first device moved, in the middle, and before commit
# (fault points update_device@2, update_device@5, update_commit) leaves every
# device passing traffic on the old controller with its counters, and on the
# new one once an update commits; kill -9 and a
# start: devices restored, their sockets back at the same paths, a driver
# attaches again and traffic resumes (DPDK's virtio-user client does not
# reconnect by itself; QEMU's reconnect=1 does, see guest tests).
. "$top_srcdir/tests/functional/lib.sh"
. "$top_srcdir/tests/functional/dp_lib.sh"

NDEV=8
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": $NDEV, "serial": "$SERIAL" } }
CONF
# The binary `update -s` runs: a link the test can point elsewhere.
ln -s "$DAEMON" "$T/newbin"
vuids=()
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    { not_ok "controller starts"; done_testing; }
peer_setup

for i in $(seq 0 $((NDEV - 1))); do
    v=$(hotplug -m "02:00:00:00:05:$(printf %02x $i)" -t 1500 -n 2 -s 256 -u $((sfbase + i))) ||
        { not_ok "hotplug $i"; done_testing; }
    [ $i -eq 0 ] && vuid=$v
    vuids+=("$v")
done
ok "$NDEV devices hotplugged"
rep=$(rep_of "$vuid")
ip link set "$rep" master "$BR"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:05:0a ""
check "testpmd attaches" wait_until 30 rings_running "$vuid" 2
check "the peer reaches the virtio-user" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"

# The parts of `query -a` a hand-over must keep (live counters and indices move).
snapshot() {
    vn query -a | jq -S '[.devices[] | del(.queues[]?.avail_idx, .queues[]?.used_idx,
        .queues[]?.driver_avail_idx, .queues[]?.received_desc, .queues[]?.completed_desc,
        .queues[]?.total_packets, .queues[]?.total_bytes, .rx_packets, .rx_bytes, .tx_packets,
        .tx_bytes)]'
}
snapshot >"$T/before.json"

# ---- live update under a ping flood ---------------------------------------------------------
old=$CTL_PID
rep_tx() { cat "/sys/class/net/$rep/statistics/tx_packets"; }
base=$(rep_tx)
peer_ping -q -i 0.005 -c 800 -W 1 "$NET.2" >"$T/flood.out" 2>&1 &
flood=$!
wait_until 5 sh -c "[ \$(cat /sys/class/net/$rep/statistics/tx_packets) -gt $((base + 50)) ]"
vn stats -u "$vuid" | jq -r '.device.totals.tx_packets' >"$T/tx_before"
check "update -s succeeds" sh -c "'$VIRTNET' --socket '$SOCK' update -s -w >'$T/upd.json'"
wait "$old" 2>/dev/null
check "the old controller exited 0" test $? -eq 0
CTL_PID=$(lock_pid)
check "a new pid holds the state dir" test "$CTL_PID" != "$old"
check "the new controller answers" vn health
check "update -t: success, $NDEV devices with their downtime" sh -c "'$VIRTNET' --socket '$SOCK' update -t | jq -e --argjson n $NDEV '.\"last status\" == \"success\" and .\"current status\" == \"inactive\" and (.devices | length == \$n) and ([.devices[].\"downtime (ms)\" | select(. >= 0)] | length == \$n)'"
wait "$flood"
check "no echo lost across the update (800 of 800)" grep -q " 0% packet loss" "$T/flood.out" ||
    diag <"$T/flood.out"
snapshot >"$T/after.json"
check "every device is the same in query -a" cmp -s "$T/before.json" "$T/after.json" ||
    diff "$T/before.json" "$T/after.json" | head -20 | diag
check "counters carry over" sh -c "[ \$('$VIRTNET' --socket '$SOCK' stats -u '$vuid' | jq -r '.device.totals.tx_packets') -ge \$(cat '$T/tx_before') ]"
check "testpmd never noticed (still attached)" pid_alive "$TP_PID"

# ---- ten updates in a row under one flood (issue 13: 0 echoes lost) ---------------------------
peer_ping -q -i 0.005 -c 2400 -W 1 "$NET.2" >"$T/flood10.out" 2>&1 &
flood=$!
wait_until 5 sh -c "[ \$(cat /sys/class/net/$rep/statistics/tx_packets) -gt \$(( $(rep_tx) + 50 )) ]"
done10=0
for i in $(seq 1 10); do
    old=$CTL_PID
    "$VIRTNET" --socket "$SOCK" update -s -w >/dev/null 2>"$T/u10.err" || { diag <"$T/u10.err"; break; }
    wait "$old" 2>/dev/null
    wait_until 10 sh -c "[ \$(cat '$STATE/virtio_net_controller.lock') != $old ]" || break
    CTL_PID=$(lock_pid)
    done10=$i
done
wait "$flood"
check "10 updates in a row under a 5 ms flood ($done10 done)" test "$done10" -eq 10
check "no echo lost across 10 updates (2400 of 2400)" grep -q " 0% packet loss" "$T/flood10.out" ||
    diag <"$T/flood10.out"

# The mechanism behind the frames lost in updates: the new process must not open a queue
# (TUNSETIFF) on a representor the old one serves; the kernel would steer frames to it.
if command -v strace >/dev/null; then
    old=$CTL_PID
    strace -f -qq -e trace=ioctl,execve -o "$T/strace.out" -p "$old" 2>/dev/null &
    st=$!
    wait_until 5 sh -c "grep -q TracerPid:.[1-9] /proc/$old/status"
    "$VIRTNET" --socket "$SOCK" update -s -w >/dev/null 2>&1
    wait_until 10 sh -c "[ \$(cat '$STATE/virtio_net_controller.lock') != $old ]"
    CTL_PID=$(lock_pid)
    wait_until 10 pid_gone "$old"
    kill "$st" 2>/dev/null; wait "$st" 2>/dev/null
    n=$(grep -c TUNSETIFF "$T/strace.out")
    check "the new process opened no queue on a live representor ($n TUNSETIFF)" test "$n" -eq 0
    check "strace followed the new process (its execve)" grep -q "execve(" "$T/strace.out"
else
    skip "strace is not installed: the TUNSETIFF check"
fi

# ---- fast restart ---------------------------------------------------------------------------
old=$CTL_PID
check "restart succeeds" sh -c "'$VIRTNET' --socket '$SOCK' restart >/dev/null"
wait_until 10 pid_gone "$old" && ok "the previous process left" || not_ok "the previous process left"
CTL_PID=$(lock_pid)
check "restart: another pid" test "$CTL_PID" != "$old"
pings_ok "restart: traffic goes on" -c 20 -i 0.01 -W 1 "$NET.2"

# ---- a new binary that fails early ------------------------------------------------------------
printf '#!/bin/sh\necho "new controller: broken on purpose" >&2\nexit 3\n' >"$T/broken"
chmod +x "$T/broken"
ln -sfn "$T/broken" "$T/newbin"
"$VIRTNET" --socket "$SOCK" update -s -w >"$T/fail.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "failed before taking over" "$T/fail.out" &&
    ok "update -s to a broken binary fails and says why" ||
    { not_ok "update -s to a broken binary fails and says why"; diag <"$T/fail.out"; }
check "the old controller still serves, same pid" sh -c "[ \$(cat '$STATE/virtio_net_controller.lock') = $CTL_PID ] && '$VIRTNET' --socket '$SOCK' health >/dev/null"
check "update -t: last status failed, with the reason" sh -c "'$VIRTNET' --socket '$SOCK' update -t | jq -e '.\"last status\" == \"failed\" and (.error | test(\"exited with status 3\"))'"
pings_ok "traffic was never interrupted" -c 20 -i 0.01 -W 1 "$NET.2"
ln -sfn "$DAEMON" "$T/newbin"
check "then update -s works again" sh -c "'$VIRTNET' --socket '$SOCK' update -s -w >/dev/null"
wait_until 10 pid_gone "$CTL_PID" || not_ok "the previous process left"
CTL_PID=$(lock_pid)
check "update -s and -t together are refused" sh -c "! '$VIRTNET' --socket '$SOCK' update -s -t 2>/dev/null"

# ---- a hand-over that fails midway: every device keeps passing traffic ------------------------
# One testpmd, one virtio-user port per device, each echoing on its own port.
# Device 0 answers the peer through the bridge; device i (1..) answers pings
# from the host through its own representor, which gets a /30 of its own.
stop_testpmd
tp_args=()
for i in "${!vuids[@]}"; do
    mac=02:00:00:00:06:$(printf %02x "$i")
    [ "$i" -eq 0 ] && mac=02:00:00:00:05:0a
    tp_args+=(--vdev "net_virtio_user$i,path=$(sock_of "${vuids[$i]}"),queues=1,mac=$mac")
done
dpdk-testpmd -l 0,1 --main-lcore 1 --file-prefix="$PREFIX" -m 256 --single-file-segments --no-pci \
    "${tp_args[@]}" -- --forward-mode=icmpecho --port-topology=loop --auto-start --stats-period 1 \
    --total-num-mbufs=16384 </dev/null >"$T/testpmd.log" 2>&1 &
TP_PID=$!
all_attached() {
    local v
    for v in "${vuids[@]}"; do rings_running "$v" 2 || return 1; done
}
check "testpmd attaches to all $NDEV devices" wait_until 60 all_attached
RNET=10.214.$(( ID % 250 ))
for i in $(seq 1 $((NDEV - 1))); do
    ip addr add "$RNET.$((4 * i + 1))/30" dev "$(rep_of "${vuids[$i]}")"
done
# every_device_pings: prints the devices that did not answer 5 of 5 echoes.
every_device_pings() {
    local i
    peer_ping -q -c 5 -i 0.02 -W 1 "$NET.2" 2>&1 | grep -q " 0% packet loss" || echo "${vuids[0]}"
    for i in $(seq 1 $((NDEV - 1))); do
        ping -q -c 5 -i 0.02 -W 1 -I "$(rep_of "${vuids[$i]}")" "$RNET.$((4 * i + 2))" 2>&1 |
            grep -q " 0% packet loss" || echo "${vuids[$i]}"
    done
}
# The first echoes may wait for ARP: up to 3 rounds before the check.
for i in 1 2 3; do [ -z "$(every_device_pings)" ] && break; done
check "before any fault: every device answers" test -z "$(every_device_pings)"
# Per device: the frames its representor received from the front-end (tx_packets
# in the controller's counters), as "VUID N" lines.
counters() {
    local v
    for v in "${vuids[@]}"; do
        echo "$v $(vn stats -u "$v" | jget .device.totals.tx_packets)"
    done
}
# Only this controller runs on the state dir (the new process it started is gone).
one_controller() {
    local n=0 p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "--state-dir $STATE " && n=$((n + 1))
    done
    [ "$n" -eq 1 ]
}
snapshot >"$T/before_faults.json"
for point in update_device@2 update_device@5 update_commit; do
    counters >"$T/cnt_before"
    vn debug fault point="$point" >/dev/null
    "$VIRTNET" --socket "$SOCK" update -s -w >"$T/fault.out" 2>&1
    rc=$?
    check "$point: update -s -w fails" test "$rc" -ne 0
    check "$point: the old process keeps the state dir" test "$(lock_pid)" = "$CTL_PID"
    check "$point: update -t says failed at the fault" sh -c \
        "'$VIRTNET' --socket '$SOCK' update -t | jq -e '.\"last status\" == \"failed\" and (.error | test(\"fault injected at update_(device|commit)\"))'"
    check "$point: the new process is gone" wait_until 10 one_controller
    bad=$(every_device_pings)
    check "$point: every device passes traffic on the old process${bad:+ (not: $bad)}" test -z "$bad"
    counters >"$T/cnt_after"
    check "$point: every device's counters carried on and grew" sh -c \
        "join '$T/cnt_before' '$T/cnt_after' | awk '\$3 > \$2 {n++} END {exit !(n == $NDEV)}'" ||
        paste "$T/cnt_before" "$T/cnt_after" | diag
    snapshot >"$T/after_fault.json"
    check "$point: every device is the same in query -a" cmp -s "$T/before_faults.json" "$T/after_fault.json" ||
        diff "$T/before_faults.json" "$T/after_fault.json" | head -20 | diag
done
# And when the hand-over commits: every device on the new process.
counters >"$T/cnt_before"
old=$CTL_PID
check "then update -s commits" sh -c "'$VIRTNET' --socket '$SOCK' update -s -w >/dev/null"
wait_until 10 pid_gone "$old" || not_ok "the previous process left"
CTL_PID=$(lock_pid)
bad=$(every_device_pings)
check "after the update: every device passes traffic on the new process${bad:+ (not: $bad)}" test -z "$bad"
counters >"$T/cnt_after"
check "after the update: every device's counters carried over and grew" sh -c \
    "join '$T/cnt_before' '$T/cnt_after' | awk '\$3 > \$2 {n++} END {exit !(n == $NDEV)}'" ||
    paste "$T/cnt_before" "$T/cnt_after" | diag
stop_testpmd
for i in $(seq 1 $((NDEV - 1))); do
    ip addr flush dev "$(rep_of "${vuids[$i]}")" 2>/dev/null
done

# ---- kill -9 and restart: devices restored, a driver attaches again, traffic resumes ----------
stop_testpmd
kill -KILL "$CTL_PID"
wait_until 10 pid_gone "$CTL_PID"
CTL_PID=
t0=$(date +%s%N)
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    not_ok "restart after kill -9"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:05:0a ""
check "after kill -9: the socket is back and testpmd attaches" wait_until 30 rings_running "$vuid" 2
check "after kill -9: traffic resumes" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
diag <<<"restart to first echo: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
snapshot | jq -S '[.[] | del(.vhost_connections, .driver_status, .driver_status_raw,
    .negotiated_features, .negotiated_feature_names, .negotiated_protocol_features,
    .vnet_hdr_len, .vhost_connected, .queues, .vhost_last_error)]' >"$T/after9.json"
jq -S '[.[] | del(.vhost_connections, .driver_status, .driver_status_raw,
    .negotiated_features, .negotiated_feature_names, .negotiated_protocol_features,
    .vnet_hdr_len, .vhost_connected, .queues, .vhost_last_error)]' "$T/before.json" >"$T/before9.json"
check "after kill -9: devices identical (configuration)" cmp -s "$T/before9.json" "$T/after9.json" ||
    diff "$T/before9.json" "$T/after9.json" | head -20 | diag

stop_testpmd
stop_controller
done_testing
