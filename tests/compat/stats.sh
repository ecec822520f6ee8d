# stats.sh - the vendor's `virtnet stats` counter set (DOCA 2.10 guide), its
# types (size buckets are numbers, descriptor and handler counters strings),
# and the packet counters `list` and `query` still carry for old scripts.
. "$top_srcdir/tests/compat/lib.sh"

dummy_conf
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
check "hotplug (README example)" sh -c "'$VIRTNET' --socket '$SOCK' hotplug -i mlx5_0 -f 0x80000 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 1024 >'$T/hp.json'"
pf=$(jq -r .id "$T/hp.json")

# The vendor's example: `virtnet stats -p 0 -q 0` queries PF 0, VQ 0 (an RQ).
vendor_numbers='"rx_64_or_less_octet_packets","rx_65_to_127_octet_packets","rx_128_to_255_octet_packets",
 "rx_256_to_511_octet_packets","rx_512_to_1023_octet_packets","rx_1024_to_1522_octet_packets",
 "rx_1523_to_2047_octet_packets","rx_2048_to_4095_octet_packets","rx_4096_to_8191_octet_packets",
 "rx_8192_to_9022_octet_packets"'
vendor_strings='"received_desc","completed_desc","bad_desc_errors","error_cqes","exceed_max_chain",
 "invalid_buffer","batch_number","dma_q_used_number","handler_schd_number","aux_handler_schd_number",
 "max_post_desc_number","total_bytes","err_handler_schd_number"'
vn stats -p "$pf" -q 0 >"$T/stats.json" 2>"$T/stats.err"
check "stats -p $pf -q 0 answers" test -s "$T/stats.json"
check "the vendor's shape: device.pf_id, packet_counters, one queue, VQ Index 0" \
    jq -e ".device.pf_id == $pf and .device.packet_counters == \"Enabled\" and
           (.device[\"queues-stats\"] | length == 1) and .device[\"queues-stats\"][0][\"VQ Index\"] == 0" "$T/stats.json"
check "every size bucket of the vendor is a number" \
    jq -e "[$vendor_numbers] as \$k | .device[\"queues-stats\"][0] as \$q | all(\$k[]; (\$q[.] | type) == \"number\")" "$T/stats.json"
check "every descriptor and handler counter of the vendor is a string of digits" \
    jq -e "[$vendor_strings] as \$k | .device[\"queues-stats\"][0] as \$q | all(\$k[]; (\$q[.] | type) == \"string\" and (\$q[.] | test(\"^[0-9]+\$\")))" "$T/stats.json"
check "the counters come in the vendor's order" \
    jq -e "[$vendor_strings] as \$k | [.device[\"queues-stats\"][0] | keys_unsorted[] | select(IN(\$k[]))] == \$k" "$T/stats.json"
check "a transmit queue has the tx_ buckets" \
    sh -c "'$VIRTNET' --socket '$SOCK' stats -p $pf -q 1 | jq -e '.device[\"queues-stats\"][0] | has(\"tx_64_or_less_octet_packets\") and has(\"error_cqes\")'"
check "the totals carry the vendor's counters too" jq -e '.device.totals | has("handler_schd_number") and has("dma_q_used_number")' "$T/stats.json"
check_fail "a queue past the last is refused" vn stats -p "$pf" -q 2

# Deprecated there, still present: packet counters in list and query.
jcheck "list has each device's packet counters (strings)" \
    '[.devices[] | select(.pf_id == '"$pf"')][0] | (.rx_packets | type) == "string" and (.tx_packets | type) == "string"' vn list
jcheck "query has per-queue packet counters on the data queues" \
    '.devices[0].queues | map(select(.type != "ctrl")) | length == 2 and all(.[]; (.total_packets | type) == "string" and (.received_desc | type) == "string")' vn query -p "$pf"
jcheck "query -b has no queues but the device's counters" \
    '.devices[0] | (has("queues") | not) and has("rx_packets")' vn query -p "$pf" -b

stop_controller
done_testing
