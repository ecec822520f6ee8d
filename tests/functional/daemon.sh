# daemon.sh - the daemon's command line, start-up checks, lock and shutdown.
. "$top_srcdir/tests/functional/lib.sh"

check "--version prints the version" sh -c "'$DAEMON' --version | grep -q '^virtio_net_controller v[0-9]'"
check "-h prints usage" sh -c "'$DAEMON' -h | grep -q -- '--state-dir'"
"$DAEMON" --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "an unknown option exits 2" || not_ok "an unknown option exits 2 (got $rc)"

# An invalid config stops start-up with a message naming the key.
printf '{ "sf_pool_percent": 150, "no_such_key": 1 }\n' >"$T/bad.conf"
"$DAEMON" --foreground --config "$T/bad.conf" --state-dir "$T/bad" --socket "$T/bad.sock" >"$T/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && ok "invalid config: start-up fails" || not_ok "invalid config: start-up fails"
check "invalid config: names sf_pool_percent" grep -q "sf_pool_percent" "$T/bad.out"
check "invalid config: names the unknown key" grep -q "no_such_key" "$T/bad.out"
check "invalid config: no socket left behind" test ! -e "$T/bad.sock"

"$DAEMON" --foreground --config "$T/missing.conf" --state-dir "$T/bad" --socket "$T/bad.sock" >"$T/miss.out" 2>&1
[ $? -ne 0 ] && grep -q "missing.conf" "$T/miss.out" && ok "an explicit config that does not exist is an error" \
    || { not_ok "an explicit config that does not exist is an error"; diag <"$T/miss.out"; }

# Built-in defaults without a config file.
start_controller || { not_ok "controller starts with built-in defaults"; done_testing; }
ok "controller starts with built-in defaults"
mode=$(stat -c %a "$SOCK")
[ "$mode" = 660 ] && ok "RPC socket mode is 0660" || not_ok "RPC socket mode is 0660 (got $mode)"
check "lock file holds the pid" grep -qx "$CTL_PID" "$STATE/virtio_net_controller.lock"

# A second controller on the same state dir is refused, the first keeps serving.
"$DAEMON" --foreground --state-dir "$STATE" --socket "$T/second.sock" >"$T/second.out" 2>&1
rc=$?
[ $rc -ne 0 ] && ok "second controller on the same state dir exits non-zero" \
    || not_ok "second controller on the same state dir exits non-zero"
check "second controller says the state dir is in use" grep -q "in use by another controller (pid $CTL_PID)" "$T/second.out"
check "first controller still serves" vn health

# A second controller on the same socket (other state dir) must not steal it.
"$DAEMON" --foreground --state-dir "$T/other" --socket "$SOCK" >"$T/third.out" 2>&1
[ $? -ne 0 ] && grep -q "another controller is serving" "$T/third.out" \
    && ok "a live socket is not taken over" || { not_ok "a live socket is not taken over"; diag <"$T/third.out"; }
check "first controller still serves after that" vn health

# Daemon mode: the parent returns once the child is ready.
"$DAEMON" --state-dir "$T/bg" --socket "$T/bg.sock"
rc=$?
[ $rc -eq 0 ] && ok "background start returns 0 when ready" || not_ok "background start returns 0 (got $rc)"
bgpid=$(cat "$T/bg/virtio_net_controller.lock" 2>/dev/null)
check "background controller answers at once" "$VIRTNET" --socket "$T/bg.sock" health
[ -n "$bgpid" ] && kill -TERM "$bgpid" && wait_until 10 pid_gone "$bgpid" \
    && ok "background controller stops on SIGTERM" || not_ok "background controller stops on SIGTERM"

# SIGTERM: clean exit, socket removed.
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: exit status 0" || not_ok "SIGTERM: exit status 0 (got $rc)"
check "SIGTERM: socket removed" test ! -e "$SOCK"
check "SIGTERM: says it stopped" grep -q "stopped" "$CTL_LOG"

# SIGINT too, and a stale socket file from a crash is replaced.
start_controller && kill -INT "$CTL_PID" && wait_until 10 pid_gone "$CTL_PID" \
    && ok "SIGINT stops the controller" || not_ok "SIGINT stops the controller"
CTL_PID=
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
start_controller && ok "a stale socket file is replaced" || not_ok "a stale socket file is replaced"
stop_controller

# Datapath workers pinned by emulation.worker_cpu_mask; a mask of no usable CPU is refused.
printf '{ "eth_vq_workers": 2, "emulation": { "worker_cpu_mask": "0x1" } }\n' >"$T/pin.conf"
start_controller --config "$T/pin.conf" || not_ok "controller starts with worker_cpu_mask 0x1"
workers_on_cpu0() {
    local t n=0
    for t in /proc/$CTL_PID/task/*; do
        case $(cat "$t/comm") in vn-sw-*) grep -qx 'Cpus_allowed_list:[[:space:]]*0' "$t/status" && n=$((n + 1)) ;; esac
    done
    [ $n -eq 2 ]
}
check "worker_cpu_mask 0x1: both datapath workers run on CPU 0 only" workers_on_cpu0
stop_controller
printf '{ "emulation": { "worker_cpu_mask": "0x8000000000000000" } }\n' >"$T/badpin.conf"
"$DAEMON" --foreground --config "$T/badpin.conf" --state-dir "$T/badpin" --socket "$T/badpin.sock" >"$T/badpin.out" 2>&1
[ $? -ne 0 ] && grep -q "worker_cpu_mask.*names no CPU" "$T/badpin.out" \
    && ok "worker_cpu_mask naming no usable CPU: start-up fails and says why" \
    || { not_ok "worker_cpu_mask naming no usable CPU: start-up fails and says why"; diag <"$T/badpin.out"; }
done_testing
