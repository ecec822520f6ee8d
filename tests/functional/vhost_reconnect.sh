# vhost_reconnect.sh - a vhost-user front-end that connects and hangs up in a
# loop must not flood the controller's log: the INFO lines of a device's
# connections are rate-limited per device (16 at once, then 1 a second), and
# the device keeps accepting.  Issue 13, item 10.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

N=200
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vn hotplug -i mlx5_0 -m 02:00:00:00:04:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json"); vuid=$(jget .vuid <"$T/hp.json")
track_rep "$rep"
sock=$(vn query -u "$vuid" | jget '.devices[0].vhost_socket')
check "device $vuid has a vhost-user socket" test -S "$sock"

conn_lines() { grep -c -E "\] info: $vuid: front-end (connected|disconnected)" "$CTL_LOG"; }
before=$(conn_lines)
t0=$(date +%s)
# Connect and hang up N times, 20 ms apart (the back-end takes one front-end at a time).
python3 - "$sock" "$N" <<'PY'
import socket, sys, time
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.close()
    time.sleep(0.02)
PY
# The controller has seen them all once it serves the next request after the last hang-up.
check "the controller still answers" vn health
secs=$(( $(date +%s) - t0 + 1 ))
lines=$(( $(conn_lines) - before ))
max=$(( 16 + secs + 2 ))
echo "# $N connections in ${secs} s: $lines connect/disconnect INFO lines (at most $max allowed)"
[ "$lines" -le "$max" ] && [ "$lines" -ge 2 ] \
    && ok "$N reconnects: $lines INFO lines, not $((2 * N)) (16 at once, then 1 a second)" \
    || not_ok "$N reconnects: $lines INFO lines (want 2..$max)"
check "the suppressed lines are counted in the log" grep -q "similar lines suppressed" "$CTL_LOG"
accepted=$(vn query -u "$vuid" | jq '.devices[0].vhost_connections')
[ "${accepted:-0}" -ge $((N / 2)) ] 2>/dev/null && ok "the device accepted the connections ($accepted)" \
    || not_ok "the device accepted the connections ($accepted of $N)"
check "controller alive" pid_alive "$CTL_PID"
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "clean shutdown" || not_ok "clean shutdown (rc $rc)"
done_testing
