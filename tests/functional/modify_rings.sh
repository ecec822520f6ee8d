# modify_rings.sh - `virtnet modify ... device --packed_vq {0,1} --mrg_rxbuf
# {0,1}` (the vendor's 25.x options): on the dummy backend (no root needed) the
# bits are set and cleared, the same value twice is fine, bad values and a
# disagreement with -f are refused and nothing changes, and the change
# survives a restart (recovery file).  On the vhost-user backend with a
# scripted front-end holding the device (DRIVER_OK), a change of either is
# refused with a reason while other modifications still go through, and is
# accepted once the front-end has left.
. "$top_srcdir/tests/functional/lib.sh"

PACKED=VIRTIO_F_RING_PACKED MRG=VIRTIO_NET_F_MRG_RXBUF
has_bit() { # VUID NAME: the device offers feature NAME
    vn query -u "$1" | jq -e --arg n "$2" '.devices[0].feature_names | index($n)' >/dev/null
}
lacks_bit() { ! has_bit "$@"; }
saved_err() { cp "$T/check.out" "$T/err"; } # check overwrites check.out: keep the refusal's text
features_of() { vn query -u "$1" | jq -r '.devices[0].features'; }

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "backend": "dummy", "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts (dummy)"; done_testing; }
vn hotplug -i mlx5_0 -m 02:00:00:00:0e:01 -t 1500 -n 2 -s 256 >"$T/hp.json" ||
    { not_ok "hotplug (dummy)"; done_testing; }
vuid=$(jget .vuid <"$T/hp.json")
check "modify device -h lists --packed_vq and --mrg_rxbuf" sh -c "'$VIRTNET' modify device -h | grep -q -- '--packed_vq {0,1}' && '$VIRTNET' modify device -h | grep -q -- '--mrg_rxbuf {0,1}'"
check "a new device: split rings only, MRG_RXBUF offered" sh -c "$(declare -f vn has_bit lacks_bit); VIRTNET='$VIRTNET' SOCK='$SOCK'; lacks_bit $vuid $PACKED && has_bit $vuid $MRG"
check "--packed_vq 1 accepted" vn modify -u "$vuid" device --packed_vq 1
check "... RING_PACKED offered" has_bit "$vuid" "$PACKED"
check "--packed_vq 1 again: no change, accepted" vn modify -u "$vuid" device --packed_vq 1
check "--mrg_rxbuf 0 accepted" vn modify -u "$vuid" device --mrg_rxbuf 0
check "... MRG_RXBUF no longer offered, RING_PACKED still" sh -c "$(declare -f vn has_bit lacks_bit); VIRTNET='$VIRTNET' SOCK='$SOCK'; lacks_bit $vuid $MRG && has_bit $vuid $PACKED"
f0=$(features_of "$vuid")
check_fail "--packed_vq 2 refused" vn modify -u "$vuid" device --packed_vq 2
saved_err
check "... the error names the option and its range" grep -q "packed_vq" "$T/err"
check_fail "--mrg_rxbuf yes refused by the CLI" vn modify -u "$vuid" device --mrg_rxbuf yes
# -f without bit 34 (0x400000000) but --packed_vq 1: inconsistent, not silently fixed.
check_fail "-f without RING_PACKED and --packed_vq 1 refused" vn modify -u "$vuid" device -f 0x100010000 --packed_vq 1
saved_err
check "... the error says they disagree" grep -q "asks the opposite" "$T/err"
queue_req="{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"modify\", \"params\": {\"vuid\": \"$vuid\", \"target\": \"queue\", \"packed_vq\": 1}}"
check "packed_vq as a queue option refused (raw RPC)" sh -c "$RPC_RAW '$SOCK' '$queue_req' | jq -e '.error.message | test(\"device options\")'"
check "... refused requests changed nothing" test "$(features_of "$vuid")" = "$f0"
check "--packed_vq 0 --mrg_rxbuf 1 together" vn modify -u "$vuid" device --packed_vq 0 --mrg_rxbuf 1
check "... split only, MRG_RXBUF offered again" sh -c "$(declare -f vn has_bit lacks_bit); VIRTNET='$VIRTNET' SOCK='$SOCK'; lacks_bit $vuid $PACKED && has_bit $vuid $MRG"
check "--packed_vq 1 before a restart" vn modify -u "$vuid" device --packed_vq 1
f1=$(features_of "$vuid")
stop_controller
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts again"; done_testing; }
check "after a restart the device still offers RING_PACKED (features $f1)" test "$(features_of "$vuid")" = "$f1"
vn unplug -u "$vuid" >/dev/null
stop_controller

# ---- a driver on the device: the vhost-user backend and a scripted front-end
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
    skip "refused while a driver runs: needs root and /dev/net/tun for the vhost-user backend's representor"
    done_testing
fi
PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
cat >"$T/virtnet2.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet2.conf" || { not_ok "controller starts (vhost)"; done_testing; }
vn hotplug -i mlx5_0 -m 02:00:00:00:0e:02 -t 1500 -n 2 -s 256 -u "$sfbase" -f 0x400000000 >"$T/hp2.json" ||
    { not_ok "hotplug (vhost)"; done_testing; }
vuid=$(jget .vuid <"$T/hp2.json")
track_rep "$(jget .sf_rep_net_device <"$T/hp2.json")"
sock=$(vn query -u "$vuid" | jget '.devices[0].vhost_socket')
mkfifo "$T/hold.in"
$PEER "$sock" hold <"$T/hold.in" >"$T/hold.out" 2>&1 &
hold_pid=$!
exec 7>"$T/hold.in"
check "a front-end holds the device" wait_until 10 grep -q connected "$T/hold.out"
check "... DRIVER_OK" sh -c "'$VIRTNET' --socket '$SOCK' query -u '$vuid' | jq -e '.devices[0].driver_status | index(\"DRIVER_OK\")'"
f0=$(features_of "$vuid")
check_fail "--packed_vq 0 refused while the driver runs" vn modify -u "$vuid" device --packed_vq 0
saved_err
check "... the error says why and what to do" grep -q "a driver is running on $vuid.*changing packed_vq needs a device reset" "$T/err"
check_fail "--mrg_rxbuf 0 refused while the driver runs" vn modify -u "$vuid" device --mrg_rxbuf 0
saved_err
check "... the error names mrg_rxbuf" grep -q "changing mrg_rxbuf needs a device reset" "$T/err"
check_fail "-f clearing RING_PACKED with --packed_vq 0 refused too" vn modify -u "$vuid" device -f 0x100010000 --packed_vq 0
check "... nothing changed" test "$(features_of "$vuid")" = "$f0"
check "--packed_vq 1 (the value it has) accepted while the driver runs" vn modify -u "$vuid" device --packed_vq 1
check "-t 9000 (no reset rule) accepted while the driver runs" vn modify -u "$vuid" device -t 9000
exec 7>&-
check "the front-end leaves" wait_until 10 pid_gone "$hold_pid"
wait "$hold_pid" 2>/dev/null
check "no driver: --packed_vq 0 --mrg_rxbuf 0 accepted" vn modify -u "$vuid" device --packed_vq 0 --mrg_rxbuf 0
check "... neither bit offered" sh -c "$(declare -f vn has_bit lacks_bit); VIRTNET='$VIRTNET' SOCK='$SOCK'; lacks_bit $vuid $PACKED && lacks_bit $vuid $MRG"
vn unplug -u "$vuid" >/dev/null
stop_controller
done_testing
