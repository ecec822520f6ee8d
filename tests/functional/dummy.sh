# dummy.sh - the device manager above the seams, on the dummy emulation
# backend and dummy representors ("emulation": {"backend": "dummy"}), run as
# an unprivileged user: hotplug to the last port, static PFs and VFs, modify,
# recovery after kill -9, live update, and a fault at every step of every
# operation leaving devices, recovery files and SF numbers exactly as before.
#
# Run as root, it copies what it needs to a directory anyone can read and
# runs itself again as nobody, so it cannot pass by accident with root's
# rights; run unprivileged, it runs as it is.
if [ "$(id -u)" -eq 0 ] && [ -z "${VIRTNET_DUMMY_STAGED:-}" ]; then
    command -v setpriv >/dev/null || { echo "1..0 # SKIP setpriv (util-linux) is not installed"; exit 0; }
    stage=$(mktemp -d "${TMPDIR:-/tmp}/virtnet-dummy.XXXXXX")
    chmod 0755 "$stage"
    mkdir -p "$stage/src/tests/functional" "$stage/build/controller" "$stage/build/cli"
    cp "$top_srcdir/tests/functional/lib.sh" "$top_srcdir/tests/functional/dummy.sh" \
        "$top_srcdir/tests/functional/rpc_raw.py" "$stage/src/tests/functional/"
    cp "$top_builddir/controller/virtio_net_controller" "$stage/build/controller/"
    cp "$top_builddir/cli/virtnet" "$stage/build/cli/"
    chmod -R a+rX "$stage"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env VIRTNET_DUMMY_STAGED=1 top_srcdir="$stage/src" top_builddir="$stage/build" \
        TMPDIR=/tmp bash "$stage/src/tests/functional/dummy.sh"
    rc=$?
    rm -rf "$stage"
    exit $rc
fi

. "$top_srcdir/tests/functional/lib.sh"
NPORTS=16

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "backend": "dummy", "hotplug_ports": $NPORTS, "num_pf": 1, "num_vf": 4,
                 "pf_total_sf": 40, "sf_num_base": $sfbase, "serial": "$SERIAL" },
  "vf": { "vfs_per_pf": 2 }, "sf_pool_percent": 10 }
CONF
ln -s "$DAEMON" "$T/newbin"
ls /sys/class/net | LC_ALL=C sort >"$T/netdevs0"
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    { not_ok "controller starts"; done_testing; }
check "runs unprivileged (uid $(id -u))" test "$(id -u)" -ne 0

hotplug() { # MAC-SUFFIX [ARGS...]: prints the VUID
    local m=$1; shift
    vn hotplug -i mlx5_0 -m "02:00:00:00:0d:$m" -t 1500 -n 3 -s 256 "$@" >"$T/hp.out" &&
        jq -r .vuid "$T/hp.out"
}
for i in $(seq 0 $((NPORTS - 1))); do
    hotplug "$(printf %02x $i)" >/dev/null || { not_ok "hotplug $i"; done_testing; }
done
ok "$NPORTS hotplugs"
check_fail "a hotplug past the last port is refused" hotplug ff
check "a static PF with 2 VFs" sh -c "'$VIRTNET' --socket '$SOCK' query -p 0 -b | jq -e '.devices[0].sriov.num_vfs == 2'"
check "debug num_vfs 4" sh -c "'$VIRTNET' --socket '$SOCK' debug num_vfs pf=0 num_vfs=4 | jq -e '.sriov.num_vfs == 4'"
check "debug num_vfs 1" sh -c "'$VIRTNET' --socket '$SOCK' debug num_vfs pf=0 num_vfs=1 | jq -e '.sriov.num_vfs == 1'"
check "modify device" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 1 device -t 9000 -m 02:00:00:00:0e:01 | jq -e '.mtu == 9000'"
check "modify queue" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 1 queue -e adaptive -n 8 -c 16 | jq -e '[.queues[] | select(.event_mode == \"adaptive\")] | length == 3'"
vuid=$(vn query -p 1 -b | jq -r '.devices[0].vuid')
check "modify is in the recovery file" jq -e '.mtu == 9000 and .mac == "02:00:00:00:0e:01" and (.queues | length == 3)' "$STATE/recovery/$vuid"

vn query -a -b | jq -r '.devices[].sf_rep_net_device' >"$T/reps"
made=$(LC_ALL=C comm -13 "$T/netdevs0" <(ls /sys/class/net | LC_ALL=C sort) |
    grep -cxF -f "$T/reps")
check "no netdev was made for the $(wc -l <"$T/reps") representors" test "$made" -eq 0
nsock=$(for f in /proc/"$CTL_PID"/fd/*; do readlink "$f"; done 2>/dev/null | grep -c '^socket:')
check "no socket but the RPC one ($nsock open)" test "$nsock" -eq 1
check "no vhost-user socket dir" test ! -e "$STATE/vhost"

# ---- a fault at every step changes nothing ----------------------------------------------------
# What must not move: every device, the recovery files and the SF numbers in use.
state() {
    { vn list | jq -S '{devices, sfs_in_use: .controller.sfs_in_use, pool: .controller.sf_pool_free}'
      vn query -a | jq -S '.devices'
      (cd "$STATE/recovery" && for f in *; do echo "$f"; cat "$f"; done); } 2>&1
}
vn unplug -u "$(vn query -a -b | jq -r '[.devices[] | select(.device_type == "hotplug")][-1].vuid')" >/dev/null
state >"$T/before"
fault_case() { # DESC POINT CMD...: the fault fails CMD and leaves the state as it was
    local desc=$1 point=$2; shift 2
    vn debug fault point="$point" >/dev/null
    if "$@" >/dev/null 2>&1; then
        not_ok "$desc: fails at $point"
        return
    fi
    state >"$T/after"
    if cmp -s "$T/before" "$T/after"; then
        ok "$desc: fault at $point changes nothing"
    else
        not_ok "$desc: fault at $point changes nothing"
        diff "$T/before" "$T/after" | head -20 | diag
    fi
    vn debug fault point=none >/dev/null 2>&1
}
# A hotplug without -u takes a representor from the SF pool (none is made there).
for p in hotplug_start emu_create hotplug_after_rep hotplug_after_save; do
    fault_case "hotplug" "$p" hotplug 80
done
for p in hotplug_start sf_create sf_link_up emu_create hotplug_after_rep hotplug_after_save; do
    fault_case "hotplug -u SF" "$p" hotplug 81 -u $((sfbase + 900))
done
for p in emu_create device_after_rep device_after_save; do
    fault_case "num_vfs 1 -> 3" "$p" vn debug num_vfs pf=0 num_vfs=3
done
fault_case "modify device" emu_modify vn modify -p 1 device -t 1500
fault_case "modify queue" emu_modify vn modify -p 1 queue -n 100
# A recovery dir that cannot be written: every change is refused and nothing moves.
chmod 0555 "$STATE/recovery"
victim=$(vn query -a -b | jq -r '[.devices[] | select(.device_type == "hotplug")][0].vuid')
readonly_case() { # DESC CMD...
    local desc=$1; shift
    if "$@" >/dev/null 2>"$T/err"; then not_ok "$desc: refused (it succeeded)"; return; fi
    state >"$T/after"
    if cmp -s "$T/before" "$T/after"; then ok "$desc: refused, nothing changed"
    else not_ok "$desc: refused, nothing changed"; diff "$T/before" "$T/after" | head | diag; fi
}
readonly_case "read-only recovery dir: unplug" vn unplug -u "$victim"
readonly_case "read-only recovery dir: modify queue" vn modify -u "$victim" queue -n 99
readonly_case "read-only recovery dir: modify device" vn modify -u "$victim" device -t 4000
readonly_case "read-only recovery dir: num_vfs 1 -> 0" vn debug num_vfs pf=0 num_vfs=0
readonly_case "read-only recovery dir: num_vfs 1 -> 2" vn debug num_vfs pf=0 num_vfs=2
readonly_case "read-only recovery dir: hotplug" hotplug 83
chmod 0755 "$STATE/recovery"
check "then hotplug works" hotplug 82
check "then num_vfs works" sh -c "'$VIRTNET' --socket '$SOCK' debug num_vfs pf=0 num_vfs=3 | jq -e '.sriov.num_vfs == 3'"

# ---- kill -9 and start: identical --------------------------------------------------------------
snapshot() { vn list | jq -S '.devices'; vn query -a | jq -S '.devices'; }
snapshot >"$T/before"
kill -KILL "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
CTL_PID=
# A restore that fails at each step skips the device and leaves its recovery file as it was.
recs() { (cd "$STATE/recovery" && for f in *; do echo "$f"; cat "$f"; done); }
recs >"$T/recs.before"
for p in restore_after_rep restore_after_save; do
    VIRTNET_FAULT=$p start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
        not_ok "start with a fault at $p"
    check "a fault at $p: the hotplug PFs are not restored" sh -c \
        "'$VIRTNET' --socket '$SOCK' list | jq -e '[.devices[] | select(.device_type == \"hotplug\")] == []'"
    stop_controller
    recs >"$T/recs.after"
    check "a fault at $p: every recovery file as it was" cmp "$T/recs.before" "$T/recs.after"
done
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    not_ok "start after kill -9"
snapshot >"$T/after"
check "after kill -9 (and the failed restores): list and query -a identical" cmp "$T/before" "$T/after"

# ---- live update ---------------------------------------------------------------------------------
old=$CTL_PID
check "update -s hands over" sh -c "'$VIRTNET' --socket '$SOCK' update -s >'$T/upd.json'"
wait "$old" 2>/dev/null
# The new process writes its pid into the lock once it committed.
check "a new process serves" wait_until 10 sh -c "[ \$(cat '$STATE/virtio_net_controller.lock') != $old ]"
CTL_PID=$(cat "$STATE/virtio_net_controller.lock")
ndev=$(vn query -a -b | jq '.devices | length')
check "update -t: every device moved" sh -c "'$VIRTNET' --socket '$SOCK' update -t | jq -e --argjson n $ndev '.\"last status\" == \"success\" and (.devices | length == \$n)'"
snapshot >"$T/after"
check "after update -s: list and query -a identical" cmp "$T/before" "$T/after"
# A new binary that cannot take a device (the fault point fires in the new process).
newbin() { rm -f "$T/newbin"; printf '#!/bin/sh\n%s\n' "$1" >"$T/newbin"; chmod +x "$T/newbin"; }
newbin "VIRTNET_FAULT=emu_import exec '$DAEMON' \"\$@\""
check_fail "update -s -w fails when the new process cannot take a device" vn update -s -w
check "the old process keeps every device" sh -c "'$VIRTNET' --socket '$SOCK' health >/dev/null && [ \$(cat '$STATE/virtio_net_controller.lock') = $CTL_PID ]"
snapshot >"$T/after"
check "after the failed update: list and query -a identical" cmp "$T/before" "$T/after"
for p in update_device update_commit; do
    vn debug fault point=$p >/dev/null
    check_fail "update -s -w fails at $p" vn update -s -w
    snapshot >"$T/after"
    check "after a fault at $p: same process, list and query -a identical" sh -c \
        "[ \$(cat '$STATE/virtio_net_controller.lock') = $CTL_PID ] && cmp '$T/before' '$T/after'"
done

# A new binary that hangs: the update waits for it without freezing the controller.
newbin "exec sleep 60"
check "update -s answers at once: started" sh -c "timeout 2 '$VIRTNET' --socket '$SOCK' update -s | jq -e '.\"current status\" == \"started\"'"
vn update -t >"$T/ut.json"
check "update -t: in progress, with devices moved of total and the v24.10 keys" jq -e '."current status" == "in progress" and .status == "in progress" and ."devices total" > 0 and ."devices moved" == 0 and has("last live update status")' "$T/ut.json"
hung=$(jq -r '."new pid"' "$T/ut.json")
slow=0
for i in 1 2 3 4 5; do timeout 1 "$VIRTNET" --socket "$SOCK" health >/dev/null || slow=$((slow + 1)); done
check "health answers within 1 s, 5 times in a row" test "$slow" -eq 0
vuid=$(vn query -a -b | jq -r '[.devices[] | select(.device_type == "hotplug")][0].vuid')
check "query shows the devices updating" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' -b | jq -e '.devices[0].state == \"updating\"'"
vn unplug -u "$vuid" >/dev/null 2>"$T/err"
check "unplug meanwhile: busy: updating" grep -q "busy: updating" "$T/err"
hotplug 90 >/dev/null 2>"$T/err"
check "hotplug meanwhile: busy: updating" grep -q "busy: updating" "$T/err"
vn update -s >/dev/null 2>"$T/err"
check "a second update -s meanwhile: busy" grep -q "busy" "$T/err"
# The hanging binary was started for this test: it ends here, by its pid.
kill "$hung" 2>/dev/null
check "the update fails once the new binary is gone" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' update -t | jq -e '.\"last status\" == \"failed\" and .\"current status\" == \"inactive\" and (.error | test(\"went away\"))'"
snapshot >"$T/after"
check "after the hung update: same process, list and query -a identical" sh -c \
    "[ \$(cat '$STATE/virtio_net_controller.lock') = $CTL_PID ] && cmp '$T/before' '$T/after'"

last=$CTL_PID
stop_controller # not our child after the update: its exit status cannot be read
check "stops on SIGTERM" pid_gone "$last"
done_testing
