# features.sh - the vendor's 27 feature bits: accepted in the emulation
# profile, static_pf.features, `hotplug -f` and `modify -f` (the vendor's
# example mask 0x230047082b as written), named in `query`, kept in the
# device's configured set; those the software DPU cannot provide to a driver
# are not offered by the vhost-user back-end (GET_FEATURES) and are shown as
# config_only_features.  IOMMU_PLATFORM is offered (the vhost-user IOTLB;
# tests/functional/iommu.sh), with BACKEND_REQ for its misses.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun

PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
VENDOR=0x230047082b
# Every bit of the vendor's list (CSUM ... SPEED_DUPLEX).
ALL27=0x8b00037700ef982f
NAMES='["VIRTIO_NET_F_CSUM","VIRTIO_NET_F_GUEST_CSUM","VIRTIO_NET_F_CTRL_GUEST_OFFLOADS","VIRTIO_NET_F_MTU",
"VIRTIO_NET_F_MAC","VIRTIO_NET_F_HOST_TSO4","VIRTIO_NET_F_HOST_TSO6","VIRTIO_NET_F_MRG_RXBUF","VIRTIO_NET_F_STATUS",
"VIRTIO_NET_F_CTRL_VQ","VIRTIO_NET_F_CTRL_RX","VIRTIO_NET_F_CTRL_VLAN","VIRTIO_NET_F_GUEST_ANNOUNCE","VIRTIO_NET_F_MQ",
"VIRTIO_NET_F_CTRL_MAC_ADDR","VIRTIO_F_VERSION_1","VIRTIO_F_IOMMU_PLATFORM","VIRTIO_F_RING_PACKED",
"VIRTIO_F_ORDER_PLATFORM","VIRTIO_F_SR_IOV","VIRTIO_F_NOTIFICATION_DATA","VIRTIO_F_RING_RESET","VIRTIO_F_ADMIN_VQ",
"VIRTIO_NET_F_HOST_USO","VIRTIO_NET_F_HASH_REPORT","VIRTIO_NET_F_GUEST_HDRLEN","VIRTIO_NET_F_SPEED_DUPLEX"]'

# 1. The built-in profile, a static PF with the vendor's mask.
cat >"$T/virtnet.conf" <<CONF
{ "static_pf": { "features": "$VENDOR" },
  "emulation": { "hotplug_ports": 2, "num_pf": 1, "num_vf": 1, "serial": "$SERIAL", "sf_num_base": $sfbase } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vn list >"$T/list.json"
check "list: every vendor bit is supported" jq -e --argjson n "$NAMES" '.controller.supported_feature_names as $s | all($n[]; . as $x | $s | index($x))' "$T/list.json"
check "list: the configuration-only bits are shown" jq -e '.controller.config_only_features == "0xb00035000000000"' "$T/list.json"
vn query -a >"$T/q.json"
for r in $(jq -r '.devices[].sf_rep_net_device' "$T/q.json"); do track_rep "$r"; done
check "static_pf.features $VENDOR is applied as written (a PF with VFs keeps SR_IOV)" jq -e '.devices[] | select(.device_type == "static") | .features == "'$VENDOR'"' "$T/q.json"
check "no 'left out' warning for static_pf.features" sh -c "! grep -q 'static_pf.features: bits' '$CTL_LOG'"
check "static PF: IOMMU_PLATFORM is offered, nothing of the vendor's mask is configuration-only" jq -e '.devices[] | select(.device_type == "static") | (.feature_names | index("VIRTIO_F_IOMMU_PLATFORM")) and .config_only_feature_names == [] and .iotlb.active == false' "$T/q.json"

# hotplug -f and modify -f with the vendor's mask.
vn hotplug -i mlx5_0 -m 02:00:00:00:0f:01 -t 1500 -n 2 -s 256 -f "$VENDOR" -u $((sfbase + 10)) >"$T/hp.json"
check "hotplug -f $VENDOR accepted" jq -e '.vuid | length > 0' "$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json"); track_rep "$rep"; vuid=$(jget .vuid <"$T/hp.json")
vn query -u "$vuid" >"$T/hq.json"
check "hotplug -f: the vendor's bits are in the device's set" jq -e '.devices[0].feature_names | (index("VIRTIO_F_IOMMU_PLATFORM") != null) and (index("VIRTIO_NET_F_CTRL_VQ") != null)' "$T/hq.json"
check "modify -f $VENDOR accepted" sh -c "'$VIRTNET' --socket '$SOCK' modify -u '$vuid' device -f $VENDOR | jq -e '.features == \"$VENDOR\"'"
check "modify -f with all 27 vendor bits accepted" sh -c "'$VIRTNET' --socket '$SOCK' modify -u '$vuid' device -f $ALL27 | jq -e '.features == \"$ALL27\"'"
vn query -u "$vuid" >"$T/hq.json"
check "query: names for all 27 bits" jq -e --argjson n "$NAMES" '.devices[0].feature_names == $n' "$T/hq.json"
check "query: the bits the software DPU cannot provide are configuration-only" jq -e '.devices[0].config_only_features == "0xb00035000000000" and (.devices[0].config_only_feature_names | index("VIRTIO_F_NOTIFICATION_DATA"))' "$T/hq.json"
vn modify -u "$vuid" device -f 0x40100000000 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "not supported" "$T/err" && ok "modify -f: a bit outside the vendor's list is refused" \
    || { not_ok "modify -f: a bit outside the vendor's list is refused (rc $rc)"; diag <"$T/err"; }

# The front-end is offered only what the datapath provides.
sock=$(jq -r '.devices[0].vhost_socket' "$T/hq.json")
if $PEER "$sock" good >"$T/peer.json"; then
    check "GET_FEATURES: no NOTIFICATION_DATA, HASH_REPORT...; IOMMU_PLATFORM offered" python3 -c "
import json,sys; o=int(json.load(open('$T/peer.json'))['offered'],16)
sys.exit(0 if o & 0x0b00035000000000 == 0 and o & (1 << 32) and o & (1 << 33) else 1)"
else
    not_ok "a front-end sets up the device"; diag <"$T/peer.json"
fi
vn query -u "$vuid" >"$T/hq.json"
check "query: offered_features has none of them" python3 -c "
import json,sys; o=int(json.load(open('$T/hq.json'))['devices'][0]['offered_features'],16)
sys.exit(0 if o & 0x0b00035000000000 == 0 and o & 0x2b else 1)"
stop_controller

# 2. A profile whose emulation.features lists exactly the vendor's 27 bits.
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL", "features": "$ALL27" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts with emulation.features $ALL27"; done_testing; }
check "emulation.features $ALL27 accepted as written" sh -c "'$VIRTNET' --socket '$SOCK' list | jq -e '.controller.supported_features == \"$ALL27\"'"
stop_controller
done_testing
