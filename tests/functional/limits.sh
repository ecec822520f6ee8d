# limits.sh - every documented limit (docs/devices.md, virtnet.conf(5)) tried
# at both edges: just inside is accepted, just outside is refused with the
# limit in the error.  Hotplug and modify through `virtnet` and JSON-RPC,
# config keys through `virtnet validate`.
#
# Devices use SF numbers of this test's slot only.  The SF number range
# itself (1000..99999) is tried only outside (999, 100000): its inside edges
# would name representors outside the slot.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

# Small numbers so every edge is reachable: queues are bounded by MSI-X (4)
# before max_virtq (6); one static PF with one VF for MSI-X changes.
MSIX=4 VIRTQ=6 QSIZE=1024
cat >"$T/virtnet.conf" <<CONF
{ "vf": { "vfs_per_pf": 1 },
  "emulation": { "hotplug_ports": 2, "num_pf": 1, "num_vf": 1, "num_msix": $MSIX, "max_virtq": $VIRTQ,
                 "max_queue_size": $QSIZE, "serial": "$SERIAL", "sf_num_base": $sfbase } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
for r in $(vn query -a -b | jq -r '.devices[].sf_rep_net_device'); do track_rep "$r"; done

# expect_refused DESC PATTERN CMD...: exit 1, one error line matching PATTERN.
expect_refused() {
    local desc=$1 pat=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -eq 1 ] && grep -q -- "$pat" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ]; then
        ok "$desc: refused"
    else
        not_ok "$desc: refused (rc $rc)"; diag <"$T/err"
        # A hotplug let through: remove it, so the next cases start from the same state.
        if [ $rc -eq 0 ] && { [ "$1 $2" = "vn hotplug" ] || [ "$1" = hp ]; }; then
            jq -r '.sf_rep_net_device // empty' "$T/out" 2>/dev/null | while read -r r; do track_rep "$r"; done
            v=$(jq -r '.vuid // empty' "$T/out" 2>/dev/null)
            [ -n "$v" ] && vn unplug -u "$v" >/dev/null
        fi
    fi
}

# ---- hotplug: each edge inside makes a device (then unplugged), outside does not.
SF=$((sfbase + 10))
hp() { vn hotplug -i mlx5_0 -m 02:00:00:00:00:21 -u "$SF" "$@"; }
# hotplug_ok DESC JQ-CHECK ARGS...: the device exists with what was asked, then goes.
hotplug_ok() {
    local desc=$1 want=$2; shift 2
    if hp "$@" >"$T/hp.json" 2>"$T/err"; then
        track_rep "$(jget .sf_rep_net_device <"$T/hp.json")"
        local vuid; vuid=$(jget .vuid <"$T/hp.json")
        if vn query -u "$vuid" | jq -e ".devices[0] | $want" >/dev/null; then ok "$desc: accepted"
        else not_ok "$desc: accepted, but query shows otherwise"; vn query -u "$vuid" -b | diag; fi
        vn unplug -u "$vuid" >/dev/null || not_ok "$desc: unplug after"
    else
        not_ok "$desc: accepted"; diag <"$T/err"
    fi
}
base="-t 1500 -n 2 -s 256"
expect_refused "hotplug MTU 67 (min 68)" "MTU 67 out of range \[68, 9216\]" hp -t 67 -n 2 -s 256
hotplug_ok "hotplug MTU 68" '.mtu == 68' -t 68 -n 2 -s 256
hotplug_ok "hotplug MTU 9216" '.mtu == 9216' -t 9216 -n 2 -s 256
expect_refused "hotplug MTU 9217 (max 9216)" "MTU 9217 out of range \[68, 9216\]" hp -t 9217 -n 2 -s 256
expect_refused "hotplug 0 queues" "0 queues cannot make a virtio-net device" hp -t 1500 -n 0 -s 256
expect_refused "hotplug 1 queue (no receive/transmit pair)" "1 queue cannot make a virtio-net device: it needs at least one receive/transmit pair" hp -t 1500 -n 1 -s 256
hotplug_ok "hotplug 2 queues (one pair)" '.max_queues == 2' -t 1500 -n 2 -s 256
hotplug_ok "hotplug $MSIX queues (MSI-X bound, below max_virtq $VIRTQ)" ".max_queues == $MSIX" -t 1500 -n $MSIX -s 256
expect_refused "hotplug $((MSIX + 1)) queues" "$((MSIX + 1)) queues out of range \[1, $MSIX\]" hp -t 1500 -n $((MSIX + 1)) -s 256
expect_refused "hotplug queue size 1 (min 2)" "queue size 1 must be a power of two in \[2, $QSIZE\]" hp -t 1500 -n 2 -s 1
hotplug_ok "hotplug queue size 2" '.max_queue_size == 2' -t 1500 -n 2 -s 2
hotplug_ok "hotplug queue size $QSIZE (max_queue_size)" ".max_queue_size == $QSIZE" -t 1500 -n 2 -s $QSIZE
expect_refused "hotplug queue size $((QSIZE * 2))" "queue size $((QSIZE * 2)) must be a power of two" hp -t 1500 -n 2 -s $((QSIZE * 2))
expect_refused "hotplug queue size $((QSIZE - 1)) (not a power of two)" "must be a power of two" hp -t 1500 -n 2 -s $((QSIZE - 1))
# SF numbers: only the refused side (see the header); never a name that exists.
for sf in 999 100000; do
    if ip link show "en3f0pf0sf$sf" >/dev/null 2>&1; then
        skip "hotplug SF number $sf: a netdev en3f0pf0sf$sf exists on this machine"
    else
        expect_refused "hotplug SF number $sf" "SF number $sf out of range \[1000, 99999\]" \
            vn hotplug -i mlx5_0 -m 02:00:00:00:00:21 $base -u $sf
        ip link show "en3f0pf0sf$sf" >/dev/null 2>&1 && { track_rep "en3f0pf0sf$sf"; not_ok "SF $sf: a representor was made"; }
    fi
done
SF=$((sfbase + 999)) hotplug_ok "hotplug SF number at the top of this test's slot" ".sf_num == $((sfbase + 999))" $base
# Raw JSON-RPC: u32 fields refuse 2^32 before any rule runs.
r=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"hotplug","params":{"ib_device":"mlx5_0","mac":"02:00:00:00:00:21","mtu":4294967296,"max_queues":2,"max_queue_size":256}}')
[ -n "$r" ] && printf '%s' "$r" | jq -e '.error.code == -32602 and (.error.message | contains("mtu"))' >/dev/null &&
    ok "hotplug mtu 2^32 over JSON-RPC: invalid params naming mtu" || { not_ok "hotplug mtu 2^32 over JSON-RPC"; echo "$r" | diag; }
check "hotplug edges: no device left behind" jq -e '[.devices[] | select(.device_type == "hotplug")] | length == 0' <(vn list)

# ---- modify device, on a hotplug PF.
hp $base >"$T/hp.json" || not_ok "hotplug for modify"
track_rep "$(jget .sf_rep_net_device <"$T/hp.json")"
V=$(jget .vuid <"$T/hp.json")
md() { vn modify -u "$V" device "$@"; }
# modify_ok DESC JQ-CHECK ARGS...
modify_ok() {
    local desc=$1 want=$2; shift 2
    if md "$@" >/dev/null 2>"$T/err" && vn query -u "$V" -b | jq -e ".devices[0] | $want" >/dev/null; then
        ok "$desc: accepted"
    else
        not_ok "$desc: accepted"; diag <"$T/err"
    fi
}
expect_refused "modify MTU 67" "MTU 67 out of range \[68, 9216\]" md -t 67
modify_ok "modify MTU 68" '.mtu == 68' -t 68
modify_ok "modify MTU 9216" '.mtu == 9216' -t 9216
expect_refused "modify MTU 9217" "MTU 9217 out of range \[68, 9216\]" md -t 9217
check "modify: refused MTUs left 9216" jq -e '.devices[0].mtu == 9216' <(vn query -u "$V" -b)
expect_refused "modify queue size 1" "queue size 1 must be a power of two in \[2, $QSIZE\]" md -q 1
modify_ok "modify queue size 2" '.max_queue_size == 2' -q 2
modify_ok "modify queue size $QSIZE" ".max_queue_size == $QSIZE" -q $QSIZE
expect_refused "modify queue size $((QSIZE * 2))" "must be a power of two in \[2, $QSIZE\]" md -q $((QSIZE * 2))
expect_refused "modify MSI-X on a PF" "only be modified on VFs" md -n $MSIX

# ---- modify queue: queue ids and the u32 moderation fields.
nq=$(vn query -u "$V" | jq '.devices[0].queues | length')
mq() { vn modify -u "$V" queue "$@"; }
check "modify queue id $((nq - 1)) (the last): accepted, the other queues untouched" sh -c "'$VIRTNET' --socket '$SOCK' modify -u '$V' queue -e event -n 7 -q $((nq - 1)) | jq -e '.queues[$((nq - 1))].period == 7 and ([.queues[:$((nq - 1))][] | .period != 7] | all)'"
expect_refused "modify queue id $nq (one past the last)" "queue $nq out of range: the device has $nq queues" mq -e event -q "$nq"
mod_rpc() { rpc_raw "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"modify\",\"params\":{\"vuid\":\"$V\",\"target\":\"queue\",$1}}"; }
# Moderation bounds (docs/rpc.md): period 0..4095 us, max_count 0..65535.
for fm in period:4095 max_count:65535; do
    f=${fm%:*} max=${fm#*:}
    r=$(mod_rpc "\"event_mode\":\"event\",\"$f\":$max")
    [ -n "$r" ] && printf '%s' "$r" | jq -e --arg f "$f" --argjson m "$max" '[.result.queues[] | .[$f] == $m] | all' >/dev/null &&
        ok "modify queue $f $max (its max): accepted" || { not_ok "modify queue $f $max: accepted"; echo "$r" | diag; }
    r=$(mod_rpc "\"event_mode\":\"event\",\"$f\":$((max + 1))")
    [ -n "$r" ] && printf '%s' "$r" | jq -e --arg f "$f" --arg m "$max" '.error.code == -32602 and (.error.message | contains($f) and contains($m))' >/dev/null &&
        ok "modify queue $f $((max + 1)): refused naming $f and $max" || { not_ok "modify queue $f $((max + 1)): refused"; echo "$r" | diag; }
    r=$(mod_rpc "\"event_mode\":\"event\",\"$f\":4294967296")
    [ -n "$r" ] && printf '%s' "$r" | jq -e '.error.code == -32602' >/dev/null &&
        ok "modify queue $f 4294967296: refused" || { not_ok "modify queue $f 4294967296: refused"; echo "$r" | diag; }
    r=$(mod_rpc "\"event_mode\":\"event\",\"$f\":-1")
    [ -n "$r" ] && printf '%s' "$r" | jq -e '.error.code == -32602' >/dev/null &&
        ok "modify queue $f -1: refused" || { not_ok "modify queue $f -1: refused"; echo "$r" | diag; }
done
vn unplug -u "$V" >/dev/null || not_ok "unplug the modify device"

# ---- MSI-X on the static VF: [2, num_msix], and enough for its queues.
vfq=$(vn query -p 0 -v 0 -b | jq '.devices[0].max_queues')
mv() { vn modify -p 0 -v 0 device "$@"; }
expect_refused "modify VF MSI-X 1 (min 2)" "MSI-X 1 out of range \[2, $MSIX\]" mv -n 1
expect_refused "modify VF MSI-X $((vfq - 1)) (fewer than its $vfq queues)" "cannot serve the device's $vfq queues" mv -n $((vfq - 1))
check "modify VF MSI-X $vfq (its queue count): accepted" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 0 -v 0 device -n $vfq | jq -e '.msix_num == $vfq'"
check "modify VF MSI-X $MSIX (num_msix): accepted" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 0 -v 0 device -n $MSIX | jq -e '.msix_num == $MSIX'"
expect_refused "modify VF MSI-X $((MSIX + 1)) (num_msix $MSIX)" "MSI-X $((MSIX + 1)) out of range \[2, $MSIX\]" mv -n $((MSIX + 1))
stop_controller

# ---- the max_virtq bound: queues at max_virtq when MSI-X allows more.
sed -i "s/\"num_msix\": $MSIX, \"max_virtq\": $VIRTQ/\"num_msix\": 8, \"max_virtq\": $VIRTQ/" "$T/virtnet.conf"
start_controller --config "$T/virtnet.conf" || { not_ok "controller restarts"; done_testing; }
hotplug_ok "hotplug $VIRTQ queues (max_virtq bound, MSI-X 8)" ".max_queues == $VIRTQ" -t 1500 -n $VIRTQ -s 256
expect_refused "hotplug $((VIRTQ + 1)) queues" "$((VIRTQ + 1)) queues out of range \[1, $VIRTQ\]" hp -t 1500 -n $((VIRTQ + 1)) -s 256

# ---- config keys with a range, through validate: both edges of each.
# conf_edge KEY-PATH OK... -- BAD...: a config with only that key set.
conf_edge() {
    local key=$1 v json; shift
    local want=true
    for v in "$@"; do
        if [ "$v" = -- ]; then want=false; continue; fi
        json=$(jq -n --arg k "$key" --argjson v "$v" 'setpath($k | split("."); $v)')
        printf '%s\n' "$json" >"$T/edge.conf"
        vn validate -f "$T/edge.conf" >"$T/val.json" 2>/dev/null
        if [ "$want" = true ]; then
            jq -e '.valid == true' "$T/val.json" >/dev/null && ok "config $key $v: valid" ||
                { not_ok "config $key $v: valid"; jq -c .errors "$T/val.json" | diag; }
        else
            jq -e --arg k "${key##*.}" '.valid == false and ([.errors[] | select(contains($k))] | length >= 1)' "$T/val.json" >/dev/null &&
                ok "config $key $v: refused, naming ${key##*.}" || { not_ok "config $key $v: refused"; jq -c . "$T/val.json" | diag; }
        fi
    done
}
conf_edge emulation.hotplug_ports 0 31 -- 32
conf_edge emulation.num_pf 0 4 -- 5
conf_edge emulation.num_msix 2 2048 -- 1 2049
conf_edge emulation.max_virtq 2 256 -- 1 257
conf_edge emulation.max_queue_size 2 32768 -- 1 65536 1000
conf_edge emulation.sf_num_base 1000 90000 -- 999 90001
conf_edge emulation.pf_total_sf 0 4096 -- 4097
conf_edge eth_vq_workers 1 24 -- 0 25
conf_edge admin_cmd_workers 1 16 -- 0 17
conf_edge sf_pool_percent 0 100 -- 101
stop_controller
done_testing
