# packed.sh - packed virtqueues (VIRTIO_F_RING_PACKED) end to end: DPDK
# testpmd's virtio-user driver with packed_vq=1 on a device that has the bit
# answers pings through the representor, the sw provider walking packed rings;
# the ring base survives a stop and a new front-end (GET_VRING_BASE /
# SET_VRING_BASE in the packed form); a device without the bit gives the same
# driver split rings.
#
#   netns (peer) -- veth -- bridge -- representor (tap) == sw provider == virtio-user (testpmd)
. "$top_srcdir/tests/functional/lib.sh"
. "$top_srcdir/tests/functional/dp_lib.sh"

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
check "list: packed is a supported queue type" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.controller.supported_virt_queue_types == [\"split\", \"packed\"]'"
peer_setup

# hotplug -f adds bits to the default set: RING_PACKED (bit 34).
vuid=$(hotplug -m 02:00:00:00:0d:01 -t 1500 -n 2 -s 256 -u "$sfbase" -f 0x400000000)
rep=$(rep_of "$vuid")
ip link set "$rep" master "$BR"
check "the device has RING_PACKED" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].feature_names | index(\"VIRTIO_F_RING_PACKED\")'"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:0d:0a ",packed_vq=1"
check "testpmd (packed_vq=1) attaches: both rings run" wait_until 30 rings_running "$vuid" 2
check "RING_PACKED negotiated" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].negotiated_feature_names | index(\"VIRTIO_F_RING_PACKED\")'"
check "the peer reaches the virtio-user over packed rings" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "packed: 300 of 300 answered (the rings wrap: 256 slots)" -c 300 -i 0.01 -W 2 "$NET.2"
pings_ok "packed: 20 of 20 answered with 1400-byte echoes" -c 20 -i 0.05 -W 2 -s 1400 "$NET.2"
vn stats -u "$vuid" >"$T/st.json"
check "stats: no guest error on the packed rings" jq -e '[.device["queues-stats"][] | .bad_desc_errors == "0" and .invalid_buffer == "0" and .exceed_max_chain == "0"] | all' "$T/st.json"
vn query -u "$vuid" >"$T/q.json"
check "query: the rings moved past a wrap (used index > 256)" jq -e '.devices[0].queues[0].used_idx > 256 and .devices[0].queues[1].used_idx > 256' "$T/q.json"

# Stop and attach again: the rings resume where they stopped (packed base with its wrap counter).
stop_testpmd
check "testpmd leaves: rings stopped" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].queues[0].state == \"stopped\"'"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:0d:0a ",packed_vq=1"
check "a new packed front-end attaches" wait_until 30 rings_running "$vuid" 2
# Rings running is not testpmd forwarding yet: the count starts once it answers.
check "the second front-end answers" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "packed, second front-end: 50 of 50 answered" -c 50 -i 0.02 -W 2 "$NET.2"
stop_testpmd

# Without the bit the same driver gets split rings.
vuid2=$(hotplug -m 02:00:00:00:0d:02 -t 1500 -n 2 -s 256 -u $((sfbase + 1)))
rep2=$(rep_of "$vuid2")
ip link set "$rep" nomaster
ip link set "$rep2" master "$BR"
start_testpmd "$(sock_of "$vuid2")" 1 02:00:00:00:0d:0b ",packed_vq=1"
check "a device without RING_PACKED: rings run" wait_until 30 rings_running "$vuid2" 2
check "... split rings negotiated" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid2' | jq -e '.devices[0].negotiated_feature_names | index(\"VIRTIO_F_RING_PACKED\") | not'"
# Another MAC answers for the peer's address now: its neighbour entry must not be stale.
ip -n "$NS" neigh flush all
check "the split-ring front-end answers" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
pings_ok "split fallback: 20 of 20 answered" -c 20 -i 0.05 -W 2 "$NET.2"
stop_testpmd
stop_controller
done_testing
