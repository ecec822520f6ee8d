# reload.sh - config reload as the vendor documents it ("the new config won't
# take effect until service is reloaded"): SIGHUP (what `systemctl reload`
# sends, ExecReload= in the unit) re-reads and checks the config; runtime keys
# apply at once, the rest are reported as waiting for a restart; an invalid
# file changes nothing and says why in the log and in `virtnet health`.
. "$top_srcdir/tests/compat/lib.sh"

dummy_conf '"rpc_idle_timeout": 60'
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
jcheck "no reload yet" '.config_reload == null' vn health
check "the unit reloads with SIGHUP" grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$top_srcdir/conf/virtio-net-controller.service.in"

reloads() { grep -c "reload: reading" "$CTL_LOG"; }
hup() { # waits until the controller logged one more reload
    local n; n=$(reloads)
    kill -HUP "$CTL_PID" && wait_until 10 sh -c "[ \$(grep -c 'reload: reading' '$CTL_LOG') -gt $n ]"
}

# A runtime key and a key that needs a restart.
dummy_conf '"rpc_idle_timeout": 7, "sf_pool_percent": 10'
check "SIGHUP" hup
jcheck "health: rpc_idle_timeout applied, sf_pool_percent waits for a restart" \
    '.config_reload.status == "ok" and .config_reload.applied == ["rpc_idle_timeout"] and
     .config_reload.restart_needed == ["sf_pool_percent"]' vn health
check "the log names the key waiting for a restart" grep -q "reload: sf_pool_percent changed; it takes effect on a restart" "$CTL_LOG"
# The new idle timeout is in force: an idle client is closed after about 7 s, not 60.
python3 - "$SOCK" <<'PY' >"$T/idle" 2>&1 &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); t = time.time(); s.settimeout(30)
print("closed" if s.recv(1) == b"" else "data", round(time.time() - t))
PY
idle=$!
check "an idle RPC client is closed after the new timeout" wait_until 20 grep -q "^closed" "$T/idle"
wait "$idle" 2>/dev/null

# Invalid files change nothing.
cp "$T/virtnet.conf" "$T/good.conf"
printf '{ "rpc_idle_timeout": "soon", "no_such_key": 1 }\n' >"$T/virtnet.conf"
check "SIGHUP with an invalid file" hup
jcheck "health: failed, with the reasons" \
    '.config_reload.status == "failed" and (.config_reload.errors | length) >= 1 and
     any(.config_reload.errors[]; test("no_such_key"))' vn health
check "the log says nothing changed" grep -q "is invalid: nothing changed" "$CTL_LOG"
check "the controller still serves" vn list
printf '{ "emulation": ' >"$T/virtnet.conf"
check "SIGHUP with a truncated file" hup
jcheck "health: failed again" '.config_reload.status == "failed"' vn health

cp "$T/good.conf" "$T/virtnet.conf"
check "SIGHUP with the good file again" hup
jcheck "back to ok" '.config_reload.status == "ok"' vn health

stop_controller
done_testing
