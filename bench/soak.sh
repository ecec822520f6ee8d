#!/usr/bin/env bash
# soak.sh - load and soak (issue 7): 4 static PFs x 126 VFs + 31 hotplug
# ports (531 devices, up to 539 with the clients' own), a DPDK testpmd virtio-user
# answering a ping flood on one of them, and 8 JSON-RPC clients issuing mixed
# requests (list, query, modify, stats, hotplug/unplug cycles) for SECONDS.
# Reports per-method latency p50/p99, unexpected errors (expected: none), RSS,
# heap in use and kept free by malloc (from `health`), fd count (first/last/max:
# the heap in use and the fds must stay flat) and echoes lost.
# Run as root from a built tree:  bench/soak.sh [-b BUILD_DIR] [-t SECONDS] [-c CLIENTS]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build SECS=60 CLIENTS=8
while getopts "b:t:c:h" o; do
    case $o in
        b) B=$OPTARG ;;
        t) SECS=$OPTARG ;;
        c) CLIENTS=$OPTARG ;;
        *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
D=$B/controller/virtio_net_controller V=$B/cli/virtnet
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root" >&2; exit 2; }
W=$(mktemp -d /tmp/vn-soak.XXXXXX)
ID=$$ NS=vnsk$ID BR=vnskb$ID VA=vnska$ID VB=vnskv$ID NET=10.216.$(( ID % 250 ))
pid= TP=
cleanup() {
    [ -n "$TP" ] && kill -INT "$TP" 2>/dev/null && wait "$TP" 2>/dev/null
    if [ -n "$pid" ]; then
        "$V" --socket "$W/s" query -a -b 2>/dev/null | jq -r '.devices[].sf_rep_net_device // empty' >>"$W/reps"
        kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    sort -u "$W/reps" 2>/dev/null | while read -r r; do ip link del "$r" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null; ip link del "$BR" 2>/dev/null; ip link del "$VA" 2>/dev/null
    rm -rf "/var/run/dpdk/vnsk$ID" "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
vn() { "$V" --socket "$W/s" "$@"; }

cat >"$W/virtnet.conf" <<CONF
{ "vf": { "mac_base": "CC:48:15:DD:00:00", "vfs_per_pf": 126 },
  "emulation": { "hotplug_ports": 31, "num_pf": 4, "num_vf": 126, "num_msix": 4,
                 "pf_total_sf": 600, "serial": "SOAK$ID" } }
CONF
"$D" --config "$W/virtnet.conf" --state-dir "$W/st" --socket "$W/s" \
    --provider-lib-dir "$B/providers/.libs" --log-level warn || exit 1
pid=$(cat "$W/st/virtio_net_controller.lock")
for i in $(seq 0 $((31 - CLIENTS - 1))); do
    vn hotplug -i mlx5_0 -m "02:00:00:5b:$(printf %02x $i):01" -t 1500 -n 2 -s 256 -u $((60000 + i)) >"$W/hp.json" || exit 1
    [ "$i" -eq 0 ] && VUID=$(jq -r .vuid "$W/hp.json") REP=$(jq -r .sf_rep_net_device "$W/hp.json")
done
echo "devices: $(vn list | jq '.devices | length')"

# Traffic on one device.
flood=
if command -v dpdk-testpmd >/dev/null; then
    mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
    [ "$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)" -ge 160 ] ||
        echo $(( $(cat /proc/sys/vm/nr_hugepages) + 160 )) >/proc/sys/vm/nr_hugepages
    ip netns add "$NS"; ip link add "$VA" type veth peer name "$VB"; ip link set "$VB" netns "$NS"
    ip -n "$NS" addr add "$NET.1/24" dev "$VB"; ip -n "$NS" link set "$VB" up
    ip link add "$BR" type bridge; ip link set "$VA" master "$BR"; ip link set "$VA" up; ip link set "$BR" up
    ip link set "$REP" master "$BR"
    dpdk-testpmd -l 0,1 --main-lcore 1 --file-prefix=vnsk$ID -m 256 --single-file-segments --no-pci \
        --vdev "net_virtio_user0,path=$(vn query -u "$VUID" -b | jq -r '.devices[0].vhost_socket'),queues=1" \
        -- --forward-mode=icmpecho --auto-start --stats-period 1 --total-num-mbufs=16384 \
        </dev/null >"$W/tp.log" 2>&1 &
    TP=$!
    for _ in $(seq 100); do ip netns exec "$NS" ping -c 1 -W 1 "$NET.2" >/dev/null 2>&1 && break; sleep 0.2; done
    ip netns exec "$NS" ping -q -i 0.01 -w "$SECS" -W 1 "$NET.2" >"$W/ping.out" 2>&1 &
    flood=$!
fi
python3 "$top/bench/soak.py" "$W/s" "$pid" "$SECS" "$CLIENTS" 61000
rc=$?
[ -n "$flood" ] && wait "$flood" && echo "echoes: $(grep 'packets transmitted' "$W/ping.out")"
exit $rc
