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
# Usage: bench/migrate_bench.sh [-b BUILD_DIR] [-n RUNS]   (root; QEMU, a guest kernel)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$top/build RUNS=3
while getopts "b:n:h" o; do
    case $o in
        b) BUILD=$OPTARG ;;
        n) RUNS=$OPTARG ;;
        *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
done
[ -f "$BUILD/Makefile" ] || { echo "migrate_bench: $BUILD is not configured" >&2; exit 2; }
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
