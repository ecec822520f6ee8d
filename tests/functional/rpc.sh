# rpc.sh - version, log, validate, health and the not-yet-implemented methods,
# through `virtnet` and raw JSON-RPC.
. "$top_srcdir/tests/functional/lib.sh"

start_controller || { not_ok "controller starts"; done_testing; }

# version: running and installed (destination) controller.
vn version >"$T/v.json"
check "version: Original Controller is the CLI's version ($("$VIRTNET" -v))" \
    sh -c "[ \"\$(jq -r '.\"Original Controller\"' '$T/v.json')\" = \"\$('$VIRTNET' -v)\" ]"
check "version: has a Destination Controller member" sh -c "jq -e 'has(\"Destination Controller\")' <'$T/v.json'"
stop_controller
start_controller --update-binary "$DAEMON"
vn version >"$T/v2.json"
check "version: destination probed from --update-binary" \
    sh -c "[ \"\$(jget '.\"Destination Controller\"' <'$T/v2.json')\" = \"\$(jget '.\"Original Controller\"' <'$T/v2.json')\" ]"

# log: show, set one module, set all, errors.
check "log: shows every module" sh -c "vn() { '$VIRTNET' --socket '$SOCK' \"\$@\"; }; vn log | jq -e '.levels.main and .levels.rpc and .levels.datapath'"
check "log: set rpc to debug" sh -c "'$VIRTNET' --socket '$SOCK' log -m rpc -l debug | jq -e '.levels.rpc == \"debug\"'"
check "log: the change is kept" sh -c "'$VIRTNET' --socket '$SOCK' log | jq -e '.levels.rpc == \"debug\" and .levels.main == \"info\"'"
check "log: set all to warn" sh -c "'$VIRTNET' --socket '$SOCK' log -l warn | jq -e '[.levels[]] | all(. == \"warn\")'"
vn log -l loud >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "unknown log level 'loud'" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ] \
    && ok "log: unknown level is one error line, exit 1" || { not_ok "log: unknown level"; diag <"$T/err"; }
vn log -m nosuch -l info >/dev/null 2>"$T/err"
check "log: unknown module named" grep -q "unknown log module 'nosuch'" "$T/err"
vn log -l info >/dev/null

# validate: a file, the vendor examples, every problem listed.
for ex in "$top_srcdir"/tests/unit/data/vendor-*.conf "$top_srcdir/conf/virtnet.conf"; do
    [ -f "$ex" ] || continue
    check "validate: $(basename "$ex") is valid" sh -c "'$VIRTNET' --socket '$SOCK' validate -f '$ex' | jq -e '.valid == true'"
done
cat >"$T/bad.conf" <<'CONF'
{
  "is_lag": 1,
  "single_port": 1,
  "sf_pool_percent": 101,
  "vf": { "mac_base": "CC:48:15:FF:00:00" },
  "typo_key": 0,
}
CONF
vn validate -f "$T/bad.conf" >"$T/val.json"; rc=$?
[ $rc -eq 1 ] && ok "validate: an invalid file exits 1" || not_ok "validate: an invalid file exits 1 (got $rc)"
check "validate: says not valid" jq -e '.valid == false' "$T/val.json"
check "validate: lists at least four problems" jq -e '.errors | length >= 4' "$T/val.json"
for k in sf_pool_percent typo_key vfs_per_pf single_port; do
    check "validate: names $k" jq -e --arg k "$k" '[.errors[] | select(contains($k))] | length >= 1' "$T/val.json"
done
check "validate: without -f, the built-in defaults are valid" sh -c "'$VIRTNET' --socket '$SOCK' validate | jq -e '.valid == true'"
printf '{ "recovery": "yes" ' >"$T/trunc.conf"
vn validate -f "$T/trunc.conf" >"$T/val2.json"
check "validate: broken JSON gives a line/column" jq -e '.valid == false and (.errors[0] | test("line [0-9]+"))' "$T/val2.json"

# health.
vn health >"$T/h.json"
check "health: status ok, pid and uptime" jq -e --argjson pid "$CTL_PID" '.status == "ok" and .pid == $pid and .uptime_s >= 0' "$T/h.json"
check "health: loop latency and device counts" jq -e '.loop_latency_us.max >= 0 and .devices.total == 0' "$T/h.json"
check "health: memory: RSS and the heap (zero under ASan, whose allocator it is not)" jq -e '.memory.rss_kib > 1000 and (.memory.heap_in_use_kib | type == "number") and (.memory.heap_free_kib | type == "number")' "$T/h.json"
check "health: rpc counters" jq -e '.rpc.requests >= 1 and .rpc.clients >= 1' "$T/h.json"

# update needs exactly one of start and status (tests/functional/update.sh runs real updates).
for params in '{}' '{"start":true,"status":true}' '{"start":false}'; do
    r=$(rpc_raw "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"update\",\"params\":$params}")
    printf '%s' "$r" | jq -e '.error.code == -32602' >/dev/null && ok "update $params: invalid params" \
        || { not_ok "update $params: invalid params"; echo "$r" | diag; }
done
check "update -t before any update: last status none" sh -c "'$VIRTNET' --socket '$SOCK' update -t | jq -e '.\"last status\" == \"none\" and .\"current status\" == \"inactive\"'"
# stats needs a device (tests/functional/datapath.sh counts real traffic).
r=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"stats"}')
printf '%s' "$r" | jq -e '.error.code == -32602 and (.error.message | contains("no device given"))' >/dev/null \
    && ok "stats: a device selector is required" || { not_ok "stats: a device selector is required"; echo "$r" | diag; }
vn stats -p 0 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no PF with id 0" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ] \
    && ok "virtnet stats: unknown PF, one error line, exit 1" || { not_ok "virtnet stats: unknown PF, one error line, exit 1"; diag <"$T/err"; }

stop_controller
done_testing
