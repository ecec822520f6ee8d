# devices.sh - hotplug, unplug, list, query, modify on the software DPU, with
# their limits, representors (real taps), recovery files and rollback.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

# A profile small enough to fill: 4 hotplug ports, no static PFs.
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "num_msix": 8, "max_virtq": 6, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

vn list >"$T/list.json"
check "list: controller section" jq -e '.controller.max_hotplug_devices == 4 and .controller.max_virtq == 6 and .controller.emulation_manager == "mlx5_0" and (.controller.supported_virt_queue_types | index("split")) and (.controller.supported_feature_names | index("VIRTIO_F_VERSION_1"))' "$T/list.json"
check "list: no devices yet" jq -e '.devices == []' "$T/list.json"

# hotplug: the vendor's example.
vn hotplug -i mlx5_0 -f 0x80000 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 1024 -u "$sfbase" >"$T/hp.json"
check "hotplug: vendor reply fields" jq -e '(.bdf | test("^[0-9a-f]{2}:[0-9a-f]{1,2}\\.[0-7]$")) and (.pci_bdf | test("^[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$")) and .id == 0 and .transitional == 0 and (.sf_rep_net_device | test("^en3f0pf0sf[0-9]+$")) and .mac == "0C:C4:7A:FF:22:93" and (.vuid | startswith("'"$SERIAL"'"))' "$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json"); vuid=$(jget .vuid <"$T/hp.json")
track_rep "$rep"
check "hotplug: representor $rep exists" ip link show "$rep"
check "hotplug: representor is up" sh -c "ip -o link show '$rep' | grep -q 'UP'"
check "hotplug: representor MTU >= 1500" sh -c "[ \$(cat /sys/class/net/$rep/mtu) -ge 1500 ]"
check "hotplug: representor is a multi-queue vnet-hdr tap" sh -c "[ \$(( \$(cat /sys/class/net/$rep/tun_flags) & 0x4100 )) -eq \$((0x4100)) ]"
check "hotplug: recovery file named by VUID" test -f "$STATE/recovery/$vuid"
check "hotplug: recovery file has the vendor keys" jq -e '.port_ib_dev == "mlx5_0" and .pf_id == 0 and .function_type == "pf" and .device_type == "hotplug" and .mac == "0c:c4:7a:ff:22:93" and .pf_num == 0 and .sf_num >= 1000 and .mq == 3 and (.bdf_raw | type == "number")' "$STATE/recovery/$vuid"

# query.
vn query -p 0 >"$T/q.json"
check "query -p: fields" jq -e '.devices[0] | .vuid == "'"$vuid"'" and .mtu == 1500 and .max_queues == 3 and .max_queue_size == 1024 and (.features | test("^0x")) and (.feature_names | index("VIRTIO_NET_F_CTRL_VLAN")) and (.queues | length == 3)' "$T/q.json"
check "query -u: same device" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].pf_id == 0'"
check "query -a -b: no queue info" sh -c "'$VIRTNET' --socket '$SOCK' query -a -b | jq -e '.devices | length == 1 and (.[0] | has(\"queues\") | not)'"
vn query -p 7 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no PF with id 7" "$T/err" && ok "query: unknown PF is an error" || { not_ok "query: unknown PF"; diag <"$T/err"; }

# modify device.
check "modify: MAC" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 0 device -m 0C:C4:7A:FF:22:94 | jq -e '.mac == \"0C:C4:7A:FF:22:94\"'"
check "modify: MTU 9000 raises the representor's MTU" sh -c "'$VIRTNET' --socket '$SOCK' modify -u '$vuid' device -t 9000 >/dev/null && [ \$(cat /sys/class/net/$rep/mtu) -ge 9000 ]"
check "modify: queue size" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 0 device -q 2048 | jq -e '.max_queue_size == 2048'"
check "modify: kept in the recovery file" jq -e '.mac == "0c:c4:7a:ff:22:94" and .mtu == 9000 and .max_queue_size == 2048' "$STATE/recovery/$vuid"
expect_fail() { # DESC PATTERN CMD...
    local desc=$1 pat=$2; shift 2
    "$@" >/dev/null 2>"$T/err"; local rc=$?
    if [ $rc -eq 1 ] && grep -qi -- "$pat" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ]; then ok "$desc"
    else not_ok "$desc (rc $rc)"; diag <"$T/err"; fi
}
expect_fail "modify: MSI-X on a PF is refused" "only be modified on VFs" vn modify -p 0 device -n 4
expect_fail "modify: unsupported feature bits" "not supported" vn modify -p 0 device -f 0x40000000000
expect_fail "modify: MTU out of range" "out of range" vn modify -p 0 device -t 20000
check "modify queue: event mode, period, count" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 0 queue -e event -n 10 -c 30 | jq -e '[.queues[] | select(.period == 10 and .max_count == 30)] | length == 3'"
expect_fail "modify queue: unknown mode" "unknown event mode" vn modify -p 0 queue -e fast

# Limits and validation.
hp() { vn hotplug -i mlx5_0 -t 1500 -n 2 -s 256 "$@"; }
expect_fail "hotplug: bad MAC" "invalid MAC" hp -m 0C:C4:7A:FF:22
expect_fail "hotplug: multicast MAC" "multicast" hp -m 01:00:5e:00:00:01
expect_fail "hotplug: MTU too small" "MTU 60 out of range" vn hotplug -i mlx5_0 -m 02:00:00:00:00:01 -t 60 -n 2 -s 256
expect_fail "hotplug: queue size not a power of two" "power of two" vn hotplug -i mlx5_0 -m 02:00:00:00:00:01 -t 1500 -n 2 -s 1000
expect_fail "hotplug: queue size above the maximum" "power of two" vn hotplug -i mlx5_0 -m 02:00:00:00:00:01 -t 1500 -n 2 -s 65536
expect_fail "hotplug: queues above min(MSI-X, max_virtq)" "out of range \[1, 6\]" vn hotplug -i mlx5_0 -m 02:00:00:00:00:01 -t 1500 -n 7 -s 256
expect_fail "hotplug: unknown ib device" "unknown ib_device 'mlx5_9'" vn hotplug -i mlx5_9 -m 02:00:00:00:00:01 -t 1500 -n 2 -s 256
expect_fail "hotplug: SF number below 1000" "out of range" hp -m 02:00:00:00:00:01 -u 999
sf=$(jq .sf_num "$STATE/recovery/$vuid")
expect_fail "hotplug: SF number taken" "already in use" hp -m 02:00:00:00:00:01 -u "$sf"
check "hotplug: failures left one device" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.devices | length == 1'"

# Fill the ports; the next hotplug is refused.
for i in 1 2 3; do
    vn hotplug -i mlx5_1 -m 02:00:00:00:00:0$i -t 1500 -n 2 -s 256 -u $((sfbase + i)) >"$T/hp$i.json" \
        && track_rep "$(jget .sf_rep_net_device <"$T/hp$i.json")"
done
check "hotplug on port 1's ib device: representor of port 1" sh -c "jq -e '.sf_rep_net_device == \"en3f1pf1sf$((sfbase + 1))\"' '$T/hp1.json'"
expect_fail "hotplug: no free port (5th on 4 ports)" "no free hotplug port" hp -m 02:00:00:00:00:09

# Unplug.
r=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"unplug","params":{}}')
printf '%s' "$r" | jq -e '.error.code == -32602 and (.error.message | contains("no device given"))' >/dev/null \
    && ok "unplug: the controller wants a selector" || { not_ok "unplug: the controller wants a selector"; echo "$r" | diag; }
vn unplug >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "virtnet unplug without -p/-u: usage error" || not_ok "virtnet unplug without -p/-u: usage error (rc $rc)"
vn unplug -p 2 >/dev/null
rep2=$(jget .sf_rep_net_device <"$T/hp2.json"); vuid2=$(jget .vuid <"$T/hp2.json")
check "unplug -p: representor removed" sh -c "! ip link show '$rep2' 2>/dev/null"
check "unplug -p: recovery file removed" test ! -e "$STATE/recovery/$vuid2"
check "unplug -p: port free again" sh -c "'$VIRTNET' --socket '$SOCK' hotplug -i mlx5_0 -m 02:00:00:00:00:0a -t 1500 -n 2 -s 256 -u $((sfbase + 20)) | jq -e '.id == 2'"
track_rep "en3f0pf0sf$((sfbase + 20))"

# Fault injection at each step of hotplug leaves nothing behind.
# Representors of this test: SF numbers sfbase..sfbase+99 (other tests may run alongside).
our_links() { ip -o link show | awk -F': ' '{print $2}' | grep -cE "^en3f[01]pf[01]sf${sfbase%??}[0-9]{2}$"; }
for point in hotplug_start sf_create sf_link_up hotplug_after_rep recovery_write hotplug_after_save; do
    vn unplug -p 3 >/dev/null 2>&1   # free a port
    before_links=$(our_links); before_files=$(ls "$STATE/recovery" | wc -l)
    vn debug fault point=$point >/dev/null
    vn hotplug -i mlx5_0 -m 02:00:00:00:01:01 -t 1500 -n 2 -s 256 -u $((sfbase + 30)) >/dev/null 2>"$T/err"; rc=$?
    after_links=$(our_links); after_files=$(ls "$STATE/recovery" | wc -l)
    if [ $rc -ne 0 ] && [ "$before_links" = "$after_links" ] && [ "$before_files" = "$after_files" ] \
        && ! ip link show "en3f0pf0sf$((sfbase + 30))" >/dev/null 2>&1; then
        ok "fault at $point: hotplug fails, nothing left behind"
    else
        not_ok "fault at $point (rc $rc, links $before_links->$after_links, files $before_files->$after_files)"; diag <"$T/err"
    fi
    # The same request works once the fault is gone, and frees the port again.
    vn hotplug -i mlx5_0 -m 02:00:00:00:01:01 -t 1500 -n 2 -s 256 -u $((sfbase + 30)) >/dev/null \
        && track_rep "en3f0pf0sf$((sfbase + 30))" && ok "after fault at $point: hotplug works" \
        || not_ok "after fault at $point: hotplug works"
done

# Crash and restart: identical list, same representors and ifindexes.
vn list >"$T/before.json"
vn query -a >"$T/qbefore.json"
jq -r '.devices[] | "\(.sf_rep_net_device) \(.sf_rep_ifindex)"' "$T/qbefore.json" | sort >"$T/ifidx.before"
kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
start_controller --config "$T/virtnet.conf" || not_ok "restart after kill -9"
vn list >"$T/after.json"
vn query -a >"$T/qafter.json"
jq -r '.devices[] | "\(.sf_rep_net_device) \(.sf_rep_ifindex)"' "$T/qafter.json" | sort >"$T/ifidx.after"
check "kill -9 + restart: identical list" diff <(jq -S 'del(.controller.sfs_in_use)' "$T/before.json") <(jq -S 'del(.controller.sfs_in_use)' "$T/after.json")
check "kill -9 + restart: identical query" diff <(jq -S . "$T/qbefore.json") <(jq -S . "$T/qafter.json")
check "kill -9 + restart: same representor ifindexes" diff "$T/ifidx.before" "$T/ifidx.after"

# A corrupt recovery file is reported and skipped; a foreign one is renamed aside.
echo '{ not json' >"$STATE/recovery/${SERIAL}VNETH9D0F0"
echo '{"pf_id": 0}' >"$STATE/recovery/OTHERBOARDVNETH0D0F0"
stop_controller
start_controller --config "$T/virtnet.conf" || not_ok "restart with bad recovery files"
check "bad recovery files: reported" sh -c "grep -q 'skipping .*${SERIAL}VNETH9D0F0' '$CTL_LOG' && grep -q 'recovery file OTHERBOARDVNETH0D0F0 not used: .*kept as OTHERBOARDVNETH0D0F0.rejected' '$CTL_LOG'"
check "bad recovery files: devices still restored" diff <(vn query -a | jq -S .) <(jq -S . "$T/qafter.json")

# Unplugging everything leaves no representor and no recovery file.
for id in $(vn list | jq -r '.devices[].pf_id'); do vn unplug -p "$id" >/dev/null; done
check "unplug all: no representors left" sh -c "! ip -o link | grep -q 'sf$sfbase'"
check "unplug all: only the bad files remain" sh -c "[ \$(ls '$STATE/recovery' | grep -c VNETH) -eq 2 ]"
stop_controller
done_testing
