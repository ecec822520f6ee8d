#!/usr/bin/env bash
# update_bench.sh - live update benchmark (issue 6): per-device downtime
# (p50/p99: the old process stops a device's rings -> the new one runs them,
# CLOCK_MONOTONIC in both) and total `virtnet update -s` time for 1, 32 and
# 128 devices, with DPDK testpmd's virtio-user (icmpecho) attached to one
# device and a network namespace pinging it; echoes lost are counted.  Then
# the crash case: kill -9, start again, time from start to the first echo
# answered through a re-attached virtio-user.
# Run as root from a built tree:  bench/update_bench.sh [-b BUILD_DIR] [-r ROUNDS]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build ROUNDS=5
while getopts "b:r:h" o; do
    case $o in
        b) B=$OPTARG ;;
        r) ROUNDS=$OPTARG ;;
        *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
D=$B/controller/virtio_net_controller V=$B/cli/virtnet
[ "$(id -u)" -eq 0 ] || { echo "update_bench: needs root" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "update_bench: needs dpdk-testpmd" >&2; exit 2; }
W=$(mktemp -d /tmp/vn-upd-bench.XXXXXX)
ID=$$ NS=vnub$ID BR=vnubr$ID VA=vnuba$ID VB=vnubb$ID NET=10.214.$(( ID % 250 ))
CTL= TP= HP_OLD=
cleanup() {
    [ -n "$TP" ] && kill -INT "$TP" 2>/dev/null && wait "$TP" 2>/dev/null
    CTL=$(cat "$W/st/virtio_net_controller.lock" 2>/dev/null)
    [ -n "$CTL" ] && kill -TERM "$CTL" 2>/dev/null
    for _ in $(seq 100); do [ -n "$CTL" ] && kill -0 "$CTL" 2>/dev/null && sleep 0.1; done
    ip netns del "$NS" 2>/dev/null; ip link del "$BR" 2>/dev/null; ip link del "$VA" 2>/dev/null
    for r in $(cat "$W/reps" 2>/dev/null); do ip link del "$r" 2>/dev/null; done
    rm -rf "/var/run/dpdk/vnub$ID" "$W"
    [ -n "$HP_OLD" ] && echo "$HP_OLD" >/proc/sys/vm/nr_hugepages
}
trap cleanup EXIT
trap 'exit 1' INT TERM
wait_for() { local n=$(( $1 * 10 )); shift; while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
pct() { sort -g | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; print a[i]}'; }
vn() { "$V" --socket "$W/s.sock" "$@"; }

mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
free_hp=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
[ "$free_hp" -ge 160 ] || { HP_OLD=$(cat /proc/sys/vm/nr_hugepages); echo $((HP_OLD + 160 - free_hp)) >/proc/sys/vm/nr_hugepages; }
ip netns add "$NS"; ip link add "$VA" type veth peer name "$VB"; ip link set "$VB" netns "$NS"
ip -n "$NS" addr add "$NET.1/24" dev "$VB"; ip -n "$NS" link set "$VB" up
ip link add "$BR" type bridge; ip link set "$VA" master "$BR"; ip link set "$VA" up; ip link set "$BR" up

start_ctl() {
    "$D" --config "$W/virtnet.conf" --state-dir "$W/st" --socket "$W/s.sock" \
        --provider-lib-dir "$B/providers/.libs" --update-binary "$D" --log-level warning 2>>"$W/ctl.log" ||
        { echo "update_bench: controller did not start" >&2; cat "$W/ctl.log" >&2; exit 1; }
}
testpmd_attach() {
    local sock
    sock=$(vn query -u "$VUID" -b | jq -r '.devices[0].vhost_socket')
    dpdk-testpmd -l 0,1 --main-lcore 1 --file-prefix=vnub$ID -m 256 --single-file-segments --no-pci \
        --vdev "net_virtio_user0,path=$sock,queues=1,mac=02:00:00:00:0c:0a" -- --forward-mode=icmpecho \
        --auto-start --stats-period 1 --total-num-mbufs=16384 </dev/null >"$W/tp.log" 2>&1 &
    TP=$!
}

# run N: N devices (31 hotplug ports at most: the rest are static PFs' VFs), ROUNDS updates.
run() {
    local n=$1 hp pfs=0 vfs=0 i
    hp=$(( n < 31 ? n : 31 ))
    if [ "$n" -gt 31 ]; then pfs=1 vfs=$(( n - 32 )); fi
    rm -rf "$W/st"; mkdir -p "$W/st"
    cat >"$W/virtnet.conf" <<CONF
{ "vf": { "mac_base": "CC:48:15:EE:00:00", "vfs_per_pf": $vfs },
  "emulation": { "hotplug_ports": 31, "num_pf": $pfs, "num_vf": $(( vfs > 0 ? vfs : 0 )),
                 "num_msix": 4, "pf_total_sf": 600, "serial": "UB$ID" } }
CONF
    start_ctl
    for i in $(seq 0 $((hp - 1))); do
        vn hotplug -i mlx5_0 -m "02:00:00:00:0c:$(printf %02x $i)" -t 1500 -n 2 -s 256 \
            -u $(( 50000 + i )) >"$W/hp.json" || exit 1
        jq -r .sf_rep_net_device "$W/hp.json" >>"$W/reps"
        [ "$i" -eq 0 ] && VUID=$(jq -r .vuid "$W/hp.json")
    done
    vn query -a -b | jq -r '.devices[].sf_rep_net_device // empty' >>"$W/reps"
    ip link set "$(vn query -u "$VUID" -b | jq -r '.devices[0].sf_rep_net_device')" master "$BR"
    testpmd_attach
    wait_for 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET.2" || { echo "no traffic" >&2; exit 1; }
    : >"$W/down" ; : >"$W/total"
    for r in $(seq "$ROUNDS"); do
        ip netns exec "$NS" ping -q -i 0.005 -c 600 -W 1 "$NET.2" >"$W/ping.$r" 2>&1 &
        local pp=$!
        sleep 1
        vn update -s -w >"$W/u.json" || { echo "update failed" >&2; cat "$W/u.json" >&2; exit 1; }
        jq -r '.devices[]."downtime (ms)"' "$W/u.json" >>"$W/down"
        jq -r '."time_used (s)" * 1000' "$W/u.json" >>"$W/total"
        wait "$pp"
    done
    local lost
    lost=$(cat "$W"/ping.* | awk '/packets transmitted/ {t += $1; r += $4} END {print t - r " of " t}')
    printf '%5d devices: downtime p50 %.3f ms, p99 %.3f ms; update total p50 %.1f ms, max %.1f ms; echoes lost %s\n' \
        "$n" "$(pct 50 <"$W/down")" "$(pct 99 <"$W/down")" "$(pct 50 <"$W/total")" "$(pct 100 <"$W/total")" "$lost"
    rm -f "$W"/ping.*
    kill -INT "$TP"; wait "$TP" 2>/dev/null; TP=
    if [ "$n" = "${LAST:-}" ]; then crash; fi
    CTL=$(cat "$W/st/virtio_net_controller.lock")
    kill -TERM "$CTL"; wait_for 20 sh -c "! kill -0 $CTL"
}

# crash: kill -9, start again, first echo through a re-attached virtio-user.
crash() {
    local t0 t1 c
    c=$(cat "$W/st/virtio_net_controller.lock")
    kill -KILL "$c"; wait_for 10 sh -c "! kill -0 $c"
    t0=$(date +%s%N)
    start_ctl
    testpmd_attach
    wait_for 30 ip netns exec "$NS" ping -c 1 -W 1 "$NET.2"
    t1=$(date +%s%N)
    printf '%5s crash: kill -9, start, first echo after %d ms\n' "" $(( (t1 - t0) / 1000000 ))
    kill -INT "$TP"; wait "$TP" 2>/dev/null; TP=
}

LAST=128
for n in 1 32 128; do run "$n"; done
