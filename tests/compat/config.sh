# config.sh - the vendor's documented config files (README: non-LAG, LAG,
# single port) and provider files (ace.provider, dpa.provider), verbatim, with
# only our emulation profile added (the dummy backend: no root, no traffic),
# through the real controller; and the VF MAC rule of its README.
. "$top_srcdir/tests/compat/lib.sh"

# with_profile FILE: inserts our emulation profile after the file's first '{'.
EMU='"emulation": { "backend": "dummy", "hotplug_ports": 4, "num_pf": 2, "num_vf": 101, "pf_total_sf": 300, "sf_num_base": '$sfbase', "serial": "'$SERIAL'" }, "providers_dir": "'$T/providers'",'
with_profile() { sed "0,/{/s||{ $EMU|" "$1"; }
mkdir -p "$T/providers"
cat >"$T/providers/ace.provider" <<'P'
# ace.so is one provider
Provider=ace
Score=100
P
cat >"$T/providers/dpa.provider" <<'P'
# dpa.so is another provider
Provider=dpa
Score=200
P

cat >"$T/nonlag.json" <<'CONF'
{
  "ib_dev_p0": "mlx5_0",
  "ib_dev_p1": "mlx5_1",
  "ib_dev_for_static_pf": "mlx5_0",
  "is_lag": 0,
  "recovery": 1,
  "sf_pool_percent": 0,
  "sf_pool_force_destroy": 0,
  "static_pf": {
    "mac_base": "11:22:33:44:55:66",
    "features": "0x230047082b",
  },
  "vf": {
    "mac_base": "CC:48:15:FF:00:00",
    "features": "0x230047082b",
    "vfs_per_pf": 100
  }
}
CONF
with_profile "$T/nonlag.json" >"$T/virtnet.conf"
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts with the non-LAG example"; done_testing; }
jcheck "non-LAG: dual port, mlx5_0 and mlx5_1" '.controller.port_layout == "dual" and .controller.ib_devices == ["mlx5_0", "mlx5_1"]' vn list
jcheck "static PF MACs: mac_base -> pf_0, mac_base + 1 -> pf_1" \
    '[.devices[] | select(.device_type == "static") | .mac] == ["11:22:33:44:55:66", "11:22:33:44:55:67"]' vn list
jcheck "100 VFs per PF" '[.devices[] | select(.function_type == "vf")] | length == 200' vn list
jcheck "VF MACs: mac_base -> vf_0, + 1 -> vf_1, ... across PFs (PF 1's vf_0 is mac_base + 100)" \
    '[.devices[] | select(.function_type == "vf")] as $v |
     ($v | map(select(.pf_id == 0 and .vf_id == 0))[0].mac) == "cc:48:15:ff:00:00" and
     ($v | map(select(.pf_id == 0 and .vf_id == 99))[0].mac) == "cc:48:15:ff:00:63" and
     ($v | map(select(.pf_id == 1 and .vf_id == 0))[0].mac) == "cc:48:15:ff:00:64" and
     ($v | map(select(.pf_id == 1 and .vf_id == 99))[0].mac) == "cc:48:15:ff:00:c7" and
     ($v | map(.mac) | unique | length) == 200' vn list
jcheck "a VF the host adds beyond vfs_per_pf gets a MAC after all of them" \
    '.sriov.num_vfs == 101' vn debug num_vfs pf=0 num_vfs=101
jcheck "... mac_base + 200, no VF shares it" \
    '[.devices[] | select(.function_type == "vf")] as $v | ($v | map(select(.pf_id == 0 and .vf_id == 100))[0].mac) == "cc:48:15:ff:00:c8" and ($v | map(.mac) | unique | length) == 201' vn list
jcheck "the vendor's provider files: ace and dpa tried in score order, sw runs" \
    '.provider.name == "sw" and ([.provider.candidates[].name] | .[0:2]) == ["dpa", "ace"]' vn health
jcheck "validate accepts the example" '.valid == true or .ok == true or .status == "ok"' vn validate
stop_controller

cat >"$T/lag.json" <<'CONF'
{
  "ib_dev_lag": "mlx5_bond_0",
  "ib_dev_for_static_pf": "mlx5_bond_0",
  "is_lag": 1,
  "recovery": 1,
  "sf_pool_percent": 0,
  "sf_pool_force_destroy": 0
}
CONF
with_profile "$T/lag.json" >"$T/virtnet.conf"
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts with the LAG example"; done_testing; }
jcheck "LAG: mlx5_bond_0" '.controller.port_layout == "lag" and .controller.ib_devices == ["mlx5_bond_0"]' vn list
check "hotplug on mlx5_bond_0" vn hotplug -i mlx5_bond_0 -m 0C:C4:7A:FF:22:93 -t 1500 -n 3 -s 1024
check_fail "hotplug on mlx5_0 is refused under LAG" vn hotplug -i mlx5_0 -m 0C:C4:7A:FF:22:94 -t 1500 -n 3 -s 1024
stop_controller
rm -rf "$STATE"

cat >"$T/single.json" <<'CONF'
{
  "ib_dev_p0": "mlx5_2",
  "ib_dev_for_static_pf": "mlx5_2",
  "single_port": 1
}
CONF
with_profile "$T/single.json" >"$T/virtnet.conf"
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts with the single-port example"; done_testing; }
jcheck "single port: mlx5_2" '.controller.port_layout == "single" and .controller.ib_devices == ["mlx5_2"]' vn list
stop_controller
done_testing
