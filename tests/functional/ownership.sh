# ownership.sh - representors are provably ours: a tap another program made
# under a representor's name is never adopted or deleted; representors that
# carry this controller's mark but belong to no device (a crash mid-hotplug or
# mid-unplug, a recovery file deleted while the controller was stopped) are
# removed at the next start; a kill -9 loop during hotplug/unplug churn leaves
# no orphan and `list` equal to the recovery files.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
hp() { # SF [MAC-SUFFIX]: prints the VUID
    vn hotplug -i mlx5_0 -m "02:00:00:00:0c:${2:-01}" -t 1500 -n 2 -s 256 -u "$1" >"$T/hp.out" &&
        jq -r .vuid "$T/hp.out"
}
rep_name() { echo "en3f0pf0sf$1"; }
alias_of() { cat "/sys/class/net/$1/ifalias" 2>/dev/null; }

# ---- a foreign tap with a representor's name ----------------------------------------------------
foreign=$(rep_name $((sfbase + 1)))
track_rep "$foreign"
ip tuntap add dev "$foreign" mode tap multi_queue vnet_hdr
fidx=$(cat "/sys/class/net/$foreign/ifindex")
vn hotplug -i mlx5_0 -m 02:00:00:00:0c:01 -t 1500 -n 2 -s 256 -u $((sfbase + 1)) >/dev/null 2>"$T/err"
check "hotplug onto another program's tap is refused" grep -q "not this controller's" "$T/err"
check "the foreign tap is left as it was" sh -c "[ \$(cat /sys/class/net/$foreign/ifindex) = $fidx ] && [ -z \"\$(cat /sys/class/net/$foreign/ifalias)\" ]"
check "no device was made" sh -c "'$VIRTNET' --socket '$SOCK' query -a -b | jq -e '.devices == []'"
ip link del "$foreign"

# ---- marks ------------------------------------------------------------------------------------------
v1=$(hp $((sfbase + 2)) 02); track_rep "$(rep_name $((sfbase + 2)))"
check "a representor carries the controller's mark and its device" \
    test "$(alias_of "$(rep_name $((sfbase + 2)))")" = "virtnet:$SERIAL:$v1"

# ---- a device that fails to restore keeps its representor ------------------------------------------
r1=$(rep_name $((sfbase + 2)))
idx1=$(cat "/sys/class/net/$r1/ifindex")
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
VIRTNET_FAULT=restore_after_rep start_controller --config "$T/virtnet.conf" ||
    not_ok "start with a failing restore"
check "a device that fails to restore is not there" sh -c \
    "! '$VIRTNET' --socket '$SOCK' query -u '$v1' >/dev/null 2>&1"
check "its representor is not reaped (a recovery file still names it)" \
    test "$(cat "/sys/class/net/$r1/ifindex" 2>/dev/null)" = "$idx1"
stop_controller
start_controller --config "$T/virtnet.conf" || not_ok "start again"
check "the next start restores it on the same representor" sh -c \
    "'$VIRTNET' --socket '$SOCK' query -u '$v1' -b | jq -e '.devices[0].sf_rep_ifindex == $idx1'"

# ---- orphans after a crash or a removed recovery file -----------------------------------------------
v2=$(hp $((sfbase + 3)) 03); track_rep "$(rep_name $((sfbase + 3)))"
v3=$(hp $((sfbase + 4)) 04); track_rep "$(rep_name $((sfbase + 4)))"
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
rm "$STATE/recovery/$v2"                                  # the vendor allows this while stopped
jq '.state = "creating"' "$STATE/recovery/$v3" >"$T/r" && cp "$T/r" "$STATE/recovery/$v3"  # crash mid-hotplug
start_controller --config "$T/virtnet.conf" || not_ok "start after kill -9"
check "a representor whose recovery file was removed is deleted" test ! -e "/sys/class/net/$(rep_name $((sfbase + 3)))"
check "an interrupted hotplug is rolled back: no device, no file, no representor" sh -c \
    "! '$VIRTNET' --socket '$SOCK' query -u '$v3' >/dev/null 2>&1 && [ ! -e '$STATE/recovery/$v3' ] && [ ! -e /sys/class/net/$(rep_name $((sfbase + 4))) ]"
check "the other device is back with its representor" sh -c \
    "'$VIRTNET' --socket '$SOCK' query -u '$v1' -b | jq -e '.devices[0].sf_rep_ifindex > 0' && [ -e /sys/class/net/$(rep_name $((sfbase + 2))) ]"
check "the start says why it removed them" sh -c "grep -q 'no device' '$CTL_LOG' && grep -q 'interrupted while creating' '$CTL_LOG'"
jq '.state = "removing"' "$STATE/recovery/$v1" >"$T/r"
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
cp "$T/r" "$STATE/recovery/$v1"                            # crash mid-unplug
start_controller --config "$T/virtnet.conf" || not_ok "start after kill -9"
check "an interrupted unplug is finished: no device, no file, no representor" sh -c \
    "'$VIRTNET' --socket '$SOCK' query -a -b | jq -e '.devices == []' && [ ! -e '$STATE/recovery/$v1' ] && [ ! -e /sys/class/net/$(rep_name $((sfbase + 2))) ]"

# ---- kill -9 during hotplug/unplug churn ------------------------------------------------------------
for s in $(seq 10 13); do track_rep "$(rep_name $((sfbase + s)))"; done
ours() { # representors carrying this controller's mark, sorted
    for d in /sys/class/net/*; do
        case "$(cat "$d/ifalias" 2>/dev/null)" in "virtnet:$SERIAL:"*) basename "$d";; esac
    done | LC_ALL=C sort
}
bad=0
for round in $(seq 1 8); do
    ( for k in $(seq 1 40); do
          s=$((sfbase + 10 + k % 4))
          "$VIRTNET" --socket "$SOCK" hotplug -i mlx5_0 -m "02:00:00:00:0d:0$((k % 4))" -t 1500 \
              -n 2 -s 256 -u "$s" >/dev/null 2>&1
          v=$("$VIRTNET" --socket "$SOCK" query -a -b 2>/dev/null | jq -r '.devices[0].vuid // empty')
          [ -n "$v" ] && "$VIRTNET" --socket "$SOCK" unplug -u "$v" >/dev/null 2>&1
      done ) &
    churn=$!
    # A random moment in the churn (bounded: at most ~0.5 s).
    wait_until 1 sh -c "[ \$(od -An -N1 -tu1 /dev/urandom) -lt 40 ]"
    kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
    wait "$churn" 2>/dev/null
    start_controller --config "$T/virtnet.conf" || { not_ok "round $round: start"; break; }
    want=$(ls "$STATE/recovery" | LC_ALL=C sort | tr '\n' ' ')
    have=$(vn list | jq -r '.devices[].vuid' | LC_ALL=C sort | tr '\n' ' ')
    reps=$(vn query -a -b | jq -r '.devices[].sf_rep_net_device' | LC_ALL=C sort | tr '\n' ' ')
    [ "$want" = "$have" ] && [ "$(ours | tr '\n' ' ')" = "$reps" ] || {
        bad=$((bad + 1))
        echo "round $round: files [$want] devices [$have] representors [$reps] marked [$(ours | tr '\n' ' ')]" | diag
    }
done
check "after 8 kill -9 during churn: list equals the recovery files, no orphan representor" test "$bad" -eq 0

stop_controller
done_testing
