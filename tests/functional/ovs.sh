# ovs.sh - a representor in an Open vSwitch bridge (userspace datapath) stays
# a working port across a controller crash and restart.
. "$top_srcdir/tests/functional/lib.sh"
need_root_tun
for c in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl; do
    command -v $c >/dev/null || skip_all "$c not installed (openvswitch-switch)"
done
[ -f /usr/share/openvswitch/vswitch.ovsschema ] || skip_all "no OVS schema"

O=$T/ovs
mkdir -p "$O"
export OVS_RUNDIR=$O OVS_LOGDIR=$O OVS_DBDIR=$O
ovsctl() { ovs-vsctl --db=unix:$O/db.sock --timeout=10 "$@"; }
ovs_cleanup() {
    local p
    for p in "$O/vs.pid" "$O/db.pid"; do
        [ -f "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null
    done
    for p in "$O/vs.pid" "$O/db.pid"; do
        [ -f "$p" ] && wait_until 10 pid_gone "$(cat "$p")"
    done
}
trap 'ovs_cleanup; _cleanup' EXIT

ovsdb-tool create "$O/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$O/conf.db" --remote=punix:$O/db.sock --pidfile=$O/db.pid --detach --log-file=$O/db.log \
    --unixctl=$O/db.ctl
ovsctl --no-wait init
ovs-vswitchd unix:$O/db.sock --pidfile=$O/vs.pid --detach --log-file=$O/vs.log --unixctl=$O/vs.ctl
check "OVS is up" ovsctl add-br vnbr$$ -- set bridge vnbr$$ datapath_type=netdev
track_rep "vnbr$$"

cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 2, "serial": "$SERIAL" } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
vn hotplug -i mlx5_0 -m 02:00:00:00:02:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$T/hp.json"
rep=$(jget .sf_rep_net_device <"$T/hp.json")
track_rep "$rep"
check "ovs-vsctl add-port on the representor" ovsctl add-port vnbr$$ "$rep"
port_ok() { [ "$(ovsctl get Interface "$rep" ofport)" -gt 0 ] 2>/dev/null && [ -z "$(ovsctl get Interface "$rep" error 2>/dev/null | tr -d '[]"')" ]; }
check "the port has an OpenFlow port number and no error" wait_until 10 port_ok
ifindex=$(cat /sys/class/net/$rep/ifindex)
ofport=$(ovsctl get Interface "$rep" ofport)

kill -KILL "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
check "after kill -9 the representor is still there" ip link show "$rep"
start_controller --config "$T/virtnet.conf" || not_ok "restart"
check "restart: same representor ifindex" sh -c "[ \$(cat /sys/class/net/$rep/ifindex) -eq $ifindex ]"
check "restart: still a port of the bridge" sh -c "ovs-vsctl --db=unix:$O/db.sock list-ports vnbr$$ | grep -qx '$rep'"
check "restart: same OpenFlow port, no error" sh -c "[ \"\$(ovs-vsctl --db=unix:$O/db.sock get Interface $rep ofport)\" = '$ofport' ]"
check "restart: the device is back" sh -c "'$VIRTNET' --socket '$SOCK' query -p 0 -b | jq -e '.devices[0].sf_rep_net_device == \"$rep\"'"
vn unplug -p 0 >/dev/null
check "unplug removes the representor" sh -c "! ip link show '$rep' 2>/dev/null"
ovsctl del-br vnbr$$
stop_controller
done_testing
