#!/usr/bin/env bash
# control_plane.sh - control-plane benchmark of the software DPU (issue 3):
#   - start-up with 4 static PFs and 504 VFs (508 representors), against the
#     floor: creating the same number of taps in a bare loop (bench/tap_floor);
#   - hotplug latency p50/p99 over 31 hotplugs;
#   - `list` and `query -a` latency with 535 devices;
#   - controller RSS with 535 devices.
# Run as root from a built tree:  bench/control_plane.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$top/build}
D=$B/controller/virtio_net_controller
V=$B/cli/virtnet
F=$B/bench/tap_floor
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
for x in "$D" "$V" "$F"; do [ -x "$x" ] || { echo "missing $x: build first" >&2; exit 1; }; done
T=$(mktemp -d /tmp/vn-bench.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    # Representors of this run (serial BENCH...) are removed by restarting with
    # recovery and unplugging; static ones are deleted by name.
    for r in $(ip -o link show | awk -F': ' '{print $2}' | grep -E '^en3f[01]pf[01]sf[0-9]+$' || true); do
        grep -qx "$r" "$T/ours" 2>/dev/null && ip link del "$r" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; print a[i]}'; }

cat >"$T/virtnet.conf" <<CONF
{ "vf": { "mac_base": "CC:48:15:FF:00:00", "vfs_per_pf": 126 },
  "emulation": { "hotplug_ports": 31, "num_pf": 4, "num_vf": 126, "num_msix": 4,
                 "pf_total_sf": 600, "serial": "BENCH" } }
CONF

# Start-up against the floor, alternating, 3 rounds; medians are reported.
start_ctl() {
    local t0 t1
    t0=$(date +%s.%N)
    "$D" --config "$T/virtnet.conf" --state-dir "$T/state" --socket "$T/s" \
         --provider-lib-dir "$B/providers/.libs" --log-level warn
    t1=$(date +%s.%N)
    pid=$(cat "$T/state/virtio_net_controller.lock")
    echo "$t1 - $t0" | bc -l
}
: >"$T/floor"; : >"$T/start"
for round in 1 2 3; do
    "$F" 508 vnbf >>"$T/floor"
    start_ctl >>"$T/start"
    "$V" --socket "$T/s" query -a -b | jq -r '.devices[].sf_rep_net_device' >"$T/ours"
    if [ $round -lt 3 ]; then
        kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; pid=
        while read -r r; do ip link del "$r"; done <"$T/ours"
        rm -rf "$T/state"
    fi
done
floor=$(sort -n "$T/floor" | sed -n 2p)
start=$(sort -n "$T/start" | sed -n 2p)

: >"$T/hp"
for i in $(seq 1 31); do
    a=$(date +%s%N)
    "$V" --socket "$T/s" hotplug -i mlx5_0 -m 02:00:00:00:01:$(printf %02x "$i") -t 1500 -n 2 -s 256 \
        | jq -r .sf_rep_net_device >>"$T/ours"
    b=$(date +%s%N)
    echo "$(( (b - a) / 1000 ))" >>"$T/hp"
done
n=$("$V" --socket "$T/s" list | jq '.devices | length')
: >"$T/list"; : >"$T/query"
for i in $(seq 1 20); do
    a=$(date +%s%N); "$V" --socket "$T/s" list >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>"$T/list"
    a=$(date +%s%N); "$V" --socket "$T/s" query -a >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 )) >>"$T/query"
done
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
for id in $("$V" --socket "$T/s" list | jq -r '.devices[] | select(.device_type == "hotplug") | .pf_id'); do
    "$V" --socket "$T/s" unplug -p "$id" >/dev/null
done

printf 'devices                      %s\n' "$n"
printf 'start-up, 508 devices (s)    %.3f (median of 3: %s)\n' "$start" "$(tr '\n' ' ' <"$T/start")"
printf 'floor: 508 taps in a loop (s) %.3f (median of 3: %s)\n' "$floor" "$(tr '\n' ' ' <"$T/floor")"
printf 'start-up / floor             %.2f\n' "$(echo "$start / $floor" | bc -l)"
printf 'hotplug p50 / p99 (ms)       %s / %s\n' "$(pct 50 <"$T/hp" | awk '{print $1/1000}')" "$(pct 99 <"$T/hp" | awk '{print $1/1000}')"
printf 'list p50 / p99 (ms)          %s / %s\n' "$(pct 50 <"$T/list" | awk '{print $1/1000}')" "$(pct 99 <"$T/list" | awk '{print $1/1000}')"
printf 'query -a p50 / p99 (ms)      %s / %s\n' "$(pct 50 <"$T/query" | awk '{print $1/1000}')" "$(pct 99 <"$T/query" | awk '{print $1/1000}')"
printf 'controller RSS (MiB)         %.1f\n' "$(echo "$rss / 1024" | bc -l)"
