# iommu.sh - VIRTIO_F_IOMMU_PLATFORM (a guest behind a vIOMMU) against a
# scripted front-end (vhost_peer.py) that plays QEMU's vIOMMU: ring and buffer
# addresses are IOVAs, every translation is asked for (BACKEND_IOTLB_MSG MISS
# on the SET_BACKEND_REQ_FD channel) and answered (IOTLB_MSG UPDATE); an
# invalidated page is asked for again.  Then the front-end lies: an update
# outside its memory table, messages it must not send, a descriptor at an
# IOVA nobody maps (the queue waits and `query` says so; the answer then
# refuses the access: that queue stops, NEEDS_RESET).  The controller and a
# second device are unaffected throughout.  The real guest (QEMU with
# intel-iommu) is tests/functional/guest_iommu.sh.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
IOMMU_BIT=$((1 << 33))
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
# The binary `update -s` runs (a live update must refuse a session with IOMMU_PLATFORM).
ln -s "$DAEMON" "$T/newbin"
start_controller --config "$T/virtnet.conf" --update-binary "$T/newbin" ||
    { not_ok "controller starts"; done_testing; }

# Device A asks for IOMMU_PLATFORM (hotplug -f adds bits to the default set); B does not.
vn hotplug -i mlx5_0 -m 02:00:00:00:0e:01 -t 1500 -n 2 -s 256 -u "$sfbase" -f 0x200000000 >"$T/a.json"
vn hotplug -i mlx5_0 -m 02:00:00:00:0e:02 -t 1500 -n 2 -s 256 -u $((sfbase + 1)) >"$T/b.json"
rep_a=$(jget .sf_rep_net_device <"$T/a.json"); vuid_a=$(jget .vuid <"$T/a.json")
rep_b=$(jget .sf_rep_net_device <"$T/b.json"); vuid_b=$(jget .vuid <"$T/b.json")
track_rep "$rep_a"; track_rep "$rep_b"
# Only our own frames on the representor (no IPv6 autoconfiguration chatter).
sysctl -qw "net.ipv6.conf.$rep_a.disable_ipv6=1" 2>/dev/null || true
qa() { vn query -u "$vuid_a" >"$T/qa.json"; }
qa
vn query -u "$vuid_b" >"$T/qb.json"
sock_a=$(jget '.devices[0].vhost_socket' <"$T/qa.json")
sock_b=$(jget '.devices[0].vhost_socket' <"$T/qb.json")
check "query: A offers IOMMU_PLATFORM, not configuration-only, its IOTLB idle" jq -e '.devices[0] | (.feature_names | index("VIRTIO_F_IOMMU_PLATFORM")) and (.config_only_feature_names | index("VIRTIO_F_IOMMU_PLATFORM") | not) and .iotlb.active == false and .iotlb.entries == 0' "$T/qa.json"
check "query: A's offered_features has bit 33" python3 -c "
import json,sys; sys.exit(0 if int(json.load(open('$T/qa.json'))['devices'][0]['offered_features'],16) & $IOMMU_BIT else 1)"
check "query: B (default features) neither offers it nor shows an IOTLB" jq -e '.devices[0] | (.feature_names | index("VIRTIO_F_IOMMU_PLATFORM") | not) and (has("iotlb") | not)' "$T/qb.json"

peer() { # SOCKET SCENARIO [ARGS]; its JSON goes to $T/peer.out
    local s=$1; shift
    timeout 30 $PEER "$s" "$@" >"$T/peer.out" 2>&1; local rc=$?
    cat "$T/peer.out" >>"$T/peer.log"; return $rc
}
check_peer() { # DESC SOCKET SCENARIO [ARGS]
    local desc=$1; shift
    if peer "$@"; then ok "$desc"; else not_ok "$desc"; diag <"$T/peer.out"; fi
}

# 1. A front-end with a vIOMMU: everything through the IOTLB.
check_peer "IOMMU: rings and buffers at IOVAs, translations asked for, 16 frames sent, 4 received" \
    "$sock_a" iommu --ifname "$rep_a"
check "IOMMU: the used ring was asked for write access, an invalidated page asked for again" \
    jq -e '.rings_asked and .used_ring_write and .reasked_after_invalidate and .rx == true' "$T/peer.out"
qa
check "query: A's IOTLB counters (updates, misses sent, an invalidation)" jq -e '.devices[0].iotlb | .updates > 0 and .misses_sent > 0 and .invalidations >= 1 and .misses_unsent == 0 and .denied == 0' "$T/qa.json"
check "query: the session is over, the IOTLB forgotten" jq -e '.devices[0].iotlb.entries == 0 and .devices[0].iotlb.active == false' "$T/qa.json"
check_peer "B: a front-end without a vIOMMU works as before" "$sock_b" good
check_peer "B: IOTLB_MSG to a device without IOMMU_PLATFORM closes that connection" "$sock_b" iommu-none

# 2. Lies, each closing its own connection only.
check_peer "an IOTLB update outside the memory table closes the connection" "$sock_a" iommu-bad-uaddr
check "query: A says why" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid_a' | jq -e '.devices[0].vhost_last_error | test(\"not inside one region of the memory table\")'"
for k in miss wrap size0 perm; do
    check_peer "IOTLB message '$k' from the front-end closes the connection" "$sock_a" iommu-bad-msg --kind "$k"
done
check "the controller is alive" vn health
check_peer "B still works" "$sock_b" good
check_peer "A takes a fresh front-end with a vIOMMU" "$sock_a" iommu

# 3. A descriptor at an IOVA nobody maps: the queue waits, visibly; then the answer
# refuses the access and that queue stops with NEEDS_RESET.
mkfifo "$T/um.in"
$PEER "$sock_a" iommu-unmapped <"$T/um.in" >"$T/um.out" 2>&1 &
um_pid=$!
exec 7>"$T/um.in"
check "unmapped IOVA: the back-end asked for it, the queue waits without NEEDS_RESET" \
    wait_until 15 jq -e '.waiting and .asked and .still' "$T/um.out"
qa
check "query: IOMMU_PLATFORM negotiated, the IOTLB active" jq -e '.devices[0] | (.negotiated_feature_names | index("VIRTIO_F_IOMMU_PLATFORM")) and .iotlb.active and .iotlb.entries > 0' "$T/qa.json"
check "query: the transmit queue says it waits for a translation" jq -e '.devices[0].queues[1].error | test("IOTLB translation")' "$T/qa.json"
check_peer "meanwhile B is unaffected" "$sock_b" good
# The IOTLB and the back-end channel are not handed over: a live update refuses, nothing moves.
pid_before=$CTL_PID
check_fail "update -s refuses while a session has IOMMU_PLATFORM negotiated" \
    "$VIRTNET" --socket "$SOCK" update -s -w
check "the update says why" grep -q "cannot hand over a session with VIRTIO_F_IOMMU_PLATFORM" "$CTL_LOG"
check "the same controller still serves A: connected, its queue still waiting" sh -c "kill -0 $pid_before && '$VIRTNET' --socket '$SOCK' query -u '$vuid_a' | jq -e '.devices[0] | .vhost_connected and (.queues[1].error | test(\"IOTLB translation\"))'"
check_peer "and B" "$sock_b" good
(echo go >&7) 2>/dev/null || true  # a subshell: a front-end gone early must not SIGPIPE the test
exec 7>&-
check "the front-end finishes" wait_until 15 pid_gone "$um_pid"
wait "$um_pid"; rc=$?
cat "$T/um.out" >>"$T/peer.log"
[ $rc -eq 0 ] && ok "a write-only answer for a transmit buffer: that queue stops, NEEDS_RESET" \
    || { not_ok "a write-only answer for a transmit buffer: that queue stops, NEEDS_RESET (rc $rc)"; diag <"$T/um.out"; }
qa
check "query: A counts the refused access" jq -e '.devices[0].iotlb.denied >= 1' "$T/qa.json"
check "the controller logged the guest error" grep -q "vIOMMU does not let the device read or write" "$CTL_LOG"
check "the controller is alive" vn health
check_peer "B still works" "$sock_b" good
check_peer "A works again with a fresh front-end" "$sock_a" iommu
stop_controller
done_testing
