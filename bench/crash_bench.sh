#!/usr/bin/env bash
# crash_bench.sh - crash-to-first-frame: kill -9 the controller, start it, and
# time until traffic flows again (issue 15).
#
#   bench/crash_bench.sh [-n NDEV] [-r ROUNDS]     (root, hugepages, dpdk-testpmd)
#
# Client mode: one testpmd listens (server=1) on NDEV virtio-user ports
# (icmpecho), NDEV devices hotplugged with --vhost-server-path connect to
# them; a peer netns pings device 0's front-end through a bridge and its
# representor.  Per round: kill -9 -> start -> (a) every device connected
# with its rings running, (b) first echo answered.  Server mode: the same
# devices without --vhost-server-path; DPDK virtio-user cannot reconnect to a
# server (see docs/datapath.md), so the figure is kill -9 -> start -> every
# socket listening again (what QEMU's reconnect= waits for).
# Run from a configured build tree: BUILD=build (default) under the source dir.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
NDEV=1 ROUNDS=5
while getopts n:r: o; do
    case $o in n) NDEV=$OPTARG ;; r) ROUNDS=$OPTARG ;; *) exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "crash_bench: needs root" >&2; exit 77; }
command -v dpdk-testpmd >/dev/null || { echo "crash_bench: dpdk-testpmd missing" >&2; exit 77; }
DAEMON=$BUILD/controller/virtio_net_controller VIRTNET=$BUILD/cli/virtnet
T=$(mktemp -d /tmp/crash-bench.XXXXXX); SOCK=$T/virtnet.sock
ID=$(( $$ % 100000 )); NS=cbns$ID BR=cbbr$ID VA=cbva$ID VB=cbvb$ID NET=10.214.$(( ID % 250 ))
CTL= TP= HP_OLD=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
vn() { "$VIRTNET" --socket "$SOCK" "$@"; }
wait_until() { local end=$(( $(now_ms) + $1 * 1000 )); shift
    until "$@" >/dev/null 2>&1; do [ "$(now_ms)" -ge $end ] && return 1; sleep 0.01; done; }
cleanup() {
    [ -n "$TP" ] && kill -INT "$TP" 2>/dev/null && wait "$TP" 2>/dev/null
    [ -n "$CTL" ] && kill -KILL "$CTL" 2>/dev/null && wait "$CTL" 2>/dev/null
    for f in "$T"/reps; do [ -f "$f" ] && while read -r r; do ip link del "$r" 2>/dev/null; done <"$f"; done
    ip netns del "$NS" 2>/dev/null; ip link del "$BR" 2>/dev/null
    [ -n "$HP_OLD" ] && echo "$HP_OLD" >/proc/sys/vm/nr_hugepages
    rm -rf "$T" "/var/run/dpdk/cb$ID"
}
trap cleanup EXIT
mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
[ "$free" -ge 200 ] || { HP_OLD=$(cat /proc/sys/vm/nr_hugepages); echo $(( HP_OLD + 200 - free )) >/proc/sys/vm/nr_hugepages; }
echo "{ \"emulation\": { \"hotplug_ports\": $NDEV, \"serial\": \"CB$ID\" } }" >"$T/conf"
start_ctl() { "$DAEMON" --foreground --config "$T/conf" --state-dir "$T/state" --socket "$SOCK" \
    --provider-lib-dir "$BUILD/providers/.libs" >>"$T/ctl.log" 2>&1 & CTL=$!; }
all_up() { vn query -a | jq -e --argjson n "$NDEV" '[.devices[] | select(.vhost_connected and ([.queues[:2][] | select(.state == "running")] | length == 2))] | length == $n'; }
all_listening() { local s; for s in $(vn query -a | jq -r '.devices[].vhost_socket'); do [ -S "$s" ] || return 1; done; }
ip netns add "$NS"; ip link add "$VA" type veth peer name "$VB"; ip link set "$VB" netns "$NS"
ip -n "$NS" addr add "$NET.1/24" dev "$VB"; ip -n "$NS" link set "$VB" up
ip link add "$BR" type bridge; ip link set "$VA" master "$BR"; ip link set "$VA" up; ip link set "$BR" up

run_mode() { # client|server
    local mode=$1 vdevs=() i a t0 t_up t_echo sum_up=0 sum_echo=0 r
    start_ctl; wait_until 20 vn health || { echo "controller did not start"; exit 1; }
    for i in $(seq 0 $((NDEV - 1))); do
        a=(-m "02:00:00:00:$(printf %02x $((i / 256))):$(printf %02x $((i % 256)))" -t 1500 -n 2 -s 256 -u $((20000 + i)))
        [ "$mode" = client ] && a+=(--vhost-server-path "$T/fe$i.sock")
        vn hotplug -i mlx5_0 "${a[@]}" >"$T/hp.json" || exit 1
        jq -r .sf_rep_net_device <"$T/hp.json" >>"$T/reps"
        sock=$T/fe$i.sock; [ "$mode" = server ] && sock=$(vn query -u "$(jq -r .vuid <"$T/hp.json")" | jq -r '.devices[0].vhost_socket')
        vdevs+=(--vdev "net_virtio_user$i,path=$sock,queues=1,mac=02:00:00:01:$(printf %02x $((i / 256))):$(printf %02x $((i % 256)))$([ "$mode" = client ] && echo ,server=1)")
    done
    rep0=$(head -1 "$T/reps"); ip link set "$rep0" master "$BR"; ip link set "$rep0" up
    dpdk-testpmd -l 0,1 --main-lcore 1 --file-prefix="cb$ID" -m 256 --single-file-segments --no-pci "${vdevs[@]}" -- \
        --forward-mode=icmpecho --auto-start --stats-period 60 --total-num-mbufs=16384 </dev/null >"$T/tp.log" 2>&1 & TP=$!
    wait_until 60 all_up || { echo "$mode: devices did not come up"; tail "$T/tp.log"; exit 1; }
    wait_until 20 ip netns exec "$NS" ping -c 1 -W 1 "$NET.2" || { echo "$mode: no echo"; exit 1; }
    for r in $(seq 1 "$ROUNDS"); do
        kill -KILL "$CTL"; wait "$CTL" 2>/dev/null
        t0=$(now_ms); start_ctl
        if [ "$mode" = client ]; then
            wait_until 60 all_up || { echo "round $r: not up"; exit 1; }; t_up=$(( $(now_ms) - t0 ))
            wait_until 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET.2" || { echo "round $r: no echo"; exit 1; }
            t_echo=$(( $(now_ms) - t0 ))
        else
            wait_until 60 sh -c "'$VIRTNET' --socket '$SOCK' health" && wait_until 60 all_listening || exit 1
            t_up=$(( $(now_ms) - t0 )); t_echo=-
        fi
        echo "$mode ndev=$NDEV round $r: all up ${t_up} ms, first echo ${t_echo} ms"
        sum_up=$((sum_up + t_up)); [ "$t_echo" != - ] && sum_echo=$((sum_echo + t_echo))
    done
    echo "$mode ndev=$NDEV mean of $ROUNDS: all up $((sum_up / ROUNDS)) ms$([ "$mode" = client ] && echo ", first echo $((sum_echo / ROUNDS)) ms")"
    kill -INT "$TP"; wait "$TP" 2>/dev/null; TP=
    kill -KILL "$CTL"; wait "$CTL" 2>/dev/null; CTL=
    while read -r r; do ip link del "$r" 2>/dev/null; done <"$T/reps"; : >"$T/reps"; rm -rf "$T/state"
}
run_mode client
run_mode server
