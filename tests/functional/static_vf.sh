# static_vf.sh - static PFs and SR-IOV VFs from the emulation profile and the
# vendor's static_pf / vf keys; sriov_numvfs changes; the 504-VF limit.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

cat >"$T/virtnet.conf" <<CONF
{
  "static_pf": { "mac_base": "11:22:33:44:55:66" },
  "vf": { "mac_base": "CC:48:15:FF:00:00", "vfs_per_pf": 3 },
  "emulation": { "hotplug_ports": 2, "num_pf": 2, "num_vf": 4, "num_msix": 8, "serial": "$SERIAL",
                 "sf_num_base": $sfbase }
}
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vn query -a -b >"$T/q.json"
for r in $(jq -r '.devices[].sf_rep_net_device' "$T/q.json"); do track_rep "$r"; done

check "2 static PFs and 6 VFs" jq -e '[.devices[] | select(.device_type == "static")] | length == 2' "$T/q.json"
check "6 VFs" jq -e '[.devices[] | select(.function_type == "vf")] | length == 6' "$T/q.json"
check "static PF MACs from static_pf.mac_base" jq -e '[.devices[] | select(.device_type == "static") | .mac] == ["11:22:33:44:55:66", "11:22:33:44:55:67"]' "$T/q.json"
check "VF MACs from vf.mac_base" jq -e '[.devices[] | select(.pf_id == 0 and .function_type == "vf") | .mac] == ["cc:48:15:ff:00:00", "cc:48:15:ff:00:01", "cc:48:15:ff:00:02"]' "$T/q.json"
check "every device has its own SF and representor" jq -e '[.devices[].sf_num] | unique | length == 8' "$T/q.json"
check "SF numbers start at the profile's sf_num_base" jq -e --argjson b "$sfbase" '[.devices[].sf_num] | min == $b' "$T/q.json"
check "unique VUIDs and BDFs" jq -e '([.devices[].vuid] | unique | length == 8) and ([.devices[].bdf] | unique | length == 8)' "$T/q.json"
check "SR-IOV offset/stride of PF 1" jq -e '.devices[] | select(.pf_id == 1 and .device_type == "static") | .sriov | .num_vfs == 3 and .total_vfs == 4 and .vf_stride == 1' "$T/q.json"
check "VF BDF = PF RID + offset + n * stride" sh -c "
  pf=\$(jq -r '.devices[] | select(.pf_id == 1 and .device_type == \"static\") | .bdf_raw' '$T/q.json')
  off=\$(jq -r '.devices[] | select(.pf_id == 1 and .device_type == \"static\") | .sriov.first_vf_offset' '$T/q.json')
  vf2=\$('$VIRTNET' --socket '$SOCK' query -p 1 -v 2 | jq -r '.devices[0].bdf_raw')
  [ \$vf2 -eq \$((pf + off + 2)) ]"
check "query -p 0 -v 1" sh -c "'$VIRTNET' --socket '$SOCK' query -p 0 -v 1 | jq -e '.devices[0].vf_id == 1 and .devices[0].function_type == \"vf\"'"
"$VIRTNET" --socket "$SOCK" unplug -p 0 >/dev/null 2>"$T/err"
check "unplug of a static PF is refused" grep -q "only hotplug PFs can be unplugged" "$T/err"
"$VIRTNET" --socket "$SOCK" unplug -u "$(jq -r '.devices[] | select(.function_type == "vf") | .vuid' "$T/q.json" | head -1)" >/dev/null 2>"$T/err"
check "unplug of a VF is refused" grep -q "only hotplug PFs can be unplugged" "$T/err"
check "modify MSI-X of a VF" sh -c "'$VIRTNET' --socket '$SOCK' modify -p 0 -v 0 device -n 4 | jq -e '.msix_num == 4'"
"$VIRTNET" --socket "$SOCK" modify -p 0 -v 0 device -n 64 >/dev/null 2>"$T/err"
check "modify MSI-X above NUM_MSIX is refused" grep -q "out of range" "$T/err"

# The host changes sriov_numvfs: destroyed VFs lose their recovery files.
vf2vuid=$(jq -r '.devices[] | select(.pf_id == 0 and .vf_id == 2) | .vuid' "$T/q.json")
vf2rep=$(jq -r '.devices[] | select(.pf_id == 0 and .vf_id == 2) | .sf_rep_net_device' "$T/q.json")
check "VF recovery file exists" test -f "$STATE/recovery/$vf2vuid"
check "debug num_vfs pf=0 num_vfs=1" sh -c "'$VIRTNET' --socket '$SOCK' debug num_vfs pf=0 num_vfs=1 | jq -e '.sriov.num_vfs == 1'"
check "destroyed VF: recovery file deleted" test ! -e "$STATE/recovery/$vf2vuid"
check "destroyed VF: representor removed" sh -c "! ip link show '$vf2rep' 2>/dev/null"
"$VIRTNET" --socket "$SOCK" debug num_vfs pf=0 num_vfs=5 >/dev/null 2>"$T/err"
check "more VFs than NUM_VF is refused" grep -q "exceed the 4 reserved" "$T/err"
check "VFs can grow again" sh -c "'$VIRTNET' --socket '$SOCK' debug num_vfs pf=0 num_vfs=4 | jq -e '.sriov.num_vfs == 4'"
for r in $(vn query -a -b | jq -r '.devices[].sf_rep_net_device'); do track_rep "$r"; done
vn debug num_vfs pf=0 num_vfs=2 >/dev/null

# Restart: the VF count the host chose and every device come back.
vn query -a >"$T/before.json"
stop_controller
start_controller --config "$T/virtnet.conf" || not_ok "restart"
check "restart: same devices, same VF count" diff <(jq -S . "$T/before.json") <(vn query -a | jq -S .)

stop_controller

# recovery: 0 - no recovery files; hotplug PFs do not survive a restart.
printf '{ "recovery": 0, "emulation": { "hotplug_ports": 2, "serial": "%s", "sf_num_base": %d } }' "$SERIAL" $((sfbase + 50)) >"$T/norec.conf"
rm -rf "$STATE"
start_controller --config "$T/norec.conf" || not_ok "start with recovery 0"
vn hotplug -i mlx5_0 -m 02:00:00:00:03:01 -t 1500 -n 2 -s 256 >"$T/nr.json" && track_rep "$(jget .sf_rep_net_device <"$T/nr.json")"
check "recovery 0: no recovery files" sh -c "[ ! -d '$STATE/recovery' ] || [ -z \"\$(ls '$STATE/recovery')\" ]"
nrrep=$(jget .sf_rep_net_device <"$T/nr.json")
stop_controller
check "recovery 0: a hotplug PF's representor goes with the controller" sh -c "! ip link show '$nrrep' 2>/dev/null"
start_controller --config "$T/norec.conf" || not_ok "restart with recovery 0"
check "recovery 0: no device after restart" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.devices == []'"
stop_controller

# SF pool: 1% of 300 SFs = 3 representors made ahead; hotplug takes one.
printf '{ "sf_pool_percent": 1, "sf_pool_force_destroy": 1, "emulation": { "hotplug_ports": 2, "pf_total_sf": 300, "serial": "%s", "sf_num_base": %d } }' "$SERIAL" $((sfbase + 60)) >"$T/pool.conf"
rm -rf "$STATE"
start_controller --config "$T/pool.conf" || not_ok "start with an SF pool"
for i in 0 1 2; do track_rep "en3f0pf0sf$((sfbase + 60 + i))"; done
check "SF pool: 3 representors ready" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.controller.sf_pool_size == 3 and .controller.sf_pool_free == 3' && ip link show en3f0pf0sf$((sfbase + 62))"
vn hotplug -i mlx5_0 -m 02:00:00:00:03:02 -t 1500 -n 2 -s 256 >"$T/pool.json"
check "SF pool: hotplug takes a pooled representor" sh -c "jq -e '.sf_rep_net_device == \"en3f0pf0sf$((sfbase + 62))\"' '$T/pool.json' && '$VIRTNET' --socket '$SOCK' list | jq -e '.controller.sf_pool_free == 2'"
vn unplug -p 0 >/dev/null
check "SF pool: unplug gives it back" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.controller.sf_pool_free == 3' && ip link show en3f0pf0sf$((sfbase + 62))"
stop_controller
check "SF pool: sf_pool_force_destroy removes the pool at stop" sh -c "! ip link show en3f0pf0sf$((sfbase + 60)) 2>/dev/null"

# 504 VFs, as on BlueField-2: 4 static PFs x 126 VFs.
printf '{ "vf": { "vfs_per_pf": 126 }, "emulation": { "hotplug_ports": 0, "num_pf": 4, "num_vf": 126, "num_msix": 4, "pf_total_sf": 508, "serial": "%s", "sf_num_base": %d } }' "$SERIAL" $((sfbase + 100)) >"$T/504.conf"
rm -rf "$STATE"
# Their representors, whatever happens: SF numbers base+100 .. base+607.
for i in $(seq $((sfbase + 100)) $((sfbase + 607))); do track_rep "en3f0pf0sf$i"; done
START_TIMEOUT=120 start_controller --config "$T/504.conf" || not_ok "start with 504 VFs"
vn query -a -b >"$T/504.json"
check "504 VFs: 4 PFs and 504 VFs" jq -e '([.devices[] | select(.function_type == "vf")] | length == 504) and (.devices | length == 508)' "$T/504.json"
present=$(jq -r '.devices[].sf_rep_net_device' "$T/504.json" | while read -r r; do [ -e "/sys/class/net/$r" ] && echo; done | wc -l)
[ "$present" -eq 508 ] && ok "504 VFs: 508 representors" || not_ok "504 VFs: 508 representors ($present)"
check "504 VFs: the 505th is refused" sh -c "! '$VIRTNET' --socket '$SOCK' debug num_vfs pf=0 num_vfs=127 2>/dev/null"
stop_controller
for r in $(jq -r '.devices[].sf_rep_net_device' "$T/504.json"); do ip link del "$r" 2>/dev/null; done

# The 504-VF limit of the profile.
printf '{ "emulation": { "num_pf": 4, "num_vf": 127 } }' >"$T/505.conf"
"$DAEMON" --foreground --config "$T/505.conf" --state-dir "$T/s505" --socket "$T/505.sock" >"$T/505.out" 2>&1
check "a profile with 508 VFs is refused at start" grep -q "504" "$T/505.out"
done_testing
