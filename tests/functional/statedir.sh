# statedir.sh - the state dir and the recovery dir cannot be turned against
# the controller: a directory another user owns (or can write to) is refused
# or fixed, and a symlink planted where the controller writes a file (a
# recovery file, its .tmp, live_update.json and its .tmp, the lock file) is
# never followed: the file it points to stays as it was.
#
# Runs on the dummy backend ("emulation": {"backend": "dummy"}): no root
# needed, except for a directory owned by another user, which root makes
# (unprivileged, /tmp plays that part: world-writable, owned by root).
. "$top_srcdir/tests/functional/lib.sh"

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "backend": "dummy", "hotplug_ports": 4, "num_pf": 0,
                 "pf_total_sf": 8, "sf_num_base": $sfbase, "serial": "$SERIAL" } }
CONF
# A new binary that fails at once: a quick failed update, which writes live_update.json.
printf '#!/bin/sh\nexit 3\n' >"$T/newbin"
chmod 0755 "$T/newbin"
# Files outside the state dir that a planted symlink points to; they must never change.
mkdir "$T/outside"
for v in rec_tmp rec lu_tmp lock restore; do echo "precious $v" >"$T/outside/$v"; done
# A status someone would like update -t to show.
echo '{"current status": "inactive", "last status": "planted"}' >"$T/outside/lu"
cp -a "$T/outside" "$T/outside.orig"
unchanged() { cmp -s "$T/outside/$1" "$T/outside.orig/$1"; }

# try_start DIR [ARGS...]: starts a controller on state dir DIR that must refuse
# to run; succeeds when it starts (still running after 10 s: stopped then);
# its output in $T/refused.out.
try_start() {
    local dir=$1 rc; shift
    timeout 10 "$DAEMON" --foreground --state-dir "$dir" --socket "$T/refused.sock" \
        --config "$T/virtnet.conf" "$@" >"$T/refused.out" 2>&1
    rc=$?
    [ $rc -eq 124 ] && return 0
    return $rc
}

# ---- directories --------------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
    other=$T/other-owned
    mkdir "$other" && chown nobody "$other" && chmod 0777 "$other"
else
    other=${TMPDIR:-/tmp} # world-writable, owned by root
fi
owner=$(stat -c %u "$other")
if [ "$owner" = "$(id -u)" ]; then
    skip "a world-writable state dir owned by another user (no such dir here: $other is ours)"
else
    check_fail "a world-writable state dir owned by uid $owner: the controller refuses to start" \
        try_start "$other"
    check "... and says why" grep -q "state dir $other is owned by uid $owner, not by the controller's user" "$T/refused.out"
    check "... and wrote nothing in it" test ! -e "$other/virtio_net_controller.lock"
fi

mkdir "$T/shared" && chmod 1777 "$T/shared"
check_fail "a sticky world-writable state dir of our own (like /tmp): refused" try_start "$T/shared"
check "... and says it is shared" grep -q "is a shared directory" "$T/refused.out"
check "... its mode is left alone" test "$(stat -c %a "$T/shared")" = 1777

# A recovery dir elsewhere (config recovery_dir) gets the same rule.
if [ "$(id -u)" -eq 0 ]; then
    mkdir "$T/rec-other" && chown nobody "$T/rec-other" && chmod 0777 "$T/rec-other"
    jq --arg d "$T/rec-other" '. + {recovery_dir: $d}' "$T/virtnet.conf" >"$T/rec-other.conf"
    check_fail "a recovery dir owned by another user: refused" \
        try_start "$T/s-rec" --config "$T/rec-other.conf"
    check "... and says why" grep -q "recovery dir $T/rec-other is owned by uid" "$T/refused.out"
else
    skip "a recovery dir owned by another user (needs root to make one)"
fi

# A lock file replaced by a symlink: not opened through it.
mkdir -m 0750 "$T/s-lock"
ln -s "$T/outside/lock" "$T/s-lock/virtio_net_controller.lock"
check_fail "a symlink at the lock file: the controller refuses to start" try_start "$T/s-lock"
check "... and the file it points to is unchanged" unchanged lock

# Our own state dir, group- and world-writable: fixed, with a warning.
mkdir -p "$STATE" && chmod 0777 "$STATE"
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    { not_ok "controller starts on a state dir of its own with mode 0777"; done_testing; }
ok "controller starts on a state dir of its own with mode 0777"
check "... its mode is now 0755" test "$(stat -c %a "$STATE")" = 755
check "... and the log says so" grep -q "state dir $STATE was writable by others (mode 0777): mode set to 0755" "$CTL_LOG"

# ---- recovery files -----------------------------------------------------------------------------
vuid=$(vn hotplug -i mlx5_0 -m 02:00:00:00:5d:01 -t 1500 -n 2 -s 256 | jget .vuid)
[ -n "$vuid" ] || { not_ok "hotplug"; done_testing; }
check "hotplug writes a recovery file" test -f "$STATE/recovery/$vuid"
ln -s "$T/outside/rec_tmp" "$STATE/recovery/$vuid.tmp"
check "a symlink at the recovery file's .tmp: modify still succeeds" \
    sh -c "'$VIRTNET' --socket '$SOCK' modify -u '$vuid' device -t 4000 | jq -e '.mtu == 4000'"
check "... the file it pointed to is unchanged" unchanged rec_tmp
check "... the recovery file has the change, and no .tmp is left" sh -c \
    "jq -e '.mtu == 4000' '$STATE/recovery/$vuid' >/dev/null && test ! -e '$STATE/recovery/$vuid.tmp' && test ! -L '$STATE/recovery/$vuid.tmp'"

cp "$STATE/recovery/$vuid" "$T/outside/rec"
cp "$T/outside/rec" "$T/outside.orig/rec"
rm "$STATE/recovery/$vuid"
ln -s "$T/outside/rec" "$STATE/recovery/$vuid"
check "a symlink in place of the recovery file: modify is refused" sh -c \
    "! '$VIRTNET' --socket '$SOCK' modify -u '$vuid' device -t 5000 >/dev/null 2>&1"
check "... the file it points to is unchanged" unchanged rec
check "... the symlink is left as it was, not replaced" test -L "$STATE/recovery/$vuid"
check "... the device keeps its MTU" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' -b | jq -e '.devices[0].mtu == 4000'"
check "... and the log names the symlink" grep -q "cannot write recovery file $STATE/recovery/$vuid: .*a symlink is there: refused" "$CTL_LOG"
rm "$STATE/recovery/$vuid"
cp "$T/outside/rec" "$STATE/recovery/$vuid"

# At start, a symlink named like a recovery file is not read: no device comes
# from it (it points to the record of a device that was unplugged).
other_vuid=$(vn hotplug -i mlx5_0 -m 02:00:00:00:5d:02 -t 1500 -n 2 -s 256 | jget .vuid)
[ -n "$other_vuid" ] || { not_ok "second hotplug"; done_testing; }
cp "$STATE/recovery/$other_vuid" "$T/outside/restore"
cp "$T/outside/restore" "$T/outside.orig/restore"
vn unplug -u "$other_vuid" >/dev/null
ln -s "$T/outside/restore" "$STATE/recovery/$other_vuid"
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    { not_ok "controller restarts"; done_testing; }
check "a symlink named like a recovery file is skipped at start" sh -c \
    "'$VIRTNET' --socket '$SOCK' list | jq -e --arg v '$other_vuid' '(.devices | length == 1) and ([.devices[] | select(.vuid == \$v)] | length == 0)'"
check "... with a log line" grep -q "skipping $STATE/recovery/$other_vuid: a symlink" "$CTL_LOG"
check "... the real one is back" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' -b | jq -e '.devices[0].mtu == 4000'"
check "... the file it points to is unchanged" unchanged restore
rm "$STATE/recovery/$other_vuid"

# ---- live_update.json ---------------------------------------------------------------------------
ln -s "$T/outside/lu_tmp" "$STATE/live_update.json.tmp"
check_fail "a failed update (the new binary exits 3)" vn update -s -w
check "a symlink at live_update.json.tmp: the file it points to is unchanged" unchanged lu_tmp
check "... live_update.json is a regular file with the failure" sh -c \
    "test -f '$STATE/live_update.json' && ! test -L '$STATE/live_update.json' && jq -e '.\"last status\" == \"failed\"' '$STATE/live_update.json'"
check "... no .tmp is left" sh -c "test ! -e '$STATE/live_update.json.tmp' && test ! -L '$STATE/live_update.json.tmp'"

rm "$STATE/live_update.json"
ln -s "$T/outside/lu" "$STATE/live_update.json"
check_fail "another failed update" vn update -s -w
check "a symlink at live_update.json: the file it points to is unchanged" unchanged lu
check "... the symlink is refused, not replaced, and the log says so" sh -c \
    "test -L '$STATE/live_update.json' && grep -q 'cannot write $STATE/live_update.json: .*a symlink is there: refused' '$CTL_LOG'"
check "update -t does not read through the symlink" sh -c \
    "'$VIRTNET' --socket '$SOCK' update -t | jq -e '.\"last status\" == \"none\"'"
check "the controller still serves, with its device" sh -c \
    "'$VIRTNET' --socket '$SOCK' query -u '$vuid' -b | jq -e '.devices[0].mtu == 4000'"
rm "$STATE/live_update.json"

stop_controller
done_testing
