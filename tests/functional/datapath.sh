# datapath.sh - real traffic through the sw provider, with peers nobody here
# wrote: a network namespace pings DPDK testpmd's virtio-user driver
# (icmpecho answers ARP and ICMP echo for any address) through a Linux bridge
# (and Open vSwitch's userspace datapath when installed), the device's
# representor, the controller's vhost-user back-end and the sw provider.
#
#   netns (peer) -- veth -- bridge -- representor (tap) == sw provider == virtio-user (testpmd)
#
# Cases: one queue pair with stats and query; a transitional (legacy, 10-byte
# header) device; two queue pairs with a 9000-byte MTU (ping -s 8000); OVS;
# unplug under traffic.  Interrupt moderation is tested in vhost_proto.sh:
# testpmd polls and asks for no interrupts (VRING_AVAIL_F_NO_INTERRUPT).
. "$top_srcdir/tests/functional/lib.sh"
. "$top_srcdir/tests/functional/dp_lib.sh"

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

peer_setup

# ---- one queue pair: ping, stats, query -------------------------------------------------
vuid=$(hotplug -m 02:00:00:00:04:01 -t 1500 -n 2 -s 256 -u "$sfbase")
rep=$(rep_of "$vuid")
ip link set "$rep" master "$BR"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:04:0a ""
check "testpmd attaches: both rings run" wait_until 30 rings_running "$vuid" 2
check "the peer reaches the virtio-user (ARP, first echo)" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "ping through bridge, representor and sw provider: 20 of 20 answered" -c 20 -i 0.05 -W 2 "$NET.2"
vn query -u "$vuid" >"$T/q.json"
check "query: DRIVER_OK, VERSION_1 and MRG_RXBUF negotiated, 12-byte header" jq -e '.devices[0] | (.driver_status | index("DRIVER_OK")) and (.negotiated_feature_names | index("VIRTIO_F_VERSION_1")) and (.negotiated_feature_names | index("VIRTIO_NET_F_MRG_RXBUF")) and .vnet_hdr_len == 12 and .vhost_connected' "$T/q.json"
check "query: rings have moved (avail and used indices)" jq -e '.devices[0].queues[1].used_idx >= 20 and .devices[0].queues[0].used_idx >= 20' "$T/q.json"
vn stats -u "$vuid" >"$T/st.json"
check "stats: echo requests received by the guest (RX queue 0, 65-127 byte frames)" jq -e '.device["queues-stats"][0] | .["VQ Index"] == 0 and .rx_65_to_127_octet_packets >= 20 and (.completed_desc | tonumber >= 20) and (.total_bytes | tonumber > 0)' "$T/st.json"
check "stats: echo replies sent by the guest (TX queue 1)" jq -e '.device["queues-stats"][1] | .tx_65_to_127_octet_packets >= 20 and (.received_desc | tonumber >= 20) and .bad_desc_errors == "0" and .invalid_buffer == "0" and .exceed_max_chain == "0"' "$T/st.json"
check "stats: device totals" jq -e '.device.totals | (.rx_packets | tonumber >= 21) and (.tx_packets | tonumber >= 21) and .rx_dropped_packets == "0"' "$T/st.json"
check "stats -q 1: one queue" sh -c "'$VIRTNET' --socket '$SOCK' stats -u '$vuid' -q 1 | jq -e '.device[\"queues-stats\"] | length == 1 and .[0][\"VQ Index\"] == 1'"
# Size buckets at their edge: an echo of 22 bytes of data is a 64-byte frame
# (14 + 20 + 8 + 22), one of 23 bytes a 65-byte frame; requests land in RX
# queue 0, the echoes in TX queue 1.
buckets() { # -> "rx64 rx65_127 tx64 tx65_127"
    vn stats -u "$vuid" | jq -r '.device["queues-stats"] | "\(.[0].rx_64_or_less_octet_packets) \(.[0].rx_65_to_127_octet_packets) \(.[1].tx_64_or_less_octet_packets) \(.[1].tx_65_to_127_octet_packets)"'
}
read -r a64 a127 b64 b127 < <(buckets)
peer_ping -q -c 10 -i 0.02 -W 1 -s 22 "$NET.2" >/dev/null 2>&1
read -r c64 c127 d64 d127 < <(buckets)
check "stats: 64-byte frames counted as 64_or_less (RX $((c64 - a64)), TX $((d64 - b64)) of 10)" \
    test $((c64 - a64)) -ge 10 -a $((d64 - b64)) -ge 10 -a $((c127 - a127)) -lt 10 -a $((d127 - b127)) -lt 10
peer_ping -q -c 10 -i 0.02 -W 1 -s 23 "$NET.2" >/dev/null 2>&1
read -r e64 e127 f64 f127 < <(buckets)
check "stats: 65-byte frames counted as 65_to_127 (RX $((e127 - c127)), TX $((f127 - d127)) of 10)" \
    test $((e127 - c127)) -ge 10 -a $((f127 - d127)) -ge 10 -a $((e64 - c64)) -lt 10 -a $((f64 - d64)) -lt 10
stop_testpmd
check "testpmd leaves: the device is disconnected, rings stopped" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].vhost_connected == false and .devices[0].queues[0].state == \"stopped\"'"
check "counters survive the disconnect" sh -c "'$VIRTNET' --socket '$SOCK' stats -u '$vuid' | jq -e '.device.totals.tx_packets | tonumber >= 21'"

# ---- OVS (userspace datapath) instead of the bridge, same device ------------------------
if command -v ovs-vswitchd >/dev/null 2>&1 && [ -f /usr/share/openvswitch/vswitch.ovsschema ]; then
    OVS_DIR=$T/ovs
    mkdir -p "$OVS_DIR"
    ovsctl() { ovs-vsctl --db=unix:$OVS_DIR/db.sock --timeout=10 "$@"; }
    (
        export OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR
        ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema &&
            ovsdb-server "$OVS_DIR/conf.db" --remote=punix:$OVS_DIR/db.sock --pidfile=$OVS_DIR/db.pid \
                --detach --log-file=$OVS_DIR/db.log --unixctl=$OVS_DIR/db.ctl &&
            ovs-vsctl --db=unix:$OVS_DIR/db.sock --no-wait init &&
            ovs-vswitchd unix:$OVS_DIR/db.sock --pidfile=$OVS_DIR/vs.pid --detach \
                --log-file=$OVS_DIR/vs.log --unixctl=$OVS_DIR/vs.ctl
    ) >"$T/ovs-start.log" 2>&1
    ip link set "$rep" nomaster
    ip link set "$VA" nomaster
    check "OVS bridge (datapath netdev) with the veth and the representor" \
        ovsctl add-br "$OVSBR" -- set bridge "$OVSBR" datapath_type=netdev -- add-port "$OVSBR" "$VA" \
        -- add-port "$OVSBR" "$rep"
    ip link set "$OVSBR" up 2>/dev/null
    start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:04:0a ""
    check "testpmd attaches again" wait_until 30 rings_running "$vuid" 2
    check "the peer reaches the virtio-user through OVS" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
    pings_ok "ping through OVS: 20 of 20 answered" -c 20 -i 0.05 -W 2 "$NET.2"
    stop_testpmd
    ovsctl del-br "$OVSBR"
    ip link set "$VA" master "$BR"
else
    skip "OVS path: openvswitch-switch not installed"
fi
ip link set "$rep" nomaster 2>/dev/null

# ---- transitional device: legacy layout, 10-byte header ---------------------------------
# DPDK's virtio-user never sends SET_FEATURES for a legacy device (it syncs
# features on FEATURES_OK, which legacy drivers do not set) yet uses indirect
# descriptors: the device offers none, so it stays within what it negotiated.
lvuid=$(hotplug -m 02:00:00:00:04:02 -t 1500 -n 2 -s 256 -u $((sfbase + 1)) -l)
lf=$(vn query -u "$lvuid" -b | jq -r '.devices[0].features')
vn modify -u "$lvuid" device -f "$(printf '0x%x' $(( lf & ~(1 << 28) )))" >/dev/null
lrep=$(rep_of "$lvuid")
ip link set "$lrep" master "$BR"
start_testpmd "$(sock_of "$lvuid")" 1 02:00:00:00:04:0b ",mrg_rxbuf=0"
check "legacy: testpmd attaches" wait_until 30 rings_running "$lvuid" 2
check "legacy: 10-byte virtio-net header, no VERSION_1" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$lvuid' | jq -e '.devices[0] | .vnet_hdr_len == 10 and .transitional == 1 and (.negotiated_feature_names | index(\"VIRTIO_F_VERSION_1\") | not)'"
check "legacy: the peer reaches the virtio-user" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "legacy: 20 of 20 answered, 1400-byte payloads" -c 20 -i 0.05 -W 2 -s 1400 "$NET.2"
stop_testpmd
ip link set "$lrep" nomaster

# ---- two queue pairs and a 9000-byte MTU --------------------------------------------------
mvuid=$(hotplug -m 02:00:00:00:04:03 -t 9000 -n 4 -s 256 -u $((sfbase + 2)))
mrep=$(rep_of "$mvuid")
ip link set "$VA" mtu 9000
ip -n "$NS" link set "$VB" mtu 9000
ip link set "$mrep" master "$BR"
check "MTU 9000 on the representor" sh -c "[ \$(cat /sys/class/net/$mrep/mtu) -ge 9000 ]"
start_testpmd "$(sock_of "$mvuid")" 2 02:00:00:00:04:0c "" --max-pkt-len=9100 --enable-scatter
check "multi-queue: testpmd attaches, 4 rings run" wait_until 30 rings_running "$mvuid" 4
check "multi-queue: two queue pairs offered and negotiated (MQ)" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$mvuid' | jq -e '.devices[0] | .vhost_queue_pairs == 2 and (.negotiated_feature_names | index(\"VIRTIO_NET_F_MQ\"))'"
check "multi-queue: the peer reaches the virtio-user" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "9000-byte MTU: ping -s 8000 (no fragmentation), 10 of 10 answered" -c 10 -i 0.05 -W 2 -s 8000 -M do "$NET.2"
# Many flows, so the tap spreads them over both of its queues.
for i in $(seq 10 41); do peer_ping -c 1 -W 1 "$NET.$i" >/dev/null 2>&1; done
vn stats -u "$mvuid" >"$T/mst.json"
check "jumbo frames counted (4096-8191 bytes)" jq -e '[.device["queues-stats"][] | select(.["VQ Index"] % 2 == 0) | .rx_4096_to_8191_octet_packets] | add >= 10' "$T/mst.json"
check "both receive queues carried frames" jq -e '[.device["queues-stats"][] | select(.["VQ Index"] % 2 == 0) | .total_packets | tonumber | select(. > 0)] | length == 2' "$T/mst.json"

# ---- unplug under traffic -----------------------------------------------------------------
peer_ping -c 200 -i 0.01 -W 1 "$NET.2" >/dev/null 2>&1 &
ping_pid=$!
vn unplug -u "$mvuid" >/dev/null
check "unplug with a driver attached and traffic flowing" vn health
wait "$ping_pid" 2>/dev/null
check "its socket, transmit record and representor are gone" sh -c "[ ! -e '$STATE/vhost/$mvuid.sock' ] && [ ! -e '$STATE/vhost/$mvuid.txrec' ] && ! ip link show '$mrep' >/dev/null 2>&1"
stop_testpmd
check "the other devices are untouched" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.devices | length == 2'"

stop_controller
check "the controller exits cleanly" test $? -eq 0
done_testing
