# bench_lib.sh - what the datapath benchmarks share (sourced by dp_bench.sh and
# rx_bench.sh; crash_bench.sh its hugepages): hugepages, background processes (PIDS), testpmd, a controller
# with hotplugged devices.  The caller sets W (its work dir), ID and PIDS=().

# bench_hugepages N: /dev/hugepages mounted and N free 2 MiB pages; sets HP_OLD / HP_MOUNTED
# for bench_hugepages_restore.
bench_hugepages() {
    local free
    if ! mountpoint -q /dev/hugepages; then
        mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages || exit 2
        HP_MOUNTED=1
    fi
    free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
    if [ "$free" -lt "$1" ]; then
        HP_OLD=$(cat /proc/sys/vm/nr_hugepages)
        echo $(( HP_OLD + $1 - free )) >/proc/sys/vm/nr_hugepages
        free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
        [ "$free" -ge "$1" ] || { echo "$(basename "$0"): cannot reserve $1 hugepages of 2 MiB" >&2; exit 2; }
    fi
}
bench_hugepages_restore() {
    [ -n "${HP_OLD:-}" ] && echo "$HP_OLD" >/proc/sys/vm/nr_hugepages
    [ -n "${HP_MOUNTED:-}" ] && umount /dev/hugepages
}

# bench_stop_all: every process in PIDS, SIGINT then SIGKILL after 5 s.
bench_stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    PIDS=()
}
# stop PID: SIGINT (testpmd prints its totals and leaves), bounded; PID leaves PIDS.
stop() {
    local p=$1 keep=() q
    kill -INT "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    PIDS=("${keep[@]}")
}
# wait_for SECONDS CMD...: polls CMD every 0.1 s.
wait_for() {
    local n=$(( $1 * 10 )); shift
    while [ "$n" -gt 0 ]; do "$@" 2>/dev/null && return 0; sleep 0.1; n=$(( n - 1 )); done
    return 1
}
# testpmd PREFIX MAIN_LCORE LOG ARGS...: one testpmd in the background (cores 0 and 1).
testpmd() {
    local prefix=$1 main=$2 log=$3; shift 3
    dpdk-testpmd -l 0,1 --main-lcore "$main" --file-prefix="$prefix" -m 256 --single-file-segments \
        --no-pci --no-telemetry --log-level=lib.eal:warning "$@" </dev/null >"$log" 2>&1 &
    PIDS+=($!)
}
# pps_of LOG WHAT: a testpmd's mean WHAT (Rx-pps, Tx-pps) over its last DUR stats periods, in Mpps.
pps_of() {
    tr '\033' '\n' <"$1" | grep -o "$2: *[0-9]*" | awk '{print $2}' | tail -n "$DUR" |
        awk '{s += $1; n++} END {printf "%.6f\n", n ? s / n / 1e6 : 0}'
}

# ctl_start BUILD DIR SERIAL HOTPLUG_PORTS: a controller of BUILD, one sw worker, pinned to
# core 0, state and socket (DIR/s.sock) in DIR, log in DIR.log; sets CTL_PID.
ctl_start() {
    local build=$1 dir=$2
    mkdir -p "$dir"
    echo "{ \"eth_vq_workers\": 1, \"emulation\": { \"hotplug_ports\": $4, \"serial\": \"$3\" } }" >"$dir/virtnet.conf"
    taskset -c 0 "$build/controller/virtio_net_controller" --foreground --config "$dir/virtnet.conf" \
        --state-dir "$dir" --socket "$dir/s.sock" --provider-lib-dir "$build/providers/.libs" \
        --log-level warning 2>"$dir.log" &
    CTL_PID=$!
    PIDS+=($CTL_PID)
    wait_for 20 "$build/cli/virtnet" --socket "$dir/s.sock" health >/dev/null || {
        echo "$(basename "$0"): the controller ($build) did not start" >&2; cat "$dir.log" >&2; exit 1; }
}
# ctl_hotplug BUILD DIR MAC SF_NUM RING_SIZE [ARGS...]: hotplugs a one-queue-pair device (the reply
# in DIR/hp-SF_NUM.json); prints "REPRESENTOR SOCKET VUID".
ctl_hotplug() {
    local vn=$1/cli/virtnet dir=$2 mac=$3 sf=$4 qs=$5 vuid
    shift 5
    "$vn" --socket "$dir/s.sock" hotplug -i mlx5_0 -m "$mac" -t 1500 -n 2 -s "$qs" -u "$sf" "$@" \
        >"$dir/hp-$sf.json" || exit 1
    vuid=$(jq -r .vuid "$dir/hp-$sf.json")
    echo "$(jq -r .sf_rep_net_device "$dir/hp-$sf.json")" \
        "$("$vn" --socket "$dir/s.sock" query -u "$vuid" -b | jq -r '.devices[0].vhost_socket')" "$vuid"
}

# tid_of PID NAME: the thread of PID called NAME.
tid_of() { local t; for t in /proc/"$1"/task/*; do [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && { basename "$t"; return 0; }; done; return 1; }
# oncpu PID TID: ns the thread has been on a CPU (schedstat); rqwait: ns it waited for one.
oncpu() { awk '{print $1}' "/proc/$1/task/$2/schedstat"; }
rqwait() { awk '{print $2}' "/proc/$1/task/$2/schedstat"; }
