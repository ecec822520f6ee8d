# rpc_limits.sh - the RPC server's resource limits under abuse: clients that
# ask for far more replies than they read, oversized batches.  Runs on the
# in-memory dummy backend (no root needed) with 508 devices, the figure of
# the flood this guards against (issue 13, item 5).
. "$top_srcdir/tests/functional/lib.sh"

# Bounds of the flood case.  Measured on a 2-core VM (docs/reliability.md):
# health answered in <= 0.73 s, RSS <= 114 MiB.  ASan (the suite's second
# run; ASAN_OPTIONS set) is several times slower and its allocator keeps
# freed memory in quarantine.
HEALTH_MAX_MS=1000
RSS_MAX_KIB=$((256 * 1024))
if [ -n "${ASAN_OPTIONS:-}" ]; then
    HEALTH_MAX_MS=4000
    RSS_MAX_KIB=$((1024 * 1024))
fi

cat >"$T/virtnet.conf" <<CONF
{ "vf": { "mac_base": "CC:48:15:DD:00:00", "vfs_per_pf": 126 },
  "emulation": { "backend": "dummy", "hotplug_ports": 4, "num_pf": 4, "num_vf": 126,
                 "num_msix": 4, "pf_total_sf": 600, "serial": "$SERIAL",
                 "sf_num_base": $sfbase } }
CONF
start_controller --config "$T/virtnet.conf" --log-level warn || { not_ok "controller starts"; done_testing; }
ndev=$(vn list | jq '.devices | length')
[ "$ndev" = 508 ] && ok "508 devices (4 PFs x 126 VFs, dummy backend)" || not_ok "508 devices (got $ndev)"
qall='{"jsonrpc":"2.0","id":1,"method":"query","params":{"all":true}}'
qlen=$(rpc_raw "$qall" | wc -c)
echo "# one query of all devices: $qlen bytes of reply"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$CTL_PID/status"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- batch size
batch=$(python3 -c 'import json; print(json.dumps([{"jsonrpc":"2.0","id":i,"method":"health"} for i in range(65)]))')
r=$(rpc_raw "$batch")
printf '%s' "$r" | jq -se 'length == 1 and (.[0] | type == "object" and .id == null and .error.code == -32600 and (.error.message | contains("64")))' >/dev/null \
    && ok "a batch of 65 requests: one error object -32600 naming the limit (64)" \
    || { not_ok "a batch of 65 requests: one error object"; printf '%s\n' "$r" | cut -c1-300 | diag; }
batch=$(python3 -c 'import json; print(json.dumps([{"jsonrpc":"2.0","id":i,"method":"health"} for i in range(64)]))')
r=$(rpc_raw "$batch")
printf '%s' "$r" | jq -se 'length == 1 and (.[0] | length == 64 and all(.[]; .result.status == "ok"))' >/dev/null \
    && ok "a batch of 64 requests: 64 answers" || { not_ok "a batch of 64 requests: 64 answers"; printf '%s\n' "$r" | cut -c1-300 | diag; }

# ---- a batch whose replies pass the unsent limit (256 KiB): the members past
# it are answered -32004 without running; the client that reads gets it all.
batch=$(python3 -c 'import json; print(json.dumps([{"jsonrpc":"2.0","id":i,"method":"query","params":{"all":True}} for i in range(4)]))')
r=$(rpc_raw "$batch")
printf '%s' "$r" | jq -se 'length == 1 and (.[0] | length == 4 and (.[0].result.devices | length) == 508 and
    ([.[1:][] | .error.code] == [-32004, -32004, -32004]) and (.[1].error.message | contains("not run")))' >/dev/null \
    && ok "a batch of 4 queries of 508 devices: the first answered, the 3 past 256 KiB -32004 (not run)" \
    || { not_ok "a batch past the unsent limit"; printf '%s\n' "$r" | jq -c '[.[] | (.error // (.result.devices | length))]' 2>&1 | diag; }

# ---- the flood: 60 clients, each one batch of 64 queries of all devices, none reads.
rss0=$(rss_kib)
mkfifo "$T/hold"
python3 "$top_srcdir/tests/functional/rpc_flood.py" "$SOCK" 60 64 60 <"$T/hold" >"$T/flood.out" 2>&1 &
flood=$!
exec 3>"$T/hold"
if ! wait_until 30 grep -q '^ready 60' "$T/flood.out"; then
    not_ok "flood: 60 clients connected and sent their batch"; diag <"$T/flood.out"
else
    ok "flood: 60 clients connected and sent their batch ($((64 * qlen / 1024 / 1024)) MiB of replies asked each)"
    # health, back to back for 5 s while they stay connected: the slowest answer and the largest RSS.
    max_ms=0 max_rss=$rss0 n=0 fails=0
    end=$(( $(ms_now) + 5000 ))
    while [ "$(ms_now)" -lt "$end" ]; do
        t0=$(ms_now)
        timeout 20 "$VIRTNET" --socket "$SOCK" health >"$T/h.json" 2>&1 || fails=$((fails + 1))
        dt=$(( $(ms_now) - t0 )); n=$((n + 1))
        [ "$dt" -gt "$max_ms" ] && max_ms=$dt
        rss=$(rss_kib); [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    done
    echo "# $n health calls: slowest ${max_ms} ms; RSS ${rss0} KiB before, ${max_rss} KiB at most"
    jq -c .rpc "$T/h.json" | diag
    [ "$fails" = 0 ] && [ "$max_ms" -lt "$HEALTH_MAX_MS" ] \
        && ok "flood: health answered every time within ${HEALTH_MAX_MS} ms (slowest ${max_ms} ms, $n calls)" \
        || not_ok "flood: health answered every time within ${HEALTH_MAX_MS} ms (slowest ${max_ms} ms, $fails failed of $n)"
    [ "$max_rss" -lt "$RSS_MAX_KIB" ] \
        && ok "flood: RSS stays under $((RSS_MAX_KIB / 1024)) MiB (${max_rss} KiB at most)" \
        || not_ok "flood: RSS stays under $((RSS_MAX_KIB / 1024)) MiB (${max_rss} KiB)"
    jq -se 'length == 1 and (.[0].rpc | .unsent_bytes > 0 and .unsent_bytes <= 64 * 1048576 and .clients >= 61)' "$T/h.json" >/dev/null \
        && ok "flood: the clients stay connected (paused), unsent replies within the 64 MiB total" \
        || { not_ok "flood: unsent replies within the total"; jq -c .rpc "$T/h.json" | diag; }
fi
exec 3>&-
wait_until 10 pid_gone "$flood" || kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null
check "flood over: the controller serves a full query" sh -c "vn_q=\$('$VIRTNET' --socket '$SOCK' query -a -b | jq '.devices | length'); [ \"\$vn_q\" = 508 ]"
check "flood over: no unsent bytes left" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' health | jq -se 'length == 1 and (.[0] | .rpc.unsent_bytes == 0)'"

check "controller alive" pid_alive "$CTL_PID"
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "clean shutdown" || not_ok "clean shutdown (rc $rc)"
done_testing
