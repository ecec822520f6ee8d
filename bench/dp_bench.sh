#!/bin/bash
# dp_bench.sh - datapath benchmark: the controller's sw provider against DPDK
# testpmd as the vhost-user back-end, in one run, same topology, same cores,
# plus the floor (bench/dp_floor: no virtio at all, the same kind of tap).
#
#   tx (guest -> representor): DPDK virtio-user txonly -> back-end -> tap;
#      counted as the representor's rx_packets.
#   rx (representor -> guest): frames sent out of the representor over
#      AF_PACKET (dp_floor source: sendmmsg, 64 a call) -> back-end -> DPDK
#      virtio-user rxonly; counted by the virtio-user (its Rx-pps).
#
# Back-ends: "ours" = virtio_net_controller, sw provider, one worker thread;
# "dpdk" = dpdk-testpmd --vdev net_vhost0 --vdev net_tap0 --forward-mode=io.
# Rings (-k): "split", and "packed" (VIRTIO_F_RING_PACKED: a device hotplugged
# with -f 0x400000000, the virtio-user with packed_vq=1; DPDK's vhost PMD
# takes what the virtio-user negotiates): the cases are "ours", "dpdk",
# "ours-packed", "dpdk-packed".
# Cores (the machine this was written on has two): the back-end runs on core
# 0, the virtio-user and the rx source on core 1.  The floor runs on core 0,
# and in rx a spinning process shares core 1 with the source as the polling
# virtio-user does.  Rings: 1024 descriptors (-q), both back-ends.
#
# Base (-B): a second controller built from another commit (its build
# tree, e.g. `git worktree add` + configure + make), run as the case "base"
# next to "ours" on split rings, same device, same cores: is a change in
# "ours" between two runs the code or the machine?  Which of the two runs
# first alternates by round.  In tx, ours and base also give the worker
# thread's CPU time per frame (schedstat of vn-sw-0 / frames received):
# time spent waiting for a CPU is not in it, so load moves it less than a
# rate.  Directions (-x): "tx rx".
#
# Usage: bench/dp_bench.sh [-b BUILD_DIR] [-d SECONDS] [-s "SIZES"] [-r ROUNDS] [-q RING_SIZE]
#                          [-k "split packed"] [-x "tx rx"] [-B BASE_BUILD_DIR]
# Prints one line per case and a summary with ratios; needs root,
# dpdk-testpmd and 2 MiB hugepages (reserved here, given back at the end).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$top/build DUR=5 SIZES="64 1500" ROUNDS=3 QSIZE=1024 RINGS="split packed" DIRS="tx rx" BASE=
while getopts "b:d:s:r:q:k:x:B:h" o; do
    case $o in
        b) BUILD=$OPTARG ;;
        d) DUR=$OPTARG ;;
        s) SIZES=$OPTARG ;;
        r) ROUNDS=$OPTARG ;;
        q) QSIZE=$OPTARG ;;
        k) RINGS=$OPTARG ;;
        x) DIRS=$OPTARG ;;
        B) BASE=$OPTARG ;;
        *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
CTL=$BUILD/controller/virtio_net_controller VIRTNET=$BUILD/cli/virtnet FLOOR=$BUILD/bench/dp_floor
BCTL=${BASE:+$BASE/controller/virtio_net_controller} BVIRTNET=${BASE:+$BASE/cli/virtnet}
for f in "$CTL" "$VIRTNET" "$FLOOR" $BCTL $BVIRTNET; do [ -x "$f" ] || { echo "dp_bench: $f not built" >&2; exit 2; }; done
[ "$(id -u)" -eq 0 ] || { echo "dp_bench: needs root (taps, hugepages)" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "dp_bench: dpdk-testpmd not installed (Debian 12: dpdk-dev, or dpdk before 22.11.11)" >&2; exit 2; }

. "$top/bench/bench_lib.sh"
W=$(mktemp -d /tmp/dp_bench.XXXXXX)
ID=$$ PIDS=() HP_OLD= HP_MOUNTED=
REP=vnbr$ID FTAP=vnbf$ID DTAP=vnbd$ID
cleanup() {
    bench_stop_all
    ip link del "$FTAP" 2>/dev/null
    [ -n "${OURS_REP:-}" ] && ip link del "$OURS_REP" 2>/dev/null
    [ -n "${OURS_REP_PK:-}" ] && ip link del "$OURS_REP_PK" 2>/dev/null
    [ -n "${BASE_REP:-}" ] && ip link del "$BASE_REP" 2>/dev/null
    rm -rf /var/run/dpdk/vnbb$ID /var/run/dpdk/vnbf$ID
    bench_hugepages_restore
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Hugepages: two testpmd processes of -m 256.
bench_hugepages 420

virtio_user() { # SOCKET MODE SIZE [VDEV_EXTRA]
    testpmd vnbf$ID 0 "$W/fe.log" --vdev "net_virtio_user0,path=$1,queues=1,queue_size=$QSIZE${4:-}" -- \
        --forward-mode="$2" --txpkts="$3" --auto-start --stats-period 1 --total-num-mbufs=16384 \
        --rxd=$QSIZE --txd=$QSIZE
}
rx_source() { # IFACE SIZE: frames sent into the representor from the host side, on core 1
    taskset -c 1 "$FLOOR" source "$1" "$2" $(( DUR + 4 )) >"$W/src.out" &
    PIDS+=($!)
}
offered() { awk '{printf "(source offered %.3f Mpps)", $3}' "$W/src.out"; }
rx_count() { cat "/sys/class/net/$1/statistics/rx_packets"; }
# tap_rate IFACE: Mpps received by the tap's netdev over DUR seconds.
tap_rate() {
    local a b t0 t1
    a=$(rx_count "$1"); t0=$(date +%s.%N)
    sleep "$DUR"
    b=$(rx_count "$1"); t1=$(date +%s.%N)
    echo "($b - $a) / ($t1 - $t0) / 1000000" | bc -l
}

# ---- back-end: ours ------------------------------------------------------------------
ours_start() {
    ctl_start "$BUILD" "$W/ctl" "BENCH$ID" 2
    OURS_PID=$CTL_PID
    read -r OURS_REP OURS_SOCK OURS_VUID < <(ctl_hotplug "$BUILD" "$W/ctl" 02:00:00:00:0b:01 $(( 90000 + ID % 9000 )) $QSIZE)
    # The same device with RING_PACKED offered (a device without it gives packed_vq=1 split rings).
    read -r OURS_REP_PK OURS_SOCK_PK OURS_VUID_PK < <(ctl_hotplug "$BUILD" "$W/ctl" 02:00:00:00:0b:02 \
        $(( 90000 + ID % 9000 + 1 )) $QSIZE -f 0x400000000)
    [ -n "${OURS_VUID:-}" ] && [ -n "${OURS_VUID_PK:-}" ] || { echo "dp_bench: hotplug failed" >&2; exit 1; }
}
# The base controller (-B): one split-ring device, its own state dir, socket and serial.
base_start() {
    ctl_start "$BASE" "$W/base" "BASE$ID" 1
    BASE_PID=$CTL_PID
    read -r BASE_REP BASE_SOCK BASE_VUID < <(ctl_hotplug "$BASE" "$W/base" 02:00:00:00:0c:01 $(( 80000 + ID % 9000 )) $QSIZE)
    [ -n "${BASE_VUID:-}" ] || { echo "dp_bench: hotplug (base) failed" >&2; exit 1; }
}
base_stop() {
    "$BVIRTNET" --socket "$W/base/s.sock" unplug -u "$BASE_VUID" >/dev/null
    stop "$BASE_PID"
}
ours_stop() {
    "$VIRTNET" --socket "$W/ctl/s.sock" unplug -u "$OURS_VUID" >/dev/null
    "$VIRTNET" --socket "$W/ctl/s.sock" unplug -u "$OURS_VUID_PK" >/dev/null
    stop "$OURS_PID"
}
# ring_check BACKEND: ours-packed must have negotiated packed rings (else it measures split).
# (DPDK's vhost PMD offers RING_PACKED by default; testpmd does not print what was negotiated.)
ring_check() {
    [ "$1" = ours-packed ] || return 0
    "$VIRTNET" --socket "$W/ctl/s.sock" query -u "$OURS_VUID_PK" |
        jq -e '.devices[0].negotiated_feature_names | index("VIRTIO_F_RING_PACKED")' >/dev/null ||
        { echo "dp_bench: ours-packed did not negotiate RING_PACKED" >&2; exit 1; }
}
dpdk_start() {
    rm -f "$W/dpdk.sock"
    testpmd vnbb$ID 1 "$W/be.log" --vdev "net_vhost0,iface=$W/dpdk.sock,queues=1" \
        --vdev "net_tap0,iface=$DTAP" -- --forward-mode=io --auto-start --stats-period 1 \
        --total-num-mbufs=8192
    BE_PID=${PIDS[-1]}
    wait_for 20 test -S "$W/dpdk.sock" && wait_for 20 ip link show "$DTAP" >/dev/null || {
        echo "dp_bench: DPDK back-end did not start" >&2; cat "$W/be.log" >&2; exit 1; }
    ip link set "$DTAP" up
}

declare -A R
# run BACKEND DIR SIZE: one measurement into R[BACKEND,DIR,SIZE] (appended per round).
run() {
    local be=$1 dir=$2 size=$3 rep sock rate fe offered= extra= bpid= btid a b t0 t1 c0 c1 nsf cpu=
    # testpmd polls even with nothing attached: the DPDK back-end runs only for its own cases.
    case $be in
    ours) rep=$OURS_REP sock=$OURS_SOCK ;;
    base) rep=$BASE_REP sock=$BASE_SOCK ;;
    ours-packed) rep=$OURS_REP_PK sock=$OURS_SOCK_PK extra=,packed_vq=1 ;;
    dpdk) dpdk_start; rep=$DTAP sock=$W/dpdk.sock ;;
    dpdk-packed) dpdk_start; rep=$DTAP sock=$W/dpdk.sock extra=,packed_vq=1 ;;
    esac
    if [ "$dir" = tx ]; then
        virtio_user "$sock" txonly "$size" "$extra"; fe=${PIDS[-1]}
        sleep 2
        ring_check "$be"
        case $be in ours*) bpid=$OURS_PID ;; base) bpid=$BASE_PID ;; esac
        # Ours and base: also the worker thread's CPU time per frame (a figure the
        # machine's load moves less than a rate: time the thread waited is not in it).
        if [ -n "$bpid" ] && btid=$(tid_of "$bpid" vn-sw-0); then
            a=$(rx_count "$rep"); t0=$(date +%s%N); c0=$(oncpu "$bpid" "$btid")
            sleep "$DUR"
            c1=$(oncpu "$bpid" "$btid"); b=$(rx_count "$rep"); t1=$(date +%s%N)
            rate=$(echo "($b - $a) * 1000 / ($t1 - $t0)" | bc -l)
            [ "$b" -gt "$a" ] && nsf=$(echo "($c1 - $c0) / ($b - $a)" | bc -l) &&
                R[$be-nsf,$dir,$size]+="$nsf " && cpu="($(printf '%.1f' "$nsf") ns of worker CPU a frame)"
        else
            rate=$(tap_rate "$rep")
        fi
    else
        virtio_user "$sock" rxonly 64 "$extra"; fe=${PIDS[-1]}
        wait_for 20 grep -q "Rx-pps" "$W/fe.log"
        ring_check "$be"
        rx_source "$rep" "$size"; local src=${PIDS[-1]}
        sleep $(( 2 + DUR ))
        rate=$(pps_of "$W/fe.log" Rx-pps)
        wait "$src"; stop "$src"
        offered=$(offered)
    fi
    stop "$fe"
    case $be in dpdk*) stop "$BE_PID" ;; esac
    R[$be,$dir,$size]+="$rate "
    printf '%-12s %-2s %5s B  %.3f Mpps %s\n' "$be" "$dir" "$size" "$rate" "${offered:-}$cpu"
}
floor() { # DIR SIZE MODE (uring or syscall)
    local out mode=$3 offered=
    [ "$mode" = syscall ] && { [ "$1" = tx ] && mode=writev || mode=readv; }
    if [ "$1" = tx ]; then
        out=$(taskset -c 0 "$FLOOR" "tx-$mode" "$FTAP" "$2" "$DUR")
    else
        # The virtio cases share core 1 between the source and the polling virtio-user:
        # a spinning process takes the virtio-user's place here.
        taskset -c 1 sh -c 'while :; do :; done' & local spin=$!
        PIDS+=($spin)
        rx_source "$FTAP" "$2"; local src=${PIDS[-1]}
        sleep 2
        out=$(taskset -c 0 "$FLOOR" "rx-$mode" "$FTAP" 9216 "$DUR")
        wait "$src"; stop "$src"
        offered=$(offered)
        stop "$spin"
    fi
    R[floor-$3,$1,$2]+="$(echo "$out" | awk '{print $3}') "
    printf '%-12s %-2s %5s B  %s Mpps %s\n' "floor-$3" "$1" "$2" "$(echo "$out" | awk '{print $3}')" "$offered"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

ip tuntap add mode tap multi_queue vnet_hdr name "$FTAP" && ip link set "$FTAP" up || exit 1
ours_start
[ -n "$BASE" ] && base_start
for round in $(seq "$ROUNDS"); do
    echo "# round $round"
    for size in $SIZES; do
        for dir in $DIRS; do
            for ring in $RINGS; do
                sfx=; [ "$ring" = packed ] && sfx=-packed
                # With a base: which of ours and base goes first alternates by round.
                if [ -n "$BASE" ] && [ "$ring" = split ] && [ $(( round % 2 )) = 0 ]; then
                    run base "$dir" "$size"; run ours "$dir" "$size"
                else
                    run "ours$sfx" "$dir" "$size"
                    [ -n "$BASE" ] && [ "$ring" = split ] && run base "$dir" "$size"
                fi
                run "dpdk$sfx" "$dir" "$size"
            done
            floor "$dir" "$size" uring
            floor "$dir" "$size" syscall
        done
    done
done
ours_stop
[ -n "$BASE" ] && base_stop

echo
echo "# medians of $ROUNDS rounds, ${DUR} s each (Mpps); ratios: ours/dpdk, ours/floor-uring"
printf '%-6s %-2s %6s %8s %8s %12s %14s %10s %12s\n' ring dir size ours dpdk floor-uring floor-syscall ours/dpdk ours/floor
ratio() { [ "$(echo "$2 > 0" | bc -l)" = 1 ] && echo "$1 / $2" | bc -l || echo 0; }
for ring in $RINGS; do
    sfx=; [ "$ring" = packed ] && sfx=-packed
    for size in $SIZES; do
        for dir in $DIRS; do
            o=$(echo "${R[ours$sfx,$dir,$size]}" | median) d=$(echo "${R[dpdk$sfx,$dir,$size]}" | median)
            fu=$(echo "${R[floor-uring,$dir,$size]}" | median) fw=$(echo "${R[floor-syscall,$dir,$size]}" | median)
            printf '%-6s %-2s %6s %8.3f %8.3f %12.3f %14.3f %10.2f %12.2f\n' "$ring" "$dir" "$size" "$o" "$d" \
                "$fu" "$fw" "$(ratio "$o" "$d")" "$(ratio "$o" "$fu")"
        done
    done
done
if [ -n "$BASE" ]; then
    echo
    echo "# ours / base (split rings, same run; base: $BASE); tx: worker CPU ns a frame too"
    printf '%-2s %6s %8s %8s %10s %10s %10s %14s\n' dir size ours base ours/base ours_ns/f base_ns/f base/ours_ns/f
    for size in $SIZES; do
        for dir in $DIRS; do
            o=$(echo "${R[ours,$dir,$size]}" | median) b=$(echo "${R[base,$dir,$size]}" | median)
            on=$(echo "${R[ours-nsf,$dir,$size]:-0}" | median) bn=$(echo "${R[base-nsf,$dir,$size]:-0}" | median)
            printf '%-2s %6s %8.3f %8.3f %10.2f %10.1f %10.1f %14.2f\n' "$dir" "$size" "$o" "$b" "$(ratio "$o" "$b")" \
                "$on" "$bn" "$(ratio "$bn" "$on")"
        done
    done
fi
if [ "$RINGS" = "split packed" ]; then
    echo
    echo "# packed / split, same back-end, same run"
    printf '%-2s %6s %12s %12s\n' dir size ours dpdk
    for size in $SIZES; do
        for dir in $DIRS; do
            printf '%-2s %6s %12.2f %12.2f\n' "$dir" "$size" \
                "$(ratio "$(echo "${R[ours-packed,$dir,$size]}" | median)" "$(echo "${R[ours,$dir,$size]}" | median)")" \
                "$(ratio "$(echo "${R[dpdk-packed,$dir,$size]}" | median)" "$(echo "${R[dpdk,$dir,$size]}" | median)")"
        done
    done
fi
