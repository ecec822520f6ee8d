#!/bin/bash
# migrate_bench.sh - live migration figures from tests/functional/migrate.sh:
# a TCG guest (512 MiB) on one of our devices, pinged every 100 ms from a
# network namespace through the representor and a bridge, migrated over a
# unix socket to a second QEMU (-incoming) on a second device of ours; once on
# split rings, once on packed rings (packed=on).  Each run of migrate.sh
# reports QEMU's own figures (query-migrate: total-time, downtime, RAM sent,
# dirty-sync count), the source device's dirty-page counters and the pings
# sent, answered and lost across the migration.  This script runs it RUNS
# times and tabulates those lines with min / median / max.
#
# What the figures are: "downtime" is QEMU's (the time the guest was paused
# for the last RAM pass and the device state); "lost" counts pings of the
# 100 ms stream not answered, over the whole migration plus 2 s after it (a
# ping lost to the announcement delay counts too).  Under TCG on 2 cores the
# guest, both QEMUs, the controller and the ping share two CPUs: downtimes
# are the TCG machine's, not a KVM host's.
#
# With -l: dirty logging's cost in the live datapath instead (no QEMU).  The
# controller (sw provider, one worker thread, core 0) serves one device; the
# front-end is tests/functional/vhost_peer.py's "stream" driver (core 1): it
# sets the device up as QEMU does (with -l on: LOG_SHMFD, SET_LOG_BASE, LOG_ALL,
# the used rings' LOG flag, and it clears the bitmap 10 times a second as
# QEMU's sync does), keeps every descriptor of a 256-entry ring posted with
# fixed buffers and only moves the avail index, so all the per-frame work is
# the back-end's.  tx: the back-end pops each frame and writes it to the
# representor (logged: the used ring).  rx: bench/dp_floor source sends frames
# into the representor (core 1, with the driver, which sleeps 100 us when the
# ring did not move) and the back-end fills the buffers (logged: each buffer's
# pages and the used ring).  Counted: chains the back-end completed (used
# index), per second.  Log off and on alternate within each round, ROUNDS
# rounds of SECONDS, medians; the load average is printed before and after.
#
# Usage: bench/migrate_bench.sh [-b BUILD_DIR] [-n RUNS]   (root; QEMU, a guest kernel)
#        bench/migrate_bench.sh -l [-b BUILD_DIR] [-r ROUNDS] [-d SECONDS] [-s "SIZES"]   (root)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$top/build RUNS=3 LOGDP= ROUNDS=5 DUR=4 SIZES="64 1500"
while getopts "b:n:lr:d:s:h" o; do
    case $o in
        b) BUILD=$OPTARG ;;
        n) RUNS=$OPTARG ;;
        l) LOGDP=1 ;;
        r) ROUNDS=$OPTARG ;;
        d) DUR=$OPTARG ;;
        s) SIZES=$OPTARG ;;
        *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
[ -f "$BUILD/Makefile" ] || { echo "migrate_bench: $BUILD is not configured" >&2; exit 2; }

# ---- -l: the datapath with dirty logging off and on ------------------------------------
log_dp_bench() {
    local ctl=$BUILD/controller/virtio_net_controller vn=$BUILD/cli/virtnet floor=$BUILD/bench/dp_floor
    local peer="python3 $top/tests/functional/vhost_peer.py" sock r dir size log out src
    local f
    for f in "$ctl" "$vn" "$floor"; do [ -x "$f" ] || { echo "migrate_bench: $f not built" >&2; return 2; }; done
    [ "$(id -u)" -eq 0 ] || { echo "migrate_bench: -l needs root (a tap representor)" >&2; return 2; }
    LW=$(mktemp -d /tmp/migrate_bench.XXXXXX) LCTL= LREP=
    # shellcheck disable=SC2317
    log_dp_cleanup() {
        if [ -n "$LCTL" ] && kill -INT "$LCTL" 2>/dev/null; then
            timeout 5 tail --pid="$LCTL" -f /dev/null || kill -KILL "$LCTL" 2>/dev/null
        fi
        [ -n "$LREP" ] && ip link del "$LREP" 2>/dev/null
        rm -rf "$LW"
    }
    trap log_dp_cleanup EXIT
    cat >"$LW/virtnet.conf" <<CONF
{ "eth_vq_workers": 1, "emulation": { "hotplug_ports": 1, "serial": "LOGB$$" } }
CONF
    taskset -c 0 "$ctl" --foreground --config "$LW/virtnet.conf" --state-dir "$LW/st" --socket "$LW/s.sock" \
        --provider-lib-dir "$BUILD/providers/.libs" --log-level warning 2>"$LW/ctl.log" &
    LCTL=$!
    for _ in $(seq 200); do "$vn" --socket "$LW/s.sock" health >/dev/null 2>&1 && break; sleep 0.1; done
    "$vn" --socket "$LW/s.sock" hotplug -i mlx5_0 -m 02:00:00:00:0c:01 -t 1500 -n 2 -s 256 \
        -u $(( 80000 + $$ % 9000 )) >"$LW/hp.json" || { cat "$LW/ctl.log" >&2; return 1; }
    LREP=$(jq -r .sf_rep_net_device "$LW/hp.json")
    sock=$("$vn" --socket "$LW/s.sock" query -u "$(jq -r .vuid "$LW/hp.json")" | jq -r '.devices[0].vhost_socket')
    sysctl -qw "net.ipv6.conf.$LREP.disable_ipv6=1" 2>/dev/null
    ip link set "$LREP" up
    echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-5s %-4s %-6s %-3s %s\n' round dir size log Mpps
    for r in $(seq "$ROUNDS"); do
        for dir in tx rx; do
            for size in $SIZES; do
                for log in off on; do
                    src=
                    if [ "$dir" = rx ]; then
                        taskset -c 1 "$floor" source "$LREP" "$size" "$(echo "$DUR + 3" | bc)" >/dev/null &
                        src=$!
                    fi
                    out=$(taskset -c 1 $peer "$sock" stream --dir "$dir" --size "$size" --seconds "$DUR" \
                        --ifname "$LREP" $([ "$log" = on ] && echo --log) \
                        $([ "$dir" = rx ] && echo --idle-us 100))
                    [ -n "$src" ] && { kill -INT "$src" 2>/dev/null; wait "$src" 2>/dev/null; }
                    jq -e .ok <<<"$out" >/dev/null || { echo "migrate_bench: stream failed: $out" >&2; return 1; }
                    printf '%-5s %-4s %-6s %-3s %s\n' "$r" "$dir" "$size" "$log" "$(jq -r .mpps <<<"$out")" |
                        tee -a "$LW/rows"
                done
            done
        done
    done
    echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    # The log was on for the 'on' runs: the device must have logged, and none outside the log.
    "$vn" --socket "$LW/s.sock" query -u "$(jq -r .vuid "$LW/hp.json")" |
        jq -c '.devices[0] | {dirty_pages_logged, dirty_pages_missed}' | sed 's/^/# /'
    echo
    echo "# $ROUNDS rounds of ${DUR} s, medians (Mpps); on/off: of the medians, and the median of each"
    echo "# round's on/off (the two runs of a round are adjacent in time: the ratio that load moves least)"
    printf '%-4s %-6s %-10s %-10s %-8s %s\n' dir size "log off" "log on" on/off "per round"
    med() { sort -g | awk '{a[NR] = $1} END {if (!NR) {print 0; exit} print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
    for dir in tx rx; do
        for size in $SIZES; do
            local off on paired
            off=$(awk -v d="$dir" -v s="$size" '$2 == d && $3 == s && $4 == "off" {print $5}' "$LW/rows" | med)
            on=$(awk -v d="$dir" -v s="$size" '$2 == d && $3 == s && $4 == "on" {print $5}' "$LW/rows" | med)
            paired=$(awk -v d="$dir" -v s="$size" '$2 == d && $3 == s {v[$1, $4] = $5; r[$1] = 1}
                END {for (k in r) if (v[k, "off"] > 0) print v[k, "on"] / v[k, "off"]}' "$LW/rows" | med)
            printf '%-4s %-6s %-10s %-10s %-8s %.3f\n' "$dir" "$size" "$off" "$on" \
                "$(echo "scale=3; $on / $off" | bc)" "$paired"
        done
    done
}
if [ -n "$LOGDP" ]; then
    log_dp_bench
    exit $?
fi
W=$(mktemp -d /tmp/migrate_bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
log=$BUILD/tests/functional/migrate.log
for run in $(seq "$RUNS"); do
    make -C "$BUILD" check TESTS=tests/functional/migrate.sh >/dev/null 2>&1
    if grep -q '^1\.\.0 # SKIP' "$log"; then
        echo "migrate_bench: migrate.sh skipped: $(sed -n 's/^1\.\.0 # SKIP //p' "$log")" >&2
        exit 77
    fi
    grep -q '^not ok' "$log" && { echo "# run $run: migrate.sh had failures:"; grep '^not ok' "$log"; }
    # One line per ring: run ring total_ms downtime_ms sent lost dirty_pages
    awk -v run="$run" '
        /^# ---- a guest on/ { ring = $6 }
        /^# \{"status"/ {
            match($0, /"total-time":[0-9]+/); tt = substr($0, RSTART + 13, RLENGTH - 13)
            match($0, /"downtime":[0-9]+/); dt = substr($0, RSTART + 11, RLENGTH - 11)
        }
        /^# \{"dirty_pages_logged"/ { match($0, /"dirty_pages_logged":"?[0-9]+/); dp = substr($0, RSTART + 21, RLENGTH - 21); gsub(/"/, "", dp) }
        /^# ping every 100 ms across the migration/ {
            match($0, /: [0-9]+ sent/); sent = substr($0, RSTART + 2, RLENGTH - 7)
            match($0, /[0-9]+ lost/); lost = substr($0, RSTART, RLENGTH - 5)
            print run, ring, tt, dt, sent, lost, dp
        }' "$log" | tee -a "$W/rows"
done
echo
echo "# $RUNS runs of migrate.sh; min / median / max"
printf '%-7s %-20s %-20s %-16s %-22s\n' ring "total time (ms)" "downtime (ms)" "pings lost" "dirty pages logged"
stat3() { sort -g | awk '{a[NR] = $1} END {if (!NR) {print "-"; exit} m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%s / %s / %s", a[1], m, a[NR]}'; }
for ring in split packed; do
    col() { awk -v r="$ring" -v c="$1" '$2 == r {print $c}' "$W/rows" | stat3; }
    printf '%-7s %-20s %-20s %-16s %-22s\n' "$ring" "$(col 3)" "$(col 4)" "$(col 6)" "$(col 7)"
done
echo "# pings sent per migration (100 ms apart): $(awk '{print $5}' "$W/rows" | tr '\n' ' ')"
