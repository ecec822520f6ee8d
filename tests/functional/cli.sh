# cli.sh - the virtnet CLI: help on every sub-command, usage errors, exit codes.
. "$top_srcdir/tests/functional/lib.sh"

cmds="hotplug unplug list query modify log version restart validate update health debug stats metrics"

check "virtnet -h lists every sub-command" sh -c "'$VIRTNET' -h | grep -q 'hotplug,unplug,list,query,modify,log,version,restart,validate,update,health,debug,stats,metrics'"
check "virtnet -v prints the version" sh -c "'$VIRTNET' -v | grep -q '^v[0-9]'"
for c in $cmds; do
    out=$("$VIRTNET" "$c" -h 2>&1); rc=$?
    if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "usage: virtnet $c"; then
        ok "virtnet $c -h"
    else
        not_ok "virtnet $c -h (rc $rc)"; printf '%s\n' "$out" | diag
    fi
done
"$VIRTNET" frobnicate >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "unknown sub-command exits 2" || not_ok "unknown sub-command exits 2 (got $rc)"
"$VIRTNET" hotplug -i mlx5_0 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "missing required hotplug options exit 2" || not_ok "missing required hotplug options exit 2 (got $rc)"
"$VIRTNET" query -p notanumber >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "a non-numeric PF id exits 2" || not_ok "a non-numeric PF id exits 2 (got $rc)"
"$VIRTNET" --socket "$T/nothing.sock" health >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 3 ] && ok "no controller: exit 3" || not_ok "no controller: exit 3 (got $rc)"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$T/nothing.sock" "$T/err" \
    && ok "no controller: one line naming the socket" || { not_ok "no controller: one line naming the socket"; diag <"$T/err"; }
VIRTNET_SOCKET=$T/env.sock "$VIRTNET" health >/dev/null 2>"$T/err"
check "VIRTNET_SOCKET is used" grep -q "$T/env.sock" "$T/err"
done_testing
