# rpc_privilege.sh - every method that changes the controller, and every
# mutating form of a read-only method, is refused to an unprivileged caller;
# every read-only method is not.  The methods come from the server's own
# table (rpc_get_methods), so a new method cannot be forgotten: each one must
# be classified below, the classification must match the table, and each is
# tried as user 'nobody'.
. "$top_srcdir/tests/functional/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (to run requests as user nobody)"
id nobody >/dev/null 2>&1 || skip_all "needs a user 'nobody'"
getent group nogroup >/dev/null || skip_all "needs a group 'nogroup'"
need_cmd setpriv

# The documented classification (virtnet.conf(5) rpc_group, docs/rpc.md).
MUTATING="hotplug unplug modify restart debug"
READ_ONLY="list query version validate health stats log update rpc_get_methods metrics"
# Params that make a read-only method mutating, with a valid value each.
declare -A MUTATING_PARAMS=([log]=level [update]=start)
declare -A SAMPLE=([level]='"debug"' [start]='true')

asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# A python3 that nobody may run (a per-user one in root's home is not).
PY=/usr/bin/python3
asnobody "$PY" -c pass 2>/dev/null || skip_all "user nobody cannot run $PY"
rpc_nobody() { asnobody "$PY" "$top_srcdir/tests/functional/rpc_raw.py" "$SOCK" "$1"; }
# is_error CODE: the reply on stdin is a JSON-RPC error CODE (an empty reply is not:
# jq -e succeeds on empty input).
is_error() { jq -e --argjson c "$1" 'if type == "object" then .error.code == $c else false end' >/dev/null 2>&1 && [ -n "$r" ]; }
req() { printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' "$1" "$2"; }

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
chmod 0755 "$T"; chmod 0666 "$SOCK"   # let 'nobody' reach the socket (not the state dir)
check "nobody can reach the socket (health)" asnobody "$VIRTNET" --socket "$SOCK" health

# A device to protect, when this machine can make one (representor taps need root and tun).
have_dev=0
if [ -c /dev/net/tun ] && command -v ip >/dev/null; then
    if vn hotplug -i mlx5_0 -m 02:00:00:00:00:11 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json"; then
        track_rep "$(jget .sf_rep_net_device <"$T/hp.json")"
        have_dev=1
    fi
fi

# ---- the table.
rpc_raw "$(req rpc_get_methods '{}')" >"$T/methods.json"
check "rpc_get_methods: answers a list" jq -e '.result.methods | length >= 14' "$T/methods.json"
r=$(rpc_nobody "$(req rpc_get_methods '{}')")
[ -n "$r" ] && printf '%s' "$r" | jq -e '.result.methods | length >= 14' >/dev/null &&
    ok "rpc_get_methods: open to nobody" || { not_ok "rpc_get_methods: open to nobody"; echo "$r" | diag; }
mapfile -t table < <(jq -r '.result.methods[] | "\(.name) \(.mutating) \(.mutating_params | join(","))"' "$T/methods.json")

is_in() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }
for m in $MUTATING $READ_ONLY; do
    jq -e --arg m "$m" '[.result.methods[] | select(.name == $m)] | length == 1' "$T/methods.json" >/dev/null ||
        not_ok "documented method '$m' is in the table"
done

for row in "${table[@]}"; do
    read -r name mutating mparams <<<"$row"
    if is_in "$name" "$MUTATING"; then
        want=true
    elif is_in "$name" "$READ_ONLY"; then
        want=false
    else
        not_ok "method '$name' is classified in rpc_privilege.sh (add it to MUTATING or READ_ONLY)"
        continue
    fi
    [ "$mutating" = "$want" ] && ok "$name: marked $( [ "$want" = true ] && echo mutating || echo read-only) in the table" ||
        not_ok "$name: the table says mutating=$mutating, documented $want"
    [ "$mparams" = "${MUTATING_PARAMS[$name]:-}" ] && ok "$name: mutating params [${mparams}] as documented" ||
        not_ok "$name: mutating params [$mparams], documented [${MUTATING_PARAMS[$name]:-}]"

    # As nobody: documented mutating -> -32006; read-only -> anything but -32006.
    r=$(rpc_nobody "$(req "$name" '{}')")
    code=$(printf '%s' "$r" | jq -r 'if .error then .error.code else "none" end' 2>/dev/null)
    [ -n "$code" ] || code="no reply"
    if [ "$want" = true ]; then
        [ "$code" = -32006 ] && ok "nobody: $name refused (-32006)" || { not_ok "nobody: $name refused (got $code)"; echo "$r" | diag; }
    else
        [ "$code" != -32006 ] && [ "$code" != "no reply" ] && ok "nobody: $name allowed (got ${code/none/a result})" ||
            { not_ok "nobody: $name allowed"; echo "$r" | diag; }
    fi
    for p in ${MUTATING_PARAMS[$name]:-}; do
        [ -n "${SAMPLE[$p]:-}" ] || { not_ok "$name.$p: no sample value in rpc_privilege.sh"; continue; }
        r=$(rpc_nobody "$(req "$name" "{\"$p\":${SAMPLE[$p]}}")")
        printf '%s' "$r" | is_error -32006 && ok "nobody: $name with $p refused (-32006)" ||
            { not_ok "nobody: $name with $p refused"; echo "$r" | diag; }
    done
done

# The mutating forms through the CLI, as an operator would type them.  (The
# hotplug's representor is tracked in case a bug lets it through.)
track_rep "en3f0pf0sf$((sfbase + 1))"
for args in "log -l debug" "log -m rpc -l error" "update -s" "restart" "unplug -p 0" \
    "modify -p 0 device -t 9000" "modify -p 0 queue -e event -n 10 -c 30" "debug fault point=sf_create" \
    "hotplug -i mlx5_0 -m 02:00:00:00:00:12 -t 1500 -n 2 -s 256 -u $((sfbase + 1))"; do
    asnobody "$VIRTNET" --socket "$SOCK" $args >/dev/null 2>"$T/err"; rc=$?
    [ $rc -eq 1 ] && grep -qi "needs root" "$T/err" && ok "nobody: virtnet $args refused" ||
        { not_ok "nobody: virtnet $args refused (rc $rc)"; diag <"$T/err"; }
done
check "nobody: log levels unchanged" sh -c "'$VIRTNET' --socket '$SOCK' log | jq -e '[.levels[]] | all(. == \"info\")'"
check "nobody: update -t allowed (status only)" asnobody "$VIRTNET" --socket "$SOCK" update -t
if [ $have_dev = 1 ]; then
    vn query -a >"$T/q.after"
    check "nobody: the device is still there, unchanged (MTU 1500, no moderation)" \
        jq -e '.devices | length == 1 and .[0].mtu == 1500 and ([.[0].queues[] | select(.period == 10)] | length == 0)' "$T/q.after"
    check "nobody: no second device" jq -e '.devices | length == 1' <(vn list)
    check "root: the same unplug works (control)" vn unplug -p 0
else
    skip "device effects of refused calls: could not hotplug a device here (needs /dev/net/tun and ip)"
fi
check "controller alive" pid_alive "$CTL_PID"
chmod 0660 "$SOCK"
stop_controller
done_testing
