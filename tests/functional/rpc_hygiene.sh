# rpc_hygiene.sh - what a request may hold beyond being JSON: UTF-8 only,
# no NUL in strings, ids that come back as sent, no member given twice,
# moderation settings within the hardware's bounds.  Raw JSON-RPC against a
# controller on the in-memory dummy backend with one static PF (no root
# needed).  Issue 13, item 10.
. "$top_srcdir/tests/functional/lib.sh"

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "backend": "dummy", "hotplug_ports": 2, "num_pf": 1, "num_vf": 0,
                 "serial": "$SERIAL", "sf_num_base": $sfbase } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vuid=$(vn query -p 0 -b | jq -r '.devices[0].vuid')
[ -n "$vuid" ] && [ "$vuid" != null ] && ok "static PF 0: $vuid" || not_ok "static PF 0 has a VUID"

# expect DESC JQ TEXT: the reply (one line) must be JSON and satisfy JQ.
expect() {
    local desc=$1 filter=$2 text=$3 r
    r=$(printf '%s' "$text" | rpc_raw | head -1)
    if [ -n "$r" ] && printf '%s' "$r" | jq -e "$filter" >/dev/null 2>&1; then
        ok "$desc"
    else
        not_ok "$desc"; printf '%s\n' "$r" | cut -c1-300 | diag
    fi
}
req() { printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' "$1" "$2"; }

# ---- UTF-8: refused, and the reply (valid JSON) quotes none of the bytes.
expect "invalid UTF-8 in a param -> -32700, not echoed" \
    '.error.code == -32700 and .id == null and (tostring | test("junk") | not)' \
    "$(req query "{\"vuid\":\"X$(printf '\377\376')junk\"}")"
expect "invalid UTF-8 in the method name -> -32700, not echoed" \
    '.error.code == -32700 and (.error.message | test("hea") | not)' \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hea$(printf '\377')lth\"}"
expect "overlong UTF-8 (C0 AF for '/') -> -32700" '.error.code == -32700' \
    "$(req query "{\"vuid\":\"..$(printf '\300\257')x\"}")"
expect "UTF-8 encoded surrogate (ED A0 80) -> -32700" '.error.code == -32700' \
    "$(req query "{\"vuid\":\"a$(printf '\355\240\200')\"}")"
expect "a truncated sequence at the end of a string -> -32700" '.error.code == -32700' \
    "$(req query "{\"vuid\":\"a$(printf '\342\202')\"}")"
expect "an unescaped control character in a string -> -32700" '.error.code == -32700' \
    "$(req query "{\"vuid\":\"a$(printf '\001')b\"}")"
expect "a lone surrogate escape (\\ud800) -> error" '.error.code < 0' \
    "$(req query '{"vuid":"a\ud800"}')"
expect "valid UTF-8 (é raw and escaped) passes: not found, echoed as sent" \
    '.error.code == -32001 and .id == 1 and (.error.message | contains("é"))' \
    "$(req query '{"vuid":"é\u00e9"}')"

# ---- NUL in a string: refused, never truncated into another name.
expect "\"vuid\":\"<PF 0>\\u0000junk\" is refused (-32600), it does not address PF 0" \
    '.error.code == -32600 and (.error.message | contains("NUL"))' \
    "$(req query "{\"vuid\":\"$vuid\\u0000junk\"}")"
expect "a NUL in the method name is refused" '.error.code == -32600' \
    '{"jsonrpc":"2.0","id":1,"method":"health\u0000x"}'
expect "an escaped backslash then u0000 is text, not a NUL: not found" '.error.code == -32001' \
    "$(req query '{"vuid":"a\\u0000"}')"
expect "the real VUID is found" ".result.devices[0].vuid == \"$vuid\"" "$(req query "{\"vuid\":\"$vuid\"}")"

# ---- ids: integers that come back exactly, strings or null; anything else -32600 with id null.
expect "id 1e400 -> -32600, id null" '.error.code == -32600 and .id == null' '{"jsonrpc":"2.0","id":1e400,"method":"health"}'
expect "id 1.5 -> -32600, id null" '.error.code == -32600 and .id == null' '{"jsonrpc":"2.0","id":1.5,"method":"health"}'
expect "id -1e300 -> -32600" '.error.code == -32600 and .id == null' '{"jsonrpc":"2.0","id":-1e300,"method":"health"}'
expect "id 2^53 (beyond 15 digits) -> -32600" '.error.code == -32600' '{"jsonrpc":"2.0","id":9007199254740992,"method":"health"}'
r=$(rpc_raw '{"jsonrpc":"2.0","id":999999999999999,"method":"health"}')
printf '%s' "$r" | grep -q '"id":999999999999999,' && ok "id of 15 digits: answered, given back exactly" \
    || { not_ok "id of 15 digits given back exactly"; printf '%s\n' "$r" | cut -c1-100 | diag; }
expect "id 1e2 (a whole number) -> answered" '.id == 100 and .result.status == "ok"' '{"jsonrpc":"2.0","id":1e2,"method":"health"}'
expect "id a string -> answered" '.id == "a" and .result.status == "ok"' '{"jsonrpc":"2.0","id":"a","method":"health"}'

# ---- duplicate members.
expect "method given twice -> -32600, id null" \
    '.error.code == -32600 and .id == null and (.error.message | contains("method"))' \
    '{"jsonrpc":"2.0","id":1,"method":"health","method":"unplug"}'
expect "id given twice -> -32600, id null" '.error.code == -32600 and .id == null' \
    '{"jsonrpc":"2.0","id":1,"id":2,"method":"health"}'
expect "a param given twice -> -32602 naming it" \
    '.error.code == -32602 and .id == 1 and (.error.message | contains("vuid"))' \
    "$(req query "{\"vuid\":\"nope\",\"vuid\":\"$vuid\"}")"
# Many members, one repeated at the end: answered at once.
many=$(python3 -c 'import json; print("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"query\",\"params\":{" + ",".join("\"k%d\":1" % i for i in range(50000)) + ",\"k7\":2}}")')
expect "50001 params, one repeated -> -32602" '.error.code == -32602' "$many"
expect "a batch member with a duplicate gets its own error" \
    'length == 2 and .[0].error.code == -32600 and .[1].result.status == "ok"' \
    '[{"jsonrpc":"2.0","id":1,"method":"health","method":"x"},{"jsonrpc":"2.0","id":2,"method":"health"}]'

# ---- moderation bounds: period 0..4095 us, max_count 0..65535.
modq() { req modify "{\"vuid\":\"$vuid\",\"target\":\"queue\",$1}"; }
expect "queue period 4096 -> -32602 naming the range" \
    '.error.code == -32602 and (.error.message | contains("period") and contains("4095"))' "$(modq '"period":4096')"
expect "queue period 4294967295 (71 minutes) -> -32602" '.error.code == -32602' "$(modq '"period":4294967295')"
expect "queue max_count 65536 -> -32602 naming the range" \
    '.error.code == -32602 and (.error.message | contains("max_count") and contains("65535"))' "$(modq '"max_count":65536')"
expect "queue period 4095, max_count 65535: accepted" '.result != null' "$(modq '"period":4095,"max_count":65535')"
check "and shown by query" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '[.devices[0].queues[] | .period == 4095 and .max_count == 65535] | all'"
vn modify -u "$vuid" queue -n 5000 >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "period" "$T/err" && ok "virtnet modify ... queue -n 5000: refused, names period" \
    || { not_ok "virtnet modify ... queue -n 5000 refused"; diag <"$T/err"; }

check "controller alive after all of it" pid_alive "$CTL_PID"
stop_controller; rc=$?
[ $rc -eq 0 ] && ok "clean shutdown" || not_ok "clean shutdown (rc $rc)"
done_testing
