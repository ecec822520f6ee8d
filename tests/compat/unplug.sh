# unplug.sh - unplugging a hotplug PF whose front-end is attached, with no
# host VM configured to detach it first: the unplug goes ahead (as the
# vendor's), the front-end's connection is closed, and the reply and the log
# say so (docs/devices.md).  The software DPU's vhost-user backend: needs root
# for the representor taps.
. "$top_srcdir/tests/compat/lib.sh"
need_root_tun
need_cmd python3

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "num_pf": 0, "num_vf": 0, "pf_total_sf": 8,
                 "sf_num_base": $sfbase, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vn hotplug -i mlx5_0 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 256 >"$T/hp.json" ||
    { not_ok "hotplug"; done_testing; }
track_rep "$(jq -r .sf_rep_net_device "$T/hp.json")"
vuid=$(jq -r .vuid "$T/hp.json")
sock=$(vn query -u "$vuid" | jq -r '.devices[0].vhost_socket')
check "the device has a vhost-user socket" test -S "$sock"

# A front-end that connects and holds the connection until the controller closes it.
python3 - "$sock" "$T/fe.closed" <<'PY' &
import socket, sys, select
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
r, _, _ = select.select([s], [], [], 30)
if r and s.recv(1) == b"":
    open(sys.argv[2], "w").write("closed\n")
PY
fe=$!
check "the front-end is attached" wait_until 10 sh -c "'$VIRTNET' --socket '$SOCK' query -u $vuid -b | jq -e '.devices[0].vhost_connected == true'"
jcheck "unplug with the front-end attached goes ahead and says the front-end was disconnected" \
    '.status == "unplugged" and .frontend == "disconnected"' vn unplug -u "$vuid"
check "the front-end's connection was closed" wait_until 10 test -f "$T/fe.closed"
check "the log says so" grep -q "$vuid: unplugged with its front-end attached" "$CTL_LOG"
wait "$fe" 2>/dev/null
jcheck "unplug with no front-end says none" '.frontend == "none"' \
    sh -c "'$VIRTNET' --socket '$SOCK' hotplug -i mlx5_0 -m 0C:C4:7A:FF:22:94 -t 1500 -n 3 -s 256 >'$T/hp2.json' && '$VIRTNET' --socket '$SOCK' unplug -u \$(jq -r .vuid '$T/hp2.json')"
stop_controller
done_testing
