# rpc_bad_input.sh - malformed, oversized, hostile and unprivileged JSON-RPC
# input: each gets its error (or a clean close) and the daemon keeps serving.
. "$top_srcdir/tests/functional/lib.sh"

start_controller || { not_ok "controller starts"; done_testing; }

# expect_error DESC CODE TEXT [rpc_raw options]
expect_error() {
    local desc=$1 code=$2 text=$3; shift 3
    local r
    r=$(rpc_raw "$@" "$text" | head -1)
    if printf '%s' "$r" | jq -e --argjson c "$code" '.error.code == $c' >/dev/null 2>&1; then
        ok "$desc"
    else
        not_ok "$desc"; printf '%s\n' "$r" | diag
    fi
    vn health >/dev/null || not_ok "controller still serves after: $desc"
}

expect_error "malformed JSON -> -32700" -32700 '{"jsonrpc":"2.0","id":1,"method":"health",}x'
expect_error "not JSON at all -> -32700" -32700 'hello'
expect_error "unknown method -> -32601" -32601 '{"jsonrpc":"2.0","id":1,"method":"frobnicate"}'
expect_error "missing jsonrpc -> -32600" -32600 '{"id":1,"method":"health"}'
expect_error "wrong jsonrpc version -> -32600" -32600 '{"jsonrpc":"1.0","id":1,"method":"health"}'
expect_error "method not a string -> -32600" -32600 '{"jsonrpc":"2.0","id":1,"method":42}'
expect_error "id an object -> -32600" -32600 '{"jsonrpc":"2.0","id":{},"method":"health"}'
expect_error "unknown envelope member -> -32600" -32600 '{"jsonrpc":"2.0","id":1,"method":"health","x":1}'
expect_error "positional params -> -32602" -32602 '{"jsonrpc":"2.0","id":1,"method":"log","params":["debug"]}'
expect_error "wrong param type -> -32602" -32602 '{"jsonrpc":"2.0","id":1,"method":"log","params":{"level":5}}'
expect_error "unknown param -> -32602" -32602 '{"jsonrpc":"2.0","id":1,"method":"log","params":{"lvl":"info"}}'
expect_error "param out of range -> -32602" -32602 '{"jsonrpc":"2.0","id":1,"method":"query","params":{"pf":-1}}'
expect_error "fractional integer -> -32602" -32602 '{"jsonrpc":"2.0","id":1,"method":"query","params":{"pf":1.5}}'
expect_error "missing required param -> -32602" -32602 '{"jsonrpc":"2.0","id":1,"method":"hotplug","params":{"mac":"00:11:22:33:44:55"}}'
expect_error "empty batch -> -32600" -32600 '[]'

r=$(rpc_raw '{"jsonrpc":"2.0","id":7,"method":"log","params":{"level":5}}')
printf '%s' "$r" | jq -e '.id == 7 and (.error.message | contains("level"))' >/dev/null \
    && ok "the error names the parameter and keeps the id" || { not_ok "error names the parameter"; echo "$r" | diag; }

# A batch gets one array back, notifications get nothing.
r=$(rpc_raw '[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","method":"health"},{"jsonrpc":"2.0","id":3,"method":"nope"}]')
printf '%s' "$r" | jq -e 'length == 2 and .[0].id == 1 and .[1].error.code == -32601' >/dev/null \
    && ok "batch: one array, notification unanswered" || { not_ok "batch"; echo "$r" | diag; }
r=$(rpc_raw --no-reply '{"jsonrpc":"2.0","method":"health"}')
[ "$r" = "<timeout>" ] && ok "a notification gets no reply" || { not_ok "a notification gets no reply"; echo "$r" | diag; }

# Two requests in one write, no newline between them.
r=$($RPC_RAW "$SOCK" --repeat 2 '{"jsonrpc":"2.0","id":5,"method":"health"}')
printf '%s' "$r" | jq -e '.id == 5' >/dev/null && ok "back-to-back requests are framed" || not_ok "back-to-back requests"

# Oversized request: an error, then the connection is closed.
big=$(python3 -c 'print("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"validate\",\"params\":{\"config\":\"" + "x" * (1100 * 1024) + "\"}}")')
r=$(printf '%s' "$big" | $RPC_RAW "$SOCK" --expect-close)
printf '%s' "$r" | head -1 | jq -e '.error.code == -32600 and (.error.message | contains("larger"))' >/dev/null \
    && ok "oversized request: error" || { not_ok "oversized request: error"; echo "$r" | cut -c1-300 | diag; }
printf '%s' "$r" | tail -1 | grep -q '<closed>' && ok "oversized request: connection closed" || not_ok "oversized request: connection closed"
check "oversized request: others still served" vn health

# Deep nesting.
deep=$(python3 -c 'print("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\",\"params\":" + "[" * 200 + "]" * 200 + "}")')
r=$(rpc_raw --expect-close "$deep")
printf '%s' "$r" | head -1 | jq -e '.error.code == -32600 and (.error.message | contains("nested"))' >/dev/null \
    && ok "deep nesting: error" || { not_ok "deep nesting: error"; echo "$r" | diag; }

# Clients that disconnect mid-request, many times over.
for i in $(seq 1 50); do
    $RPC_RAW "$SOCK" --partial '{"jsonrpc":"2.0","id":1,"method":"hea' || true
done
for i in $(seq 1 20); do
    $RPC_RAW "$SOCK" --partial '{"jsonrpc":"2.0","id":1,"method":"health"}' || true
done
check "clients disconnecting mid-request: others still served" vn health

# A slow client holding an open half request does not block another.
python3 - "$SOCK" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{"jsonrpc":"2.0","id":1,')
time.sleep(3)
PY
slow=$!
check "a stalled client does not block others" vn health
wait $slow 2>/dev/null

# Client limit: 128 connected at once; the 129th is told and closed, and the daemon recovers.
python3 - "$SOCK" >"$T/limit.out" <<'PY'
import socket, sys, json
socks = []
for i in range(128):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)
# make sure all were accepted
for s in socks[:1]:
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"health"}'); s.recv(65536)
extra = socket.socket(socket.AF_UNIX); extra.settimeout(5); extra.connect(sys.argv[1])
data = extra.recv(65536)
print(json.loads(data.split(b"\n")[0])["error"]["code"])
for s in socks: s.close()
PY
check "client limit: the 129th client gets -32004" grep -qx -- -32004 "$T/limit.out"
check "client limit: served again once others left" wait_until 5 vn health

# Access control: an unprivileged user may read but not change anything.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
    chmod 0777 "$T"; chmod 0666 "$SOCK"   # let 'nobody' reach the socket for this test
    asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIRTNET" --socket "$SOCK" "$@"; }
    check "unprivileged: health allowed" asnobody health
    check "unprivileged: reading log levels allowed" asnobody log
    asnobody log -l debug >/dev/null 2>"$T/err"; rc=$?
    [ $rc -eq 1 ] && grep -qi "needs root" "$T/err" && ok "unprivileged: setting log level denied" \
        || { not_ok "unprivileged: setting log level denied"; diag <"$T/err"; }
    # /usr/bin/python3: a per-user python3 first in PATH (one in root's home) is not nobody's;
    # and an empty reply must not pass (jq -e succeeds on empty input).
    r=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$top_srcdir/tests/functional/rpc_raw.py" "$SOCK" '{"jsonrpc":"2.0","id":1,"method":"hotplug","params":{}}')
    [ -n "$r" ] && printf '%s' "$r" | jq -e '.error.code == -32006' >/dev/null && ok "unprivileged: hotplug denied (-32006)" \
        || { not_ok "unprivileged: hotplug denied"; echo "$r" | diag; }
    chmod 0660 "$SOCK"
else
    skip "access control needs root, a 'nobody' user and setpriv"
fi

# Names a client sends are looked up, never made into file names.
ls -lR "$STATE" >"$T/state.before"
bad_names=0
for v in "../virtio_net_controller.lock" "../../../../etc/passwd" "recovery/x" ".." "a%sb" ""; do
    for m in query unplug stats modify; do
        r=$(rpc_raw "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$m\",\"params\":{\"vuid\":\"$v\"}}")
        printf '%s' "$r" | jq -e '.error.code < 0' >/dev/null || { bad_names=1; echo "$m $v: $r" | diag; }
    done
done
r=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"hotplug","params":{"ib_device":"../../mlx5_0","mac":"02:00:00:00:00:01","mtu":1500,"max_queues":2,"max_queue_size":256}}')
printf '%s' "$r" | jq -e '.error.code < 0' >/dev/null || { bad_names=1; echo "hotplug: $r" | diag; }
ls -lR "$STATE" >"$T/state.after"
[ $bad_names -eq 0 ] && ok "VUIDs and ib devices like ../x and a/b: refused as unknown" \
    || not_ok "VUIDs and ib devices like ../x and a/b: refused as unknown"
check "and no file in the state dir changed" cmp -s "$T/state.before" "$T/state.after"

check "controller alive after all of it" pid_alive "$CTL_PID"
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "clean shutdown after bad input" || not_ok "clean shutdown after bad input (rc $rc)"
done_testing
