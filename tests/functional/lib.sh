# lib.sh - sourced by the functional tests: TAP output, a controller in a
# temporary state dir, bounded waits, and raw JSON-RPC.
#
# A test calls start_controller, drives it only through `virtnet` (vn) and
# raw JSON-RPC (rpc_raw), reports each case with ok/not_ok/check, and ends
# with done_testing.  Everything it made is removed on exit, and only the
# processes it started are stopped, by pid.

set -u
: "${top_builddir:?run through make check}" "${top_srcdir:?run through make check}"

VIRTNET=$top_builddir/cli/virtnet
DAEMON=$top_builddir/controller/virtio_net_controller
RPC_RAW="python3 $top_srcdir/tests/functional/rpc_raw.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/virtnet-test.XXXXXX")
chmod 0755 "$T"
SOCK=$T/virtnet.sock
STATE=$T/state
CTL_PID=
CTL_LOG=$T/controller.log
_n=0
_failed=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); echo "not ok $_n - $*"; _failed=1; }
diag() { sed 's/^/# /'; }
skip() { _n=$((_n + 1)); echo "ok $_n - $* # SKIP"; }

# skip_all REASON: the whole test cannot run here (exit 77 semantics in TAP).
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# check DESC CMD...: ok when CMD succeeds; its output goes to the log otherwise.
check() {
    local desc=$1; shift
    if "$@" >"$T/check.out" 2>&1; then
        ok "$desc"
    else
        not_ok "$desc"
        diag <"$T/check.out"
    fi
}

# check_fail DESC CMD...: ok when CMD fails.
check_fail() {
    local desc=$1; shift
    if "$@" >"$T/check.out" 2>&1; then
        not_ok "$desc (unexpectedly succeeded)"
        diag <"$T/check.out"
    else
        ok "$desc"
    fi
}

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds or time runs out.
wait_until() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(date +%s%N)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

# jq -e succeeds on empty input (jq 1.6; its manual says exit 4 when no result
# was produced), so `virtnet ... | jq -e COND` passed when virtnet failed and
# printed nothing.  A jq first in PATH (also inside `sh -c`) makes -e fail then.
_real_jq=$(command -v jq || true)
if [ -n "$_real_jq" ]; then
    mkdir -p "$T/bin"
    cat >"$T/bin/jq" <<JQ
#!/bin/sh
# jq, except that -e fails (exit 4) when no result was produced.
case " \$* " in
*" -e "* | *" --exit-status "* | *" -e"[a-z]*" "* | *" -"[a-z]*"e "* | *" -"[a-z]*"e"[a-z]*" "*) ;;
*) exec "$_real_jq" "\$@" ;;
esac
out=\$("$_real_jq" "\$@"; echo "rc=\$?")
rc=\${out##*rc=}
out=\${out%rc=*}
[ -n "\$out" ] || { [ "\$rc" = 0 ] && rc=4; }
printf '%s' "\$out"
exit "\$rc"
JQ
    chmod 0755 "$T/bin/jq"
    PATH=$T/bin:$PATH
fi

pid_alive() { kill -0 "$1" 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
# The pid of the controller holding the state dir (after a live update: not our child).
lock_pid() { cat "$STATE/virtio_net_controller.lock" 2>/dev/null; }

vn() { "$VIRTNET" --socket "$SOCK" "$@"; }

# rpc_raw [--read-only|--no-reply|--expect-close] TEXT: sends TEXT as-is, prints the reply line.
rpc_raw() { $RPC_RAW "$SOCK" "$@"; }

# jget FILTER: jq on stdin, raw output.
jget() { jq -r "$1"; }

# start_controller [ARGS...]: starts the daemon in the foreground (in the background
# of this shell) with the test's state dir and socket; waits until it answers
# (START_TIMEOUT seconds, default 20).
start_controller() {
    # VIRTNET_WRAPPER (e.g. "valgrind --error-exitcode=99 --leak-check=full") runs
    # the daemon under a checker.
    ${VIRTNET_WRAPPER:-} "$DAEMON" --foreground --state-dir "$STATE" --socket "$SOCK" \
        --provider-lib-dir "$top_builddir/providers/.libs" "$@" >>"$CTL_LOG" 2>&1 &
    CTL_PID=$!
    if ! wait_until "${START_TIMEOUT:-20}" vn health; then
        echo "# controller did not come up; its log:"
        diag <"$CTL_LOG"
        return 1
    fi
    _fd_baseline
}

# ---- fd leaks: the controller's open fds when it stops (or the test ends)
# against those it had once ready, counted by kind (socket, eventfd, memfd, a
# file's path...).  A device with no front-end holds one fd, its listening
# vhost-user socket, so the sockets may differ by the devices made or removed
# since; every other kind must be back where it was.  Not compared while a
# front-end is connected (its rings and memory are legitimately held).  One
# eventfd may be new when the controller started with no device: libev makes
# it for the first device's ev_async and keeps it for the loop's life.
_fd_kinds() {
    local f
    for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null |
        sed -E 's/:\[[0-9]+\]$//; s/^anon_inode:\[?([a-z_]+)\]?$/\1/; s/^\/memfd:.*/memfd/' |
        LC_ALL=C sort | uniq -c | awk '{print $2, $1}'
}
# devices with a listening socket of their own (the vhost backend; the dummy has none)
# and connected front-ends: "N M"
_fd_devs() {
    vn query -a -b 2>/dev/null |
        jq -r '[([.devices[] | select(has("vhost_socket"))] | length),
                ([.devices[] | select(.vhost_connected)] | length)] | @tsv'
}
_fd_baseline() {
    _fd0=$(_fd_kinds "$CTL_PID")
    _fd_devs0=$(_fd_devs | cut -f1)
}
_fd_check() {
    local ndev nconn now diff
    [ "${VIRTNET_FD_CHECK:-1}" != 0 ] && [ -n "$CTL_PID" ] && pid_alive "$CTL_PID" &&
        [ -n "${_fd0:-}" ] || return 0
    read -r ndev nconn < <(_fd_devs)
    [ -n "${nconn:-}" ] || return 0 # not answering: the test knows why
    if [ "$nconn" != 0 ]; then
        echo "# fd check not applicable: $nconn front-ends connected"
        return 0
    fi
    now=$(_fd_kinds "$CTL_PID")
    diff=$(LC_ALL=C join -a1 -a2 -e0 -o0,1.2,2.2 <(echo "$_fd0") <(echo "$now") |
        awk -v nodev="$([ "$_fd_devs0" = 0 ] && echo 1)" -v ddev="$((ndev - _fd_devs0))" \
            '{want = $2 + ($1 == "socket" ? ddev : 0)}
             $3 != want && !(nodev && $1 == "eventfd" && $3 == want + 1) {print $1": "$2" at start, "$3" now, "want" expected"}')
    if [ -z "$diff" ]; then
        ok "controller: no fd leaked ($(echo "$now" | awk '{n += $2} END {print n}') open with $ndev devices, $_fd_devs0 at start)"
    else
        not_ok "controller: no fd leaked"
        echo "$diff" | diag
    fi
}

# stop_controller: SIGTERM, then a bounded wait for exit; returns its exit status.
stop_controller() {
    local rc=0
    [ -n "$CTL_PID" ] || return 0
    _fd_check
    kill -TERM "$CTL_PID" 2>/dev/null || true
    if ! wait_until 10 pid_gone "$CTL_PID"; then
        kill -KILL "$CTL_PID" 2>/dev/null || true
        rc=137
    fi
    wait "$CTL_PID" 2>/dev/null || rc=$?
    CTL_PID=
    return $rc
}

# A serial (VUID prefix) and SF number range of this test run only, so tests
# running side by side never share a representor name.
SERIAL=T$(printf '%05d' $(( $$ % 100000 )))
# SF numbers: a slot of 1000 numbers that no other test holds while this one
# runs (an atomic mkdir claims it; a slot whose owner is dead is taken over).
_sf_slot=
for _k in $(seq 0 79); do
    _d=${TMPDIR:-/tmp}/virtnet-test-sf-slot.$_k
    if mkdir "$_d" 2>/dev/null; then
        echo $$ >"$_d/pid"; _sf_slot=$_d; break
    fi
    _owner=$(cat "$_d/pid" 2>/dev/null)
    if [ -n "$_owner" ] && ! kill -0 "$_owner" 2>/dev/null && rm -rf "$_d" && mkdir "$_d" 2>/dev/null; then
        echo $$ >"$_d/pid"; _sf_slot=$_d; break
    fi
done
[ -n "$_sf_slot" ] || { echo "1..0 # SKIP no free SF number slot"; exit 0; }
sfbase=$(( 10000 + _k * 1000 ))
_reps=()
# track_rep NAME: a representor this test made; removed on exit if still there.
# (Also in a file: a subshell, e.g. vuid=$(hotplug ...), cannot add to the array.)
track_rep() { _reps+=("$1"); echo "$1" >>"$T/.reps"; }

need_root_tun() {
    [ "$(id -u)" -eq 0 ] || skip_all "needs root (creates tap representors)"
    [ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
    command -v ip >/dev/null || skip_all "needs iproute2"
}

_cleanup() {
    local r holder
    if [ -n "$CTL_PID" ]; then
        kill -KILL "$CTL_PID" 2>/dev/null || true
        wait "$CTL_PID" 2>/dev/null || true
    fi
    # A controller that took over by live update is not our child: the lock names it.
    holder=$(lock_pid)
    if [ -n "$holder" ] && tr '\0' ' ' 2>/dev/null <"/proc/$holder/cmdline" |
        grep -qF -- "--state-dir $STATE "; then
        kill -KILL "$holder" 2>/dev/null
        wait_until 10 pid_gone "$holder"
    fi
    [ -f "$T/.reps" ] && mapfile -t -O "${#_reps[@]}" _reps <"$T/.reps"
    for r in "${_reps[@]}"; do
        [ -e "/sys/class/net/$r" ] && ip link del "$r" 2>/dev/null
    done
    rm -rf "$T" "$_sf_slot"
}
trap _cleanup EXIT

done_testing() {
    _fd_check
    echo "1..$_n"
    if [ $_failed -ne 0 ] && [ -f "$CTL_LOG" ]; then
        echo "# controller log, its last errors and warnings:"
        grep -E '\] (error|warn):' "$CTL_LOG" | tail -n 20 | diag
        echo "# and its last lines:"
        tail -n 40 "$CTL_LOG" | diag
    fi
    exit 0
}

# qemu_stop RUNDIR: stops the QEMU scripts/run-guest.sh started there (SIGTERM, a
# bounded wait).  The pid is read once: QEMU removes its pid file as it exits.
qemu_stop() {
    local pid
    pid=$(cat "$1/qemu.pid" 2>/dev/null) && [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null &&
        wait_until 10 pid_gone "$pid"
}

# peer_setup: a traffic peer: network namespace $NS with veth end $VB at
# $NET.1/24, the other end $VA in bridge $BR (the caller names them all).
peer_setup() {
    ip netns add "$NS"
    ip link add "$VA" type veth peer name "$VB"
    ip link set "$VB" netns "$NS"
    ip -n "$NS" addr add "$NET.1/24" dev "$VB"
    ip -n "$NS" link set "$VB" up
    ip -n "$NS" link set lo up
    ip link add "$BR" type bridge
    ip link set "$VA" master "$BR"
    ip link set "$VA" up
    ip link set "$BR" up
}

# peer_cleanup: removes what peer_setup made (what is there of it).
peer_cleanup() {
    ip netns del "$NS" 2>/dev/null
    ip link del "$BR" 2>/dev/null
    ip link del "$VA" 2>/dev/null
}

# qemu_guest_missing: why the tests with a QEMU guest cannot run here; empty when they can.
qemu_guest_missing() {
    command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not installed"; return; }
    ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || { echo "no cloud kernel (linux-image-cloud-amd64)"; return; }
    command -v ping >/dev/null || echo "ping not installed"
}

# mig_devices MAC [HOTPLUG OPTIONS...]: a live migration's two devices of ours with the
# guest's MAC, the source's and the destination's, both representors in bridge $BR; sets
# svuid, dvuid (VUIDs) and ssock, dsock (their vhost-user sockets).  Fails (after not_ok)
# when a hotplug fails.
mig_devices() {
    local mac=$1 side; shift
    for side in src dst; do
        vn hotplug -i mlx5_0 -m "$mac" -t 1500 -n 2 -s 256 "$@" >"$T/$side.json" ||
            { not_ok "hotplug the $side device"; diag <"$T/$side.json"; return 1; }
        track_rep "$(jget .sf_rep_net_device <"$T/$side.json")"
        ip link set "$(jget .sf_rep_net_device <"$T/$side.json")" master "$BR"
    done
    svuid=$(jget .vuid <"$T/src.json"); dvuid=$(jget .vuid <"$T/dst.json")
    ssock=$(vn query -u "$svuid" | jget '.devices[0].vhost_socket')
    dsock=$(vn query -u "$dvuid" | jget '.devices[0].vhost_socket')
}

# mig_nic SOCKET MAC [DEVICE OPTIONS]: QEMU's arguments for a virtio-net NIC (id vnmnic0) on
# the vhost-user socket SOCKET; the same on both sides of a migration.
mig_nic() {
    echo -chardev "socket,id=vnmc0,path=$1,reconnect=1" -netdev "vhost-user,id=vnmn0,chardev=vnmc0" \
        -device "virtio-net-pci,netdev=vnmn0,id=vnmnic0,mac=$2,vectors=0${3:-}"
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
    done
}
need_cmd python3 jq
