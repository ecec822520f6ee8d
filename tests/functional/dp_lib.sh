# dp_lib.sh - what the tests with DPDK traffic share (sourced after lib.sh):
# hugepages for DPDK, testpmd's virtio-user as the guest driver, and cleanup
# of them and of the traffic peer (peer_setup in lib.sh).
need_root_tun
command -v dpdk-testpmd >/dev/null 2>&1 ||
    skip_all "dpdk-testpmd not installed (Debian 12: dpdk-dev from 22.11.11 on, dpdk before)"
need_cmd ping mountpoint

ID=$(( $$ % 100000 ))
NS=vnpeer$ID BR=vnbr$ID VA=vnva$ID VB=vnvb$ID OVSBR=vnovs$ID
PREFIX=vndp$ID            # testpmd's --file-prefix: its runtime files and hugepage files
NET=10.213.$(( ID % 250 ))
TP_PID= HP_OLD= HP_MOUNTED= OVS_DIR=

stop_testpmd() {
    [ -n "$TP_PID" ] || return 0
    { exec 7>&-; } 2>/dev/null
    kill -INT "$TP_PID" 2>/dev/null
    wait_until 10 pid_gone "$TP_PID" || kill -KILL "$TP_PID" 2>/dev/null
    wait "$TP_PID" 2>/dev/null
    TP_PID=
}

dp_cleanup() {
    local p
    stop_testpmd
    peer_cleanup
    if [ -n "$OVS_DIR" ]; then
        ovs-vsctl --db=unix:$OVS_DIR/db.sock --timeout=5 --if-exists del-br "$OVSBR" 2>/dev/null
        for p in "$OVS_DIR/vs.pid" "$OVS_DIR/db.pid"; do
            [ -f "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null
        done
        for p in "$OVS_DIR/vs.pid" "$OVS_DIR/db.pid"; do
            [ -f "$p" ] && wait_until 10 pid_gone "$(cat "$p")"
        done
    fi
    rm -rf "/var/run/dpdk/$PREFIX"
    # Hugepages go back to what they were, if this test changed them.
    [ -n "$HP_OLD" ] && echo "$HP_OLD" >/proc/sys/vm/nr_hugepages
    [ -n "$HP_MOUNTED" ] && umount /dev/hugepages 2>/dev/null
}
trap 'dp_cleanup; _cleanup' EXIT

# Hugepages for one testpmd (-m 256, a pool of 16384 mbufs): 128 pages of 2 MiB and some slack.
HP_NEED=160
if ! mountpoint -q /dev/hugepages; then
    mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages ||
        skip_all "cannot mount hugetlbfs on /dev/hugepages"
    HP_MOUNTED=1
fi
hp_free() { awk '/^HugePages_Free/ {print $2}' /proc/meminfo; }
if [ "$(hp_free)" -lt $HP_NEED ]; then
    HP_OLD=$(cat /proc/sys/vm/nr_hugepages)
    echo $(( HP_OLD + HP_NEED - $(hp_free) )) >/proc/sys/vm/nr_hugepages
    [ "$(hp_free)" -ge $HP_NEED ] || skip_all "cannot reserve $HP_NEED hugepages of 2 MiB"
fi

# testpmd's EAL and port arguments for SOCKET QUEUES MAC VDEV_EXTRA, into the array TP_ARGS.
tp_args() {
    TP_ARGS=(-l 0,1 --main-lcore 1 --file-prefix="$PREFIX" -m 256 --single-file-segments
        --no-pci --vdev "net_virtio_user0,path=$1,queues=$2,mac=$3$4" --
        --rxq="$2" --txq="$2" --total-num-mbufs=16384)
}
# start_testpmd SOCKET QUEUES MAC VDEV_EXTRA [TESTPMD_ARGS...]: virtio-user in icmpecho mode.
start_testpmd() {
    tp_args "$1" "$2" "$3" "$4"
    shift 4
    dpdk-testpmd "${TP_ARGS[@]}" --forward-mode=icmpecho --auto-start --stats-period 1 "$@" \
        </dev/null >"$T/testpmd.log" 2>&1 &
    TP_PID=$!
}
# start_testpmd_cmd SOCKET QUEUES MAC VDEV_EXTRA [TESTPMD_ARGS...]: interactive testpmd that
# takes its commands from tp_cmd (a fifo held open on fd 7), not yet forwarding.
start_testpmd_cmd() {
    tp_args "$1" "$2" "$3" "$4"
    shift 4
    rm -f "$T/tp.in" && mkfifo "$T/tp.in" || return 1
    # Line-buffered: the counters "stop" prints are read while testpmd still runs.
    stdbuf -oL dpdk-testpmd "${TP_ARGS[@]}" -i "$@" <"$T/tp.in" >"$T/testpmd.log" 2>&1 &
    TP_PID=$!
    exec 7>"$T/tp.in"
}
tp_cmd() { echo "$*" >&7; }
# A controller with 4 hotplug ports that can live-update to the same binary (start_ctl
# starts it again), and the traffic peer; the test ends if it does not start.
dp_update_setup() {
    cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL" } }
CONF
    ln -s "$DAEMON" "$T/newbin"
    start_ctl || { not_ok "controller starts"; done_testing; }
    peer_setup
}
start_ctl() { start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin"; }
rings_running() { # VUID N: testpmd runs and the first N rings run
    pid_alive "$TP_PID" &&
        vn query -u "$1" | jq -e --argjson n "$2" '[.devices[0].queues[:$n][] | select(.state == "running")] | length == $n'
}
peer_ping() { ip netns exec "$NS" ping "$@"; }
pings_ok() { # DESC PING_ARGS...: every echo answered
    local desc=$1; shift
    if peer_ping -q "$@" >"$T/ping.out" 2>&1 && grep -q " 0% packet loss" "$T/ping.out"; then
        ok "$desc"
    else
        not_ok "$desc"; diag <"$T/ping.out"; diag <"$T/testpmd.log"
    fi
}
hotplug() { # ARGS...: prints the VUID, tracks the representor
    vn hotplug -i mlx5_0 "$@" >"$T/hp.json" || return 1
    track_rep "$(jget .sf_rep_net_device <"$T/hp.json")"
    jget .vuid <"$T/hp.json"
}
rep_of() { vn query -u "$1" -b | jq -r '.devices[0].sf_rep_net_device'; }
sock_of() { vn query -u "$1" -b | jq -r '.devices[0].vhost_socket'; }

