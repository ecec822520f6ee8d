# cli_readme.sh - every CLI example of the vendor's README ("Controller User
# Interface"), verbatim apart from the device ids and VUIDs they leave to the
# reader, through `virtnet` against the real controller (dummy backend), with
# the documented outputs; and the `hotplug -n` rule at both edges.
. "$top_srcdir/tests/compat/lib.sh"

dummy_conf '"vf": { "vfs_per_pf": 1 }'
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

# 1. list current devices
jcheck "virtnet list" '(.devices | length) == 2 and (.controller.max_virtq | type) == "number"' vn list
# 3. hotplug: "1500 mtu and 3 virtio queues of depth 1024 entries with vlan control support"
jcheck "virtnet hotplug -i mlx5_0 -f 0x80000 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 1024: the documented keys" \
    '(.bdf | type) == "string" and (.id | type) == "number" and .transitional == 0 and
     (.sf_rep_net_device | test("^en3f0pf0sf[0-9]+$")) and .mac == "0C:C4:7A:FF:22:93"' \
    vn hotplug -i mlx5_0 -f 0x80000 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 1024
pf=$(vn list | jq -r '.devices[] | select(.device_type == "hotplug") | .pf_id')
vuid=$(vn list | jq -r '.devices[] | select(.device_type == "hotplug") | .vuid')
jcheck "the hotplugged device: 3 queues, the last the control queue, VLAN control on" \
    '.devices[0] | .max_queues == 3 and .queues[2].type == "ctrl" and (.feature_names | index("VIRTIO_NET_F_CTRL_VLAN"))' \
    vn query -p "$pf"
# --legacy
jcheck "virtnet hotplug ... -l: a transitional device" '.transitional == 1' \
    vn hotplug -i mlx5_0 -m 0C:C4:7A:FF:22:94 -t 1500 -n 3 -s 1024 -l
# 2. query
jcheck "virtnet query -a" '(.devices | length) == 4 and all(.devices[]; has("queues"))' vn query -a
jcheck "virtnet query -a -b: no queue info" '(.devices | length) == 4 and all(.devices[]; has("queues") | not)' vn query -a -b
jcheck "virtnet query -p pf_id" ".devices[0].pf_id == $pf" vn query -p "$pf"
jcheck "virtnet query -p pf_id -v vf_id -b" '.devices[0].vf_id == 0 and (.devices[0] | has("queues") | not)' vn query -p 0 -v 0 -b
jcheck "virtnet query -u \"VUID string\" -b" ".devices[0].vuid == \"$vuid\"" vn query -u "$vuid" -b
jcheck "virtnet query --all (third-party scripts' long form)" '(.devices | length) == 4' vn query --all
# 4. modify MAC
jcheck "virtnet modify -p 0 device -m 0C:C4:7A:FF:22:93" '.mac == "0C:C4:7A:FF:22:93"' vn modify -p 0 device -m 0C:C4:7A:FF:22:93
jcheck "virtnet modify -u \"VUID string\" device -m 0C:C4:7A:FF:22:95" '.mac == "0C:C4:7A:FF:22:95"' vn modify -u "$vuid" device -m 0C:C4:7A:FF:22:95
# 5. max queue size
vfuid=$(vn query -p 0 -v 0 -b | jq -r '.devices[0].vuid')
jcheck "virtnet modify -p 0 -v 0 device -q 2048" '.max_queue_size == 2048' vn modify -p 0 -v 0 device -q 2048
jcheck "virtnet modify -u \"VUID string\" device -q 2048" '.max_queue_size == 2048' vn modify -u "$vfuid" device -q 2048
# 6. MSI-X of a VF
jcheck "virtnet modify -p 0 -v 0 device -n 8" '.msix_num == 8' vn modify -p 0 -v 0 device -n 8
jcheck "virtnet modify -u \"VUID string\" device -n 8" '.msix_num == 8' vn modify -u "$vfuid" device -n 8
check_fail "MSI-X of a PF is refused (vendor fix 4640377)" vn modify -p 0 device -n 8
# 7. queue options
jcheck "virtnet modify -p 0 queue -e event -n 10 -c 30" 'all(.queues[]; .event_mode == "event" and .period == 10 and .max_count == 30)' \
    vn modify -p 0 queue -e event -n 10 -c 30
jcheck "virtnet modify -u \"VUID string\" queue -e event -n 10 -c 30" 'all(.queues[]; .period == 10 and .max_count == 30)' \
    vn modify -u "$vuid" queue -e event -n 10 -c 30
# 9. live update status, version
check "virtnet version" sh -c "'$VIRTNET' --socket '$SOCK' version | grep -q 'Original Controller'"
jcheck "virtnet update -t: v24.07 and v24.10 keys" 'has("current status") and has("status") and has("last live update status")' vn update -t
# 8. unplug, only applicable to hotplug devices
check_fail "virtnet unplug -p 0 of a static PF is refused" vn unplug -p 0
check "virtnet unplug -p PF" vn unplug -p "$pf"
lvuid=$(vn list | jq -r '.devices[] | select(.device_type == "hotplug") | .vuid')
check "virtnet unplug -u \"VUID string\"" vn unplug -u "$lvuid"
jcheck "both hotplug devices are gone" '[.devices[] | select(.device_type == "hotplug")] | length == 0' vn list

# hotplug -n: a virtio-net device needs one receive/transmit pair; the bound above
# is min(MSI-X, max_virtq) ("virtnet list" max_virtq), README.
max=$(vn list | jq '[.controller.max_virtq, .controller.max_msix] | min')
hp() { vn hotplug -i mlx5_0 -m 0C:C4:7A:FF:23:01 -t 1500 -s 256 "$@"; }
if hp -n 1 >"$T/out" 2>"$T/err"; then not_ok "-n 1 is refused"; vn unplug -u "$(jq -r .vuid "$T/out")"
else check "-n 1 is refused with the rule" grep -q "needs at least one receive/transmit pair" "$T/err"; fi
check "-n 2 (one pair) is accepted" sh -c "'$VIRTNET' --socket '$SOCK' hotplug -i mlx5_0 -m 0C:C4:7A:FF:23:01 -t 1500 -s 256 -n 2 >'$T/hp2'"
jcheck "-n 2: two data queues, no control queue" '.devices[0] | .max_queues == 2 and ([.queues[].type] == ["rx", "tx"])' vn query -u "$(jq -r .vuid "$T/hp2")"
vn unplug -u "$(jq -r .vuid "$T/hp2")" >/dev/null
check "-n $max (the bound) is accepted" sh -c "'$VIRTNET' --socket '$SOCK' hotplug -i mlx5_0 -m 0C:C4:7A:FF:23:01 -t 1500 -s 256 -n $max >'$T/hpm'"
vn unplug -u "$(jq -r .vuid "$T/hpm")" >/dev/null
check_fail "-n $((max + 1)) is refused" hp -n $((max + 1))
check "the man page states the rule" grep -q "at least 2 (one receive/transmit pair)" "$top_srcdir/docs/virtnet.8.in"

stop_controller
done_testing
