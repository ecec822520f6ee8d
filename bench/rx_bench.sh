#!/bin/bash
# rx_bench.sh - the receive direction (representor -> guest) measured on the
# back-end: its CPU cost per frame at fixed offered rates, ours (the sw
# provider) and DPDK's vhost PMD side by side in one run (issue 14).
#
# dp_bench.sh's rx case is bound by its source and its polling consumer
# sharing one core (both back-ends held to what the source gets offered, an
# unpaced source that never sleeps).  Here the source is paced (`dp_floor
# source REP SIZE SECONDS PPS`: AF_PACKET out of the representor, a burst of
# 32 at absolute deadlines, sleeping in between) and what is measured is the
# back-end's CPU time, not throughput.  Layouts (-l):
#
#   alone   (default) core 0: the back-end alone; core 1: the consumer, DPDK
#           virtio-user `rxonly` (testpmd's forwarding lcore; its main lcore
#           sleeps on core 0), and the paced source, which wakes, sends a
#           burst (tens of us) and sleeps: the back-end's CPU time is its own.
#   shared  core 0: the back-end and the source; core 1: the consumer alone.
#           The back-end's thread is interleaved with the source's bursts
#           (wake-ups, context switches, caches): closer to a busy DPU core.
#
# Back-ends: "ours" = virtio_net_controller (sw provider, one worker thread
# `vn-sw-0`, pinned to core 0), one hotplugged device, split rings of 1024;
# "dpdk" = dpdk-testpmd --vdev net_vhost0 --vdev net_tap0 --forward-mode=io
# (forwarding lcore on core 0, `--record-core-cycles`), the peer dp_bench.sh
# compares with; the same virtio-user and ring size for both.
#
# Per case (back-end, frame size, offered rate), over DURATION seconds after
# 2 s of warm-up:
#   taken      frames the back-end took from the tap (the representor's
#              tx_packets; tx_dropped would be frames the tap refused),
#   delivered  of the frames the tap took while the source ran, the share the
#              consumer received (its RX-packets at exit: nothing else sends),
#   be_cpu     CPU time of the back-end's datapath thread
#              (/proc/PID/task/TID/schedstat, ns on CPU) in % of a core,
#   waited     the time that thread was runnable but waiting for a CPU, in %
#              (other work on its core: a back-end that waits is not measured
#              alone; the figure says how much),
#   ns/frame   be_cpu time / frames taken: the whole cost of carrying the
#              rate, polling included,
#   src ns/f   the source's CPU per frame (for scale),
#   f/round    ours only: frames per worker round that moved any (the receive
#              queue's total_packets / batch_number over the window),
#   dpdk busy  DPDK only: testpmd's own busy cycles per packet (cycles of
#              forwarding iterations that moved packets, empty polls excluded),
#              in ns at the TSC rate it reports.
# DPDK's PMD polls: its thread is on CPU ~100% whatever the rate, so its
# ns/frame is a core divided by the rate; "dpdk busy" is its cost for the work
# alone.  Ours sleeps when idle but polls SW_BUSY_POLL_US (50 us) after each
# round that moved frames: at a rate whose bursts come less than 50 us apart
# it never sleeps either.  Rate "max": the source unpaced (it then shares its
# core with a poller by the scheduler's time slices: that row measures the
# layout, not the back-end; see dp_bench.sh).
#
# RX_PERF=FILE: perf record -g of the back-end's thread over each window
# (FILE.BACKEND.SIZE.RATE; RX_PERF_ARGS replaces "record -q -g", e.g. "stat -e ...").
#
# Usage: bench/rx_bench.sh [-b BUILD_DIR] [-d SECONDS] [-s "SIZES"] [-p "RATES_PPS"] [-r ROUNDS]
#                          [-q RING_SIZE] [-l alone|shared]
# (root, dpdk-testpmd, hugepages; run from a configured build tree).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$top/build DUR=5 SIZES="64 1500" RATES="50000 200000" ROUNDS=3 QSIZE=1024 LAYOUT=alone
while getopts "b:d:s:p:r:q:l:h" o; do
    case $o in
        b) BUILD=$OPTARG ;;
        d) DUR=$OPTARG ;;
        s) SIZES=$OPTARG ;;
        p) RATES=$OPTARG ;;
        r) ROUNDS=$OPTARG ;;
        q) QSIZE=$OPTARG ;;
        l) LAYOUT=$OPTARG ;;
        *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
CTL=$BUILD/controller/virtio_net_controller VIRTNET=$BUILD/cli/virtnet FLOOR=$BUILD/bench/dp_floor
for f in "$CTL" "$VIRTNET" "$FLOOR"; do [ -x "$f" ] || { echo "rx_bench: $f not built" >&2; exit 2; }; done
case $LAYOUT in alone) SRC_CORE=1 ;; shared) SRC_CORE=0 ;; *) echo "rx_bench: -l alone|shared" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "rx_bench: needs root" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "rx_bench: dpdk-testpmd not installed" >&2; exit 2; }

. "$top/bench/bench_lib.sh"
W=$(mktemp -d /tmp/rx_bench.XXXXXX)
ID=$$ PIDS=() HP_OLD= HP_MOUNTED= OURS_REP= CTL_PID=
DTAP=vnrd$ID
cleanup() {
    bench_stop_all
    [ -n "$OURS_REP" ] && ip link del "$OURS_REP" 2>/dev/null
    rm -rf /var/run/dpdk/vnrb$ID /var/run/dpdk/vnrf$ID /dev/hugepages/vnrb$ID* /dev/hugepages/vnrf$ID*
    bench_hugepages_restore
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Hugepages: two testpmd processes of -m 256.
bench_hugepages 280

oncpu_proc() { awk '{print $1}' "/proc/$1/schedstat"; }
stat_of() { cat "/sys/class/net/$1/statistics/$2"; }
# rxq_stat: ours' receive queue (VQ 0): "frames rounds" (total_packets, batch_number: the
# worker's rounds that moved at least one frame).
rxq_stat() { "$VIRTNET" --socket "$W/ctl/s.sock" stats -u "$OURS_VUID" |
    jq -r '.device."queues-stats"[] | select(."VQ Index" == 0) | "\(.total_packets) \(.batch_number)"'; }

ours_start() {
    ctl_start "$BUILD" "$W/ctl" "RXB$ID" 1
    read -r OURS_REP OURS_SOCK OURS_VUID < <(ctl_hotplug "$BUILD" "$W/ctl" 02:00:00:00:0d:01 $(( 70000 + ID % 9000 )) $QSIZE)
    [ -n "${OURS_VUID:-}" ] || { echo "rx_bench: hotplug failed" >&2; exit 1; }
    ip link set "$OURS_REP" up
}
dpdk_start() {
    rm -f "$W/dpdk.sock"
    testpmd vnrb$ID 1 "$W/be.log" --vdev "net_vhost0,iface=$W/dpdk.sock,queues=1" \
        --vdev "net_tap0,iface=$DTAP" -- --forward-mode=io --auto-start --stats-period 1 \
        --total-num-mbufs=8192 --record-core-cycles
    BE_PID=${PIDS[-1]}
    wait_for 20 test -S "$W/dpdk.sock" && wait_for 20 ip link show "$DTAP" >/dev/null || {
        echo "rx_bench: DPDK back-end did not start" >&2; cat "$W/be.log" >&2; exit 1; }
    ip link set "$DTAP" up
}

declare -A R
# run BACKEND SIZE RATE
run() {
    local be=$1 size=$2 rate=$3 rep sock fe src bpid btid pps=0 c0 c1 q0 q1 s0 s1 b0= b1= fpr=- t0 t1 x0 x1 d0 d1 out
    local taken delivered cpu nsf srcf busy=- xs xe
    [ "$rate" = max ] || pps=$rate
    case $be in
    ours) rep=$OURS_REP sock=$OURS_SOCK bpid=$CTL_PID
          btid=$(tid_of "$CTL_PID" vn-sw-0) || { echo "rx_bench: no vn-sw-0 thread" >&2; exit 1; } ;;
    dpdk) dpdk_start; rep=$DTAP sock=$W/dpdk.sock bpid=$BE_PID
          wait_for 10 tid_of "$BE_PID" rte-worker-0 >/dev/null
          btid=$(tid_of "$BE_PID" rte-worker-0) || { echo "rx_bench: no rte-worker-0 thread" >&2; exit 1; } ;;
    esac
    testpmd vnrf$ID 0 "$W/fe.log" --vdev "net_virtio_user0,path=$sock,queues=1,queue_size=$QSIZE" -- \
        --forward-mode=rxonly --auto-start --stats-period 1 --total-num-mbufs=16384 --rxd=$QSIZE --txd=$QSIZE
    fe=${PIDS[-1]}
    wait_for 20 grep -q "Rx-pps" "$W/fe.log" || { echo "rx_bench: the consumer did not start" >&2; cat "$W/fe.log" >&2; exit 1; }
    xs=$(stat_of "$rep" tx_packets)
    taskset -c $SRC_CORE "$FLOOR" source "$rep" "$size" $(( DUR + 3 )) $pps >"$W/src.out" &
    src=$!; PIDS+=($src)
    sleep 2
    [ "$be" = ours ] && b0=$(rxq_stat)
    c0=$(oncpu "$bpid" "$btid"); q0=$(rqwait "$bpid" "$btid"); s0=$(oncpu_proc "$src"); x0=$(stat_of "$rep" tx_packets); d0=$(stat_of "$rep" tx_dropped)
    t0=$(date +%s%N)
    if [ -n "${RX_PERF:-}" ]; then
        perf ${RX_PERF_ARGS:-record -q -g} -t "$btid" -o "$RX_PERF.$be.$size.$rate" -- sleep "$DUR" >/dev/null 2>&1
    else
        sleep "$DUR"
    fi
    c1=$(oncpu "$bpid" "$btid"); q1=$(rqwait "$bpid" "$btid"); s1=$(oncpu_proc "$src")
    x1=$(stat_of "$rep" tx_packets); d1=$(stat_of "$rep" tx_dropped)
    [ "$be" = ours ] && b1=$(rxq_stat)
    t1=$(date +%s%N)
    wait "$src"; stop "$src"
    sleep 0.5
    xe=$(stat_of "$rep" tx_packets)
    stop "$fe"
    # testpmd's totals at exit: "RX-packets: N" (the port's, then all ports' alike).
    delivered=$(grep -o 'RX-packets: *[0-9]*' "$W/fe.log" | tail -n 1 | awk -v t=$(( xe - xs )) '{ printf "%.1f", (t > 0 ? 100 * $2 / t : 0) }')
    if [ "$be" = dpdk ]; then
        stop "$BE_PID"
        # "CPU cycles/packet=N (busy cycles=...) at M MHz Clock": the rx stream (tap -> vhost) moved them all.
        busy=$(grep -o 'CPU cycles/packet=[0-9.]*.* at [0-9]* MHz' "$W/be.log" | tail -n 1 |
            sed 's/CPU cycles\/packet=\([0-9.]*\).* at \([0-9]*\) MHz/\1 \2/' | awk '{ if ($2 > 0) printf "%.1f", $1 * 1000 / $2; else print "-" }')
        [ -n "$busy" ] || busy=-
    fi
    taken=$(( x1 - x0 ))
    [ -n "$b0" ] && [ -n "$b1" ] && fpr=$(echo "$b0 $b1" | awk '{ r = $4 - $2; printf "%.1f", (r > 0 ? ($3 - $1) / r : 0) }')
    R[$be-fpr,$size,$rate]+="$fpr "
    cpu=$(echo "($c1 - $c0) * 100 / ($t1 - $t0)" | bc -l)
    nsf=$( [ "$taken" -gt 0 ] && echo "($c1 - $c0) / $taken" | bc -l || echo 0)
    srcf=$( [ "$taken" -gt 0 ] && echo "($s1 - $s0) / $taken" | bc -l || echo 0)
    R[$be,$size,$rate]+="$nsf "
    R[$be-pps,$size,$rate]+="$(echo "$taken * 1000000000 / ($t1 - $t0)" | bc -l) "
    R[$be-cpu,$size,$rate]+="$cpu "
    R[$be-busy,$size,$rate]+="$busy "
    R[$be-wait,$size,$rate]+="$(echo "($q1 - $q0) * 100 / ($t1 - $t0)" | bc -l) "
    printf '%-5s %5s B  %7s pps offered: taken %.3f Mpps (dropped %d), delivered %s%%, back-end %5.1f%% of a core (waited %.1f%%), %7.1f ns/frame, source %6.1f ns/frame, dpdk busy %s ns/frame, ours frames/round %s\n' \
        "$be" "$size" "$rate" "$(echo "$taken * 1000 / ($t1 - $t0)" | bc -l)" $(( d1 - d0 )) \
        "$delivered" "$cpu" "$(echo "($q1 - $q0) * 100 / ($t1 - $t0)" | bc -l)" "$nsf" "$srcf" "$busy" "$fpr"
}
median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk '{a[NR] = $1} END {if (!NR) print "-"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "# layout $LAYOUT (source on core $SRC_CORE); $(uptime)"
ours_start
for round in $(seq "$ROUNDS"); do
    echo "# round $round ($(uptime | sed 's/.*load/load/'))"
    for size in $SIZES; do
        for rate in $RATES; do
            run ours "$size" "$rate"
            run dpdk "$size" "$rate"
        done
    done
done
echo "# $(uptime)"
echo
echo "# medians of $ROUNDS rounds, ${DUR} s each, layout $LAYOUT; ns/frame = back-end thread CPU / frames taken"
printf '%5s %8s %9s %9s %8s %8s %9s %9s %10s %10s %11s %10s %12s\n' size offered ours_Mpps dpdk_Mpps ours_cpu dpdk_cpu ours_wait dpdk_wait ours_ns/f dpdk_ns/f dpdk/ours dpdk_busy ours_f/round
for size in $SIZES; do
    for rate in $RATES; do
        o=$(median <<<"${R[ours,$size,$rate]}") d=$(median <<<"${R[dpdk,$size,$rate]}")
        printf '%5s %8s %9.3f %9.3f %7.1f%% %7.1f%% %8.1f%% %8.1f%% %10.1f %10.1f %11.2f %10s %12s\n' "$size" "$rate" \
            "$(echo "$(median <<<"${R[ours-pps,$size,$rate]}") / 1000000" | bc -l)" \
            "$(echo "$(median <<<"${R[dpdk-pps,$size,$rate]}") / 1000000" | bc -l)" \
            "$(median <<<"${R[ours-cpu,$size,$rate]}")" "$(median <<<"${R[dpdk-cpu,$size,$rate]}")" \
            "$(median <<<"${R[ours-wait,$size,$rate]}")" "$(median <<<"${R[dpdk-wait,$size,$rate]}")" \
            "$o" "$d" "$( [ "$(echo "$o > 0" | bc -l)" = 1 ] && echo "$d / $o" | bc -l || echo 0)" \
            "$(median <<<"${R[dpdk-busy,$size,$rate]}")" "$(median <<<"${R[ours-fpr,$size,$rate]}")"
    done
done
