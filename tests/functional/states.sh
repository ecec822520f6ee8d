# states.sh - device states checked by the RPC registry: while a hotplugged
# device waits for the host VM ("attaching"), the methods that need it ready
# answer "busy: attaching" and change nothing; once the host gives up, the
# hotplug is rolled back.  The host is a QMP socket that accepts and never
# answers, so the wait lasts until host.timeout_ms.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

python3 - "$T/qmp.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
conns = []
deadline = time.time() + 60
s.settimeout(1)
while time.time() < deadline:
    try:
        conns.append(s.accept()[0])  # accepted, never answered
    except socket.timeout:
        pass
PY
silent=$!
wait_until 10 test -S "$T/qmp.sock" || { not_ok "a silent QMP peer"; done_testing; }

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" },
  "host": { "qmp_socket": "$T/qmp.sock", "root_ports": "rp0,rp1", "timeout_ms": 4000 } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
track_rep "en3f0pf0sf$sfbase"

vn hotplug -i mlx5_0 -m 02:00:00:00:0a:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.out" 2>&1 &
hp=$!
attaching() { vn query -a -b | jq -e '.devices[0].state == "attaching"'; }
check "the device waits for the host: state attaching" wait_until 5 attaching
vuid=$(vn query -a -b | jq -r '.devices[0].vuid')
cp "$STATE/recovery/$vuid" "$T/rec.before"
expect_busy() { # DESC CMD...
    local desc=$1; shift
    if "$@" >/dev/null 2>"$T/err"; then not_ok "$desc (succeeded)"
    elif grep -q "busy: attaching" "$T/err"; then ok "$desc"
    else not_ok "$desc"; diag <"$T/err"; fi
}
expect_busy "unplug while attaching: busy" vn unplug -u "$vuid"
expect_busy "modify device while attaching: busy" vn modify -u "$vuid" device -t 9000
expect_busy "modify queue while attaching: busy" vn modify -u "$vuid" queue -n 10
check "query still answers" vn query -u "$vuid"
check "nothing changed meanwhile" cmp "$STATE/recovery/$vuid" "$T/rec.before"
wait "$hp"
check "the host never answered: hotplug fails" test $? -ne 0
check "and is rolled back" sh -c "'$VIRTNET' --socket '$SOCK' query -a -b | jq -e '.devices == []'"
check "no recovery file left" test ! -e "$STATE/recovery/$vuid"
check "no representor left" test ! -e "/sys/class/net/en3f0pf0sf$sfbase"

kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
stop_controller
done_testing
