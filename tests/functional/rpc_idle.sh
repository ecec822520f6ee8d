# rpc_idle.sh - connection slots under abuse: idle clients are closed after
# the idle timeout, and 200 idle unprivileged clients never lock root out
# (the last slots are kept for privileged callers).  Issue 13, item 6.
. "$top_srcdir/tests/functional/lib.sh"

IDLE=4   # seconds (virtnet.conf rpc_idle_timeout); the controller's default is 60
echo "{ \"rpc_idle_timeout\": $IDLE, \"emulation\": { \"serial\": \"$SERIAL\" } }" >"$T/virtnet.conf"
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

hjson() { vn health | jq -c "$1"; }

# ---- idle timeout
r=$(rpc_raw --expect-close '{"jsonrpc":"2.0","id":1,"method":"health"}')
t0=$(date +%s%N)
printf '%s' "$r" | tail -1 | grep -qx '<closed>' \
    && ok "a client idle after its reply is closed by the controller (timeout ${IDLE} s)" \
    || { not_ok "an idle client is closed"; printf '%s\n' "$r" | cut -c1-200 | diag; }

# A client that keeps asking (every 1 s, 2.5x the timeout) stays; one that sent
# half a request and stalls is closed; one that has not read its replies is too.
python3 - "$SOCK" "$IDLE" >"$T/busy.out" <<'PY'
import json, socket, sys, time
path, idle = sys.argv[1], float(sys.argv[2])
busy = socket.socket(socket.AF_UNIX); busy.connect(path)
stall = socket.socket(socket.AF_UNIX); stall.connect(path)
stall.sendall(b'{"jsonrpc":"2.0","id":1,')
f = busy.makefile('rb')
end = time.time() + 2.5 * idle
ok = True
while time.time() < end:
    busy.sendall(b'{"jsonrpc":"2.0","id":1,"method":"health"}')
    ok = ok and json.loads(f.readline())["result"]["status"] == "ok"
    time.sleep(1)
print("busy", "served" if ok else "broken")
stall.settimeout(5)
try:
    print("stalled", "closed" if stall.recv(4096) == b'' else "answered")
except socket.timeout:
    print("stalled open")
PY
grep -qx "busy served" "$T/busy.out" && ok "a client that keeps asking is not closed as idle" \
    || { not_ok "a client that keeps asking is not closed as idle"; diag <"$T/busy.out"; }
grep -qx "stalled closed" "$T/busy.out" && ok "a client stalled mid-request is closed as idle" \
    || { not_ok "a client stalled mid-request is closed as idle"; diag <"$T/busy.out"; }
n=$(hjson .rpc.clients_idle)
[ "$n" -ge 2 ] && ok "health counts the idle clients closed ($n)" || not_ok "health counts the idle clients closed ($n)"

# ---- reserved slots: 200 idle clients as nobody, then root
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# A python that 'nobody' may run (root's may be in a private directory).
py_nobody=
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
    for p in "$(command -v python3)" /usr/bin/python3 /usr/local/bin/python3; do
        [ -x "$p" ] && asnobody "$p" -c pass 2>/dev/null && { py_nobody=$p; break; }
    done
fi
if [ -n "$py_nobody" ]; then
    chmod 0777 "$T"; chmod 0666 "$SOCK"   # let 'nobody' reach the socket
    rej0=$(hjson .rpc.clients_rejected)
    mkfifo "$T/hold"; chmod 0666 "$T/hold"
    asnobody "$py_nobody" "$top_srcdir/tests/functional/rpc_flood.py" "$SOCK" 200 0 30 <"$T/hold" >"$T/flood.out" 2>&1 &
    flood=$!
    exec 3>"$T/hold"
    if wait_until 10 grep -q '^ready 200' "$T/flood.out"; then
        ok "200 idle connections made as nobody"
        vn health >"$T/h.json" 2>"$T/h.err"; rc=$?
        [ $rc -eq 0 ] && ok "root's health answers while they are connected" \
            || { not_ok "root's health answers while they are connected (rc $rc)"; diag <"$T/h.err"; }
        jq -se --argjson r0 "$rej0" 'length == 1 and (.[0] | .rpc.clients == 121 and .rpc.clients_rejected - $r0 == 80)' "$T/h.json" >/dev/null \
            && ok "120 of them got a slot (128 less 8 reserved), 80 were refused -32004; root took a reserved one" \
            || { not_ok "120 unprivileged slots, 80 refused"; jq -c .rpc "$T/h.json" | diag; }
        r=$(asnobody "$py_nobody" "$top_srcdir/tests/functional/rpc_raw.py" "$SOCK" '{"jsonrpc":"2.0","id":1,"method":"health"}')
        printf '%s' "$r" | jq -se 'length == 1 and (.[0] | .error.code == -32004)' >/dev/null \
            && ok "one more unprivileged client is refused (-32004)" || { not_ok "one more unprivileged client is refused"; printf '%s\n' "$r" | diag; }
        check "the idle ones are closed after the timeout" \
            wait_until $((IDLE * 4)) sh -c "'$VIRTNET' --socket '$SOCK' health | jq -se 'length == 1 and (.[0] | .rpc.clients == 1)'"
    else
        not_ok "200 idle connections made as nobody"; diag <"$T/flood.out"
    fi
    exec 3>&-
    wait_until 10 pid_gone "$flood" || kill "$flood" 2>/dev/null
    wait "$flood" 2>/dev/null
    grep -qx "closed 200" "$T/flood.out" && ok "all 200 were closed by the controller (80 refused, 120 idle)" \
        || { not_ok "all 200 were closed by the controller"; diag <"$T/flood.out"; }
    chmod 0660 "$SOCK"
else
    skip "reserved slots: needs root, a 'nobody' user, setpriv and a python3 'nobody' may run"
fi

check "controller alive" pid_alive "$CTL_PID"
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "clean shutdown" || not_ok "clean shutdown (rc $rc)"
done_testing
