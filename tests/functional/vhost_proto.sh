# vhost_proto.sh - the vhost-user back-end against a scripted front-end
# (vhost_peer.py) that behaves, then misbehaves on purpose: bad payload sizes,
# too many fds, out-of-range rings, oversized rings, a wrong MTU, requests
# before SET_OWNER, unknown requests, hang-ups mid-setup and mid-message, the
# memory table replaced while rings run, guest rings that loop, point outside
# memory or move their avail index back, a second front-end.  After each: the
# controller is alive and the device takes a fresh, good front-end.  Also: the
# socket's place and modes, receive with merged buffers, interrupt moderation,
# restart, unplug and hotplug rollback.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vn hotplug -i mlx5_0 -m 02:00:00:00:03:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json"); vuid=$(jget .vuid <"$T/hp.json")
track_rep "$rep"
# Only our own frames on the representor (no IPv6 autoconfiguration chatter).
sysctl -qw "net.ipv6.conf.$rep.disable_ipv6=1" 2>/dev/null || true

vn query -p 0 >"$T/q.json"
sock=$(jget '.devices[0].vhost_socket' <"$T/q.json")
check "query: vhost socket <state-dir>/vhost/<VUID>.sock" test "$sock" = "$STATE/vhost/$vuid.sock"
check "the socket exists, mode 0660, its dir 0750" sh -c "[ -S '$sock' ] && [ \$(stat -c %a '$sock') = 660 ] && [ \$(stat -c %a '$STATE/vhost') = 750 ]"
check "its transmit record: a regular file, mode 0600" sh -c "[ -f '$STATE/vhost/$vuid.txrec' ] && [ ! -L '$STATE/vhost/$vuid.txrec' ] && [ \$(stat -c %a '$STATE/vhost/$vuid.txrec') = 600 ]"
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
nobody_cannot_connect() {
    ! asnobody /usr/bin/python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
        "$1" 2>/dev/null
}
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
    asnobody /usr/bin/python3 -c pass 2>/dev/null; then
    # Another local user must not reach a guest's memory through the device: the path is closed to it.
    chmod 0755 "$T" "$STATE"
    check "an unprivileged user cannot connect to the vhost-user socket" nobody_cannot_connect "$sock"
    # Control: with the modes opened up the same user could (so the check above can fail).
    chmod 0755 "$STATE/vhost"; chmod 0666 "$sock"
    nobody_can_connect() { ! nobody_cannot_connect "$1"; }
    check "(control: with modes 0755/0666 it could)" nobody_can_connect "$sock"
    chmod 0750 "$STATE/vhost"; chmod 0660 "$sock"
    chmod 0700 "$T"; chmod 0750 "$STATE"
else
    skip "unprivileged vhost-user access: needs root, user nobody, setpriv and /usr/bin/python3"
fi
check "query: not connected, no driver status" jq -e '.devices[0] | .vhost_connected == false and .driver_status == [] and (.queues | length == 2) and .queues[0].state == "stopped"' "$T/q.json"

# peer SCENARIO [ARGS]: runs the scripted front-end; its JSON goes to $T/peer.out.
peer() { timeout 30 $PEER "$sock" "$@" >"$T/peer.out" 2>&1; local rc=$?; cat "$T/peer.out" >>"$T/peer.log"; return $rc; }
check_peer() { # DESC SCENARIO [ARGS]
    local desc=$1; shift
    if peer "$@"; then ok "$desc"; else not_ok "$desc"; diag <"$T/peer.out"; fi
}

check_peer "a good front-end: features, MTU, memory, rings, 16 frames sent" good --mtu 1500
check "good: offers the device's features and one queue pair" jq -e '.pairs == 1 and (.offered | test("^0x1"))' "$T/peer.out"
check_peer "receive: a 1000-byte frame fills 4 merged 256-byte buffers (num_buffers 4)" rx --ifname "$rep" --frames 8 --size 1000 --rx-buf 256
vn stats -p 0 >"$T/st.json"
check "stats: what the front-end sent and received is counted" jq -e '.device.packet_counters == "Enabled" and (.device["queues-stats"] | length == 2) and (.device["queues-stats"][1].tx_64_or_less_octet_packets >= 16) and (.device["queues-stats"][1].completed_desc | tonumber >= 16) and (.device["queues-stats"][0].rx_512_to_1023_octet_packets >= 8) and (.device.totals.tx_packets | tonumber >= 16)' "$T/st.json"

# Misbehaviour: each breaks its own connection only.
for sc in bad-size too-many-fds way-too-many-fds bad-queue big-ring bad-mtu before-owner unknown \
    bad-features mid-setup mid-message stall; do
    check_peer "$sc: the back-end closes that connection" "$sc"
    check "$sc: the controller is alive" vn health
    check_peer "$sc: then a fresh front-end works" good
done
check "query: the last refusal is shown" sh -c "'$VIRTNET' --socket '$SOCK' query -p 0 | jq -e '.devices[0].vhost_last_error | length > 0'"

check_peer "INFLIGHT_SHMFD: a region handed out (split layout, nothing in flight), taken back; a short one refused" inflight
check "inflight: the controller is alive" vn health
# The geometry GET_INFLIGHT_FD asks for, against the device (-n 2: 2 rings of at most 256):
# the edges inside are granted (so a refusal below is not the peer's doing), each outside refused.
check_peer "inflight: 2 queues of 256 (the device's maximum) granted" inflight-geometry --nq 2 --qs 256 --expect accept
check_peer "inflight: 1 queue of 2 granted" inflight-geometry --nq 1 --qs 2 --expect accept
for g in "2 512 queue size above the device's maximum" "2 65535 queue size far above, not a power of two" \
    "2 192 queue size not a power of two" "2 255 queue size not a power of two" \
    "3 256 more queues than the device has" "0 256 no queue" "2 0 queue size 0"; do
    read -r nq qs why <<<"$g"
    check_peer "inflight: $nq queues of $qs refused ($why)" inflight-geometry --nq "$nq" --qs "$qs" --expect refuse
    check "inflight $nq x $qs: the refusal is named in query" sh -c "'$VIRTNET' --socket '$SOCK' query -p 0 | jq -e '.devices[0].vhost_last_error | test(\"in-flight region for $nq queues of $qs descriptors refused\")'"
done
check_peer "inflight refusals: then a fresh front-end works" good
check_peer "memory table replaced (two regions) while rings run: traffic goes on" mem-change
check_peer "a descriptor loop stops the ring: NEEDS_RESET, error eventfd, reset clears it" guest-loop
check_peer "a buffer outside guest memory stops the ring with NEEDS_RESET" guest-oob
check_peer "avail->idx moved back after 4 frames stops the ring with NEEDS_RESET" guest-idx-back
check "the log names the index read and how many were taken" \
    grep -q "avail index moved more than the queue size ahead (avail index 0, 4 taken)" "$CTL_LOG"
vn stats -p 0 -q 1 >"$T/st1.json"
check "stats: the guest errors are counted" jq -e '.device["queues-stats"][0] | (.exceed_max_chain | tonumber >= 1) and (.invalid_buffer | tonumber >= 1) and (.avail_idx_errors | tonumber >= 1)' "$T/st1.json"
check "the controller is alive after guest errors" vn health
check_peer "and a fresh front-end works" good

# One front-end at a time: a second is refused while the first holds the device.
mkfifo "$T/hold.in"
$PEER "$sock" hold <"$T/hold.in" >"$T/hold.out" 2>&1 &
hold_pid=$!
exec 7>"$T/hold.in"
check "a front-end holds the device" wait_until 10 grep -q connected "$T/hold.out"
vn query -p 0 >"$T/q2.json"
check "query: connected, DRIVER_OK, negotiated features, rings running" jq -e '.devices[0] | .vhost_connected and (.driver_status | index("DRIVER_OK")) and (.negotiated_feature_names | index("VIRTIO_F_VERSION_1")) and .queues[0].state == "running" and .queues[1].state == "running" and .queues[0].enabled and .queues[0].size == 256' "$T/q2.json"
check_peer "a second front-end is refused" second
exec 7>&-
check "the first front-end leaves" wait_until 10 pid_gone "$hold_pid"
wait "$hold_pid" 2>/dev/null
check "query: disconnected again" sh -c "'$VIRTNET' --socket '$SOCK' query -p 0 | jq -e '.devices[0].vhost_connected == false'"

# Interrupt moderation: per batch by default, coalesced by a period.
check_peer "event mode: 32 frames, one kick each" irq --frames 32 --gap-ms 2
n_event=$(jget .interrupts <"$T/peer.out")
# The longest period allowed (4095 us) over 32 frames sent 0.1 ms apart (about 3 ms in all).
vn modify -p 0 queue -e event -n 4095 >/dev/null
check_peer "event mode with a 4 ms period: the same 32 frames" irq --frames 32 --gap-ms 0.1
n_coal=$(jget .interrupts <"$T/peer.out")
check "moderation changes the interrupt count ($n_event -> $n_coal)" sh -c "[ '$n_event' -ge 16 ] && [ '$n_coal' -le 8 ]"
vn modify -p 0 queue -e adaptive -n 0 -c 0 >/dev/null
check_peer "adaptive mode: light traffic gets its interrupts at once" irq --frames 16 --gap-ms 2
check "adaptive: one interrupt per frame under light load" jq -e '.interrupts >= 8' "$T/peer.out"
vn stats -p 0 -q 1 >"$T/st2.json"
check "stats: interrupts and kicks are counted" jq -e '.device["queues-stats"][0] | (.interrupts | tonumber >= 40) and (.kicks | tonumber >= 80)' "$T/st2.json"
vn modify -p 0 queue -e event -n 0 -c 0 >/dev/null

# A restart recreates the socket at the same path; unplug removes it.
stop_controller
check "after a clean stop the socket is gone" test ! -e "$sock"
start_controller --config "$T/virtnet.conf" || not_ok "restart"
check "after a restart the socket is back at the same path" test -S "$sock"
check_peer "and a front-end works again" good

# Hotplug rollback undoes the back-end too.
vn debug fault point=hotplug_after_rep >/dev/null
vn hotplug -i mlx5_0 -m 02:00:00:00:03:02 -t 1500 -n 2 -s 256 -u $((sfbase + 1)) >/dev/null 2>&1
# (state/vhost holds each device's socket and transmit record: files of one device only.)
check "a failed hotplug leaves no vhost socket or record" sh -c "[ \$(ls '$STATE/vhost' | sed 's/\\.[a-z]*\$//' | sort -u | wc -l) -eq 1 ]"
vn unplug -p 0 >/dev/null
check "unplug removes the socket" test ! -e "$sock"

stop_controller
done_testing
