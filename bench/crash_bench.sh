#!/usr/bin/env bash
# crash_bench.sh - crash-to-first-frame: kill -9 the controller, start it, and
# time until traffic flows again (issue 15).
#
#   bench/crash_bench.sh [-n NDEV] [-r ROUNDS] [-m "client server"]
#                                        (root, hugepages, dpdk-testpmd, jq)
#
# NDEV hotplugged devices (one queue pair, rings of 256), each driven by a
# DPDK virtio-user port.  Debian's DPDK is built with RTE_MAX_ETHPORTS 32, so
# the ports are spread over several testpmd processes: one "echo" testpmd
# (icmpecho, forwarding on core 1) holds the first and the last device; the
# others sit in "idle" testpmds of at most 32 ports each, started in
# interactive mode without forwarding (their ports are started, rings set up,
# no core polls them).  A peer netns pings the first and the last device's
# front-end every 2 ms (two bridges, two subnets, through the representors).
#
# Per round: kill -9 the controller, t0, start it, then
#   ready     the controller answers RPCs (`virtnet health`),
#   all up    every device connected with both rings running (`query -a`),
#   echo 1st  first echo of the first device's front-end after t0,
#   echo last first echo of the last device's front-end after t0
# (echo times from the ping stream's own timestamps, `ping -D`, 2 ms apart;
# "ready", "listen" and "all up" are polled: the time the first successful
# check started, so late by up to one failed check plus 10 ms; a `query -a`
# of 128 devices takes tens of ms, under load more).
#
# Modes (-m):
#   client  devices hotplugged with --vhost-server-path, the virtio-users
#           listen (server=1): the controller reconnects by itself, testpmd is
#           never touched.
#   server  the default mode, virtio-users connect to the controller's sockets.
#           DPDK virtio-user in client mode does not reconnect (docs/datapath.md),
#           so the applications are restarted as an orchestrator would: after
#           the kill -9 the old testpmds are stopped (not timed), and after t0
#           new ones are started as soon as every socket listens again; the
#           figures include their EAL start-up.  ("listen" = every socket there.)
#
# Prints a line per round and the medians (CB_DEBUG=1: also the echoes around t0;
# CB_PERF=FILE: perf record -g of the controller's first 2 s after the start of round 1).
# Run from a configured build tree
# (BUILD=build under the source dir by default).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
NDEV=1 ROUNDS=5 MODES="client server"
while getopts n:r:m: o; do
    case $o in n) NDEV=$OPTARG ;; r) ROUNDS=$OPTARG ;; m) MODES=$OPTARG ;; *) exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "crash_bench: needs root" >&2; exit 77; }
command -v dpdk-testpmd >/dev/null || { echo "crash_bench: dpdk-testpmd missing" >&2; exit 77; }
[ "$NDEV" -ge 1 ] && [ "$NDEV" -le 512 ] || { echo "crash_bench: -n 1..512" >&2; exit 2; }
. "$top/bench/bench_lib.sh"
DAEMON=$BUILD/controller/virtio_net_controller VIRTNET=$BUILD/cli/virtnet
T=$(mktemp -d /tmp/crash-bench.XXXXXX); SOCK=$T/virtnet.sock
ID=$(( $$ % 100000 )); NS=cbns$ID
NET0=10.214.$(( ID % 125 * 2 )) NET1=10.214.$(( ID % 125 * 2 + 1 ))
PORTS_PER_TP=32                 # RTE_MAX_ETHPORTS of Debian's DPDK build
CTL= TPS=() PINGS=() HP_OLD= HP_MOUNTED= FIFO_FD=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
vn() { "$VIRTNET" --socket "$SOCK" "$@"; }
# wait_until SECONDS CMD...: polls CMD every 10 ms (bounded).
wait_until() { local end=$(( $(now_ms) + $1 * 1000 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(now_ms)" -ge $end ] && return 1; sleep 0.01; done; }
# poll_at SECONDS CMD...: like wait_until; prints the time (ms) the successful attempt started
# (the state was read during that attempt: closer than its end, which adds a query's cost).
poll_at() { local end=$(( $(now_ms) + $1 * 1000 )) t; shift
    while :; do t=$(now_ms); "$@" >/dev/null 2>&1 && { echo "$t"; return 0; }
        [ "$(now_ms)" -ge $end ] && return 1; sleep 0.01; done; }
# jq -e succeeds on empty input (jq 1.6): every check reads the reply first.
qa() { local out; out=$(vn query -a 2>/dev/null) && [ -n "$out" ] && printf '%s' "$out"; }
stop_pid() { # PID: SIGINT, then SIGKILL after 10 s
    local p=$1 i
    kill -INT "$p" 2>/dev/null
    for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
}
stop_tps() { local p; for p in "${TPS[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${TPS[@]}"; do stop_pid "$p"; done; TPS=(); }
cleanup() {
    local p
    stop_tps
    for p in "${PINGS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -n "$CTL" ] && kill -KILL "$CTL" 2>/dev/null && wait "$CTL" 2>/dev/null
    [ -f "$T/reps" ] && while read -r r; do ip link del "$r" 2>/dev/null; done <"$T/reps"
    ip netns del "$NS" 2>/dev/null; ip link del "cbb0$ID" 2>/dev/null; ip link del "cbb1$ID" 2>/dev/null
    rm -rf /var/run/dpdk/cb$ID.* /dev/hugepages/cb$ID.*
    bench_hugepages_restore
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Devices: 0..NDEV-1; the echo testpmd has the first and the last, the idle ones the rest.
ECHO_DEVS=(0); [ "$NDEV" -gt 1 ] && ECHO_DEVS+=($(( NDEV - 1 )))
IDLE_DEVS=($(seq 1 $(( NDEV - 2 )) 2>/dev/null))
NTP_IDLE=$(( (${#IDLE_DEVS[@]} + PORTS_PER_TP - 1) / PORTS_PER_TP ))
# mbufs per testpmd: both rings of each port filled (256 + 256), plus caches and slack.
mbufs() { echo $(( $1 * 512 + 4096 )); }
# -m per testpmd (MiB): about 2.5 KiB per mbuf, plus 64 MiB.
mem_of() { echo $(( $(mbufs "$1") * 5 / 2 / 1024 + 64 )); }
HP_NEED=$(( ($(mem_of ${#ECHO_DEVS[@]}) + 8) / 2 ))
for i in $(seq 0 $(( NTP_IDLE - 1 ))); do
    n=$(( ${#IDLE_DEVS[@]} - i * PORTS_PER_TP )); [ "$n" -gt $PORTS_PER_TP ] && n=$PORTS_PER_TP
    HP_NEED=$(( HP_NEED + ($(mem_of "$n") + 8) / 2 ))
done
bench_hugepages "$HP_NEED"
echo "# $NDEV devices, $(( 1 + NTP_IDLE )) testpmd processes, $HP_NEED hugepages of 2 MiB; $(uptime)"

# Idle testpmds read commands from a FIFO nobody writes to (EOF would make them quit).
mkfifo "$T/idle.in"; exec {FIFO_FD}<>"$T/idle.in"

start_ctl() { "$DAEMON" --foreground --config "$T/conf" --state-dir "$T/state" --socket "$SOCK" \
    --provider-lib-dir "$BUILD/providers/.libs" --log-level warning >>"$T/ctl.log" 2>&1 & CTL=$!; }
all_up() { qa | jq -e --argjson n "$NDEV" '[.devices[] | select(.vhost_connected and ([.queues[:2][] | select(.state == "running")] | length == 2))] | length == $n'; }
# all_listening: every device's socket has a listener (/proc/net/unix: flag __SO_ACCEPTCON; a
# socket file left by the killed process has none).
all_listening() {
    [ "$(awk -v d="$T/state/vhost/" '$4 == "00010000" && index($8, d) == 1 {n++} END {print n + 0}' /proc/net/unix)" = "$NDEV" ]
}

ip netns add "$NS"
for k in 0 1; do
    net=NET$k
    ip link add "cbv$k$ID" type veth peer name "cbp$k$ID"; ip link set "cbp$k$ID" netns "$NS"
    ip -n "$NS" addr add "${!net}.1/24" dev "cbp$k$ID"; ip -n "$NS" link set "cbp$k$ID" up
    ip link add "cbb$k$ID" type bridge; ip link set "cbv$k$ID" master "cbb$k$ID"
    ip link set "cbv$k$ID" up; ip link set "cbb$k$ID" up
done
ip -n "$NS" link set lo up

mac_of() { printf '02:00:00:01:%02x:%02x' $(( $1 / 256 )) $(( $1 % 256 )); }
# vdev MODE DEV: the virtio-user port of device DEV.
vdev() { echo "net_virtio_user$2,path=$(cat "$T/sock.$2"),queues=1,queue_size=256,mac=$(mac_of "$2")$([ "$1" = client ] && echo ,server=1)"; }
# start_tps MODE: the echo testpmd and the idle ones.
start_tps() {
    local mode=$1 a=() d i k
    for d in "${ECHO_DEVS[@]}"; do a+=(--vdev "$(vdev "$mode" "$d")"); done
    dpdk-testpmd -l 0,1 --main-lcore 0 --file-prefix="cb$ID.e" -m "$(mem_of ${#ECHO_DEVS[@]})" \
        --single-file-segments --no-pci --no-telemetry --log-level=lib.eal:warning "${a[@]}" -- \
        --forward-mode=icmpecho --auto-start --stats-period 60 \
        --total-num-mbufs="$(mbufs ${#ECHO_DEVS[@]})" </dev/null >>"$T/tp.e.log" 2>&1 &
    TPS+=($!)
    for k in $(seq 0 $(( NTP_IDLE - 1 ))); do
        a=()
        for i in $(seq $(( k * PORTS_PER_TP )) $(( k * PORTS_PER_TP + PORTS_PER_TP - 1 ))); do
            [ "$i" -lt ${#IDLE_DEVS[@]} ] && a+=(--vdev "$(vdev "$mode" "${IDLE_DEVS[$i]}")")
        done
        dpdk-testpmd -l 0,1 --main-lcore 0 --file-prefix="cb$ID.i$k" -m "$(mem_of $(( ${#a[@]} / 2 )))" \
            --single-file-segments --no-pci --no-telemetry --log-level=lib.eal:warning "${a[@]}" -- \
            -i --total-num-mbufs="$(mbufs $(( ${#a[@]} / 2 )))" <"$T/idle.in" >>"$T/tp.i$k.log" 2>&1 &
        TPS+=($!)
    done
}
# first_echo LOG T0_MS: ms from T0 to the first echo in a `ping -D` log after T0 (empty if none).
first_echo() { awk -v t0="$2" -F'[][]' '/bytes from/ { t = $2 * 1000; if (t > t0) { printf "%d\n", t - t0; exit } }' "$1"; }
median() { tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | awk '{a[NR] = $1} END {if (!NR) print "-"; else print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# Devices 0..HP-1 are hotplugged PFs (31 hotplug ports at most), HP..NDEV-1 a static PF and its
# VFs (the static functions' client-mode sockets: vhost_server_path_prefix + VUID + .sock).
HP=$(( NDEV < 31 ? NDEV : 31 )) PFS=0 VFS=0
[ "$NDEV" -gt 31 ] && PFS=1 VFS=$(( NDEV - 32 ))
write_conf() { # MODE
    local pre=; [ "$1" = client ] && pre="\"vhost_server_path_prefix\": \"$T/fe-\", "
    cat >"$T/conf" <<CONF
{ "static_pf": { ${pre}"mac_base": "CC:48:15:ED:00:00" },
  "vf": { ${pre}"mac_base": "CC:48:15:EE:00:00", "vfs_per_pf": $VFS },
  "emulation": { "hotplug_ports": $HP, "num_pf": $PFS, "num_vf": $VFS,
                 "num_msix": 4, "pf_total_sf": 600, "serial": "CB$ID" } }
CONF
}
# static_socks: the static functions' sockets and representors (devices HP..NDEV-1).
static_socks() {
    local i=$HP vuid
    for vuid in $(vn query -a -b | jq -r '.devices[] | select(.device_type == "static" or .device_type == "vf") | .vuid'); do
        [ "$i" -lt "$NDEV" ] || break
        vn query -u "$vuid" -b | jq -r '.devices[0].vhost_socket' >"$T/sock.$i"
        vn query -u "$vuid" -b | jq -r '.devices[0].sf_rep_net_device' | tee "$T/rep.$i" >>"$T/reps"
        i=$(( i + 1 ))
    done
    [ "$i" = "$NDEV" ] || { echo "crash_bench: $(( i - HP )) static functions, $(( NDEV - HP )) wanted" >&2; exit 1; }
}

run_mode() { # client|server
    local mode=$1 i a r t0 t_ready t_listen t_up e0 e1 R_READY= R_LISTEN= R_UP= R_E0= R_E1= t
    : >"$T/reps"; rm -rf "$T/state"
    write_conf "$mode"
    start_ctl; wait_until 30 vn health || { echo "controller did not start"; cat "$T/ctl.log"; exit 1; }
    [ "$NDEV" -gt "$HP" ] && static_socks
    if [ "$mode" = client ]; then
        for i in $(seq 0 $((HP - 1))); do echo "$T/fe$i.sock" >"$T/sock.$i"; done
        start_tps client
    fi
    for i in $(seq 0 $((HP - 1))); do
        a=(-m "02:00:00:00:$(printf %02x $((i / 256))):$(printf %02x $((i % 256)))" -t 1500 -n 2 -s 256 -u $((20000 + i)))
        [ "$mode" = client ] && a+=(--vhost-server-path "$T/fe$i.sock")
        vn hotplug -i mlx5_0 "${a[@]}" >"$T/hp.json" || { echo "hotplug $i failed"; exit 1; }
        jq -r .sf_rep_net_device <"$T/hp.json" | tee "$T/rep.$i" >>"$T/reps"
        [ "$mode" = server ] && vn query -u "$(jq -r .vuid <"$T/hp.json")" -b | jq -r '.devices[0].vhost_socket' >"$T/sock.$i"
    done
    [ "$mode" = server ] && start_tps server
    ip link set "$(cat "$T/rep.0")" master "cbb0$ID"; ip link set "$(cat "$T/rep.0")" up
    if [ "$NDEV" -gt 1 ]; then
        ip link set "$(cat "$T/rep.$((NDEV - 1))")" master "cbb1$ID"; ip link set "$(cat "$T/rep.$((NDEV - 1))")" up
    fi
    wait_until 180 all_up || { echo "$mode: devices did not come up"; tail -n 5 "$T"/tp.*.log; exit 1; }
    wait_until 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET0.2" || { echo "$mode: no echo (first)"; exit 1; }
    [ "$NDEV" -gt 1 ] && { wait_until 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET1.2" || { echo "$mode: no echo (last)"; exit 1; }; }
    for r in $(seq 1 "$ROUNDS"); do
        # Ping streams (2 ms) from before the kill; echo times from their own timestamps.
        PINGS=()
        ip netns exec "$NS" stdbuf -oL ping -D -i 0.002 -W 1 "$NET0.2" >"$T/ping0.$r" 2>&1 & PINGS+=($!)
        [ "$NDEV" -gt 1 ] && { ip netns exec "$NS" stdbuf -oL ping -D -i 0.002 -W 1 "$NET1.2" >"$T/ping1.$r" 2>&1 & PINGS+=($!); }
        sleep 0.5
        kill -KILL "$CTL"; wait "$CTL" 2>/dev/null
        [ "$mode" = server ] && stop_tps
        t0=$(now_ms); start_ctl
        # CB_PERF=FILE: a profile (perf record -g) of the controller's first 2 s in round 1.
        [ -n "${CB_PERF:-}" ] && [ "$r" = 1 ] && { perf record -q -F 4999 -g -o "$CB_PERF.$mode" -p "$CTL" -- sleep 2 >/dev/null 2>&1 & }
        t=$(poll_at 60 vn health) || { echo "round $r: controller did not start"; tail -n 20 "$T/ctl.log"; exit 1; }
        t_ready=$(( t - t0 )); t_listen=-
        if [ "$mode" = server ]; then
            t=$(poll_at 60 all_listening) || { echo "round $r: sockets not back"; exit 1; }
            t_listen=$(( t - t0 ))
            start_tps server
        fi
        t=$(poll_at 180 all_up) || { echo "round $r: not up"; qa | jq -c '[.devices[] | select(.vhost_connected | not) | .vuid]' | head -c 400; exit 1; }
        t_up=$(( t - t0 ))
        e0= e1=
        for t in $(seq 600); do   # up to 30 s for the echoes
            [ -z "$e0" ] && e0=$(first_echo "$T/ping0.$r" "$t0")
            [ -z "$e1" ] && { [ "$NDEV" -gt 1 ] && e1=$(first_echo "$T/ping1.$r" "$t0") || e1=$e0; }
            [ -n "$e0" ] && [ -n "$e1" ] && break
            sleep 0.05
        done
        for p in "${PINGS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; PINGS=()
        [ -n "${CB_DEBUG:-}" ] && for f in "$T"/ping?.$r; do echo "$f t0=$t0"; awk -v t0="$t0" -F"[][]" '/bytes from/ && $2*1000 > t0 - 20' "$f" | head -n 4; done
        printf '%s ndev=%d round %d: ready %d ms, listen %s ms, all up %d ms, echo first dev %s ms, echo last dev %s ms\n' \
            "$mode" "$NDEV" "$r" "$t_ready" "$t_listen" "$t_up" "${e0:--}" "${e1:--}"
        R_READY+="$t_ready " R_LISTEN+="$t_listen " R_UP+="$t_up " R_E0+="${e0:-} " R_E1+="${e1:-} "
    done
    printf '%s ndev=%d median of %d: ready %s ms, listen %s ms, all up %s ms, echo first dev %s ms, echo last dev %s ms  (%s)\n' \
        "$mode" "$NDEV" "$ROUNDS" "$(median <<<"$R_READY")" "$(median <<<"$R_LISTEN")" "$(median <<<"$R_UP")" \
        "$(median <<<"$R_E0")" "$(median <<<"$R_E1")" "$(uptime | sed 's/.*load/load/')"
    stop_tps
    kill -KILL "$CTL"; wait "$CTL" 2>/dev/null; CTL=
    while read -r r; do ip link del "$r" 2>/dev/null; done <"$T/reps"; : >"$T/reps"
    rm -f "$T"/sock.* "$T"/fe*.sock "$T"/ping*.*
}
for m in $MODES; do run_mode "$m"; done
