# recovery.sh - recovery records in the vendor's shape (its keys only, as its
# Recovery page and README print them) are restored, our own keys derived;
# a record that cannot be used is kept, renamed VUID.rejected, and listed in
# `virtnet health`, never deleted.
. "$top_srcdir/tests/compat/lib.sh"

# No static PF: the vendor's example is hotplug PF 0.
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "backend": "dummy", "hotplug_ports": 8, "num_pf": 0, "num_vf": 0,
                 "pf_total_sf": 40, "sf_num_base": $sfbase, "serial": "$SERIAL" } }
CONF
R=$STATE/recovery
mkdir -p "$R"
# The Recovery page's example, verbatim, as the file of hotplug port 0.
cat >"$R/${SERIAL}VNETH0D0F0" <<'REC'
{"port_ib_dev":"mlx5_0","pf_id":0,"function_type":"pf","bdf_raw":57611,"device_type":"hotplug","mac":"0c:c4:7a:ff:22:93","pf_num":0,"sf_num":2000,"mq":3}
REC
# One we cannot use: an RDMA device this DPU does not have.
cat >"$R/${SERIAL}VNETH1D0F0" <<'REC'
{"port_ib_dev":"mlx5_7","pf_id":1,"function_type":"pf","bdf_raw":26880,"device_type":"hotplug","mac":"0c:c4:7a:ff:22:94","pf_num":0,"sf_num":2001,"mq":3}
REC
# Another DPU's (its serial differs).
cat >"$R/MT0000XX0000VNETH0D0F0" <<'REC'
{"port_ib_dev":"mlx5_0","pf_id":0,"function_type":"pf","bdf_raw":26624,"device_type":"hotplug","mac":"0c:c4:7a:ff:22:95","pf_num":0,"sf_num":2002,"mq":1}
REC

start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
jcheck "the vendor's record is restored: pf 0, its MAC, SF, queues, port 0" \
    '.devices[0] | .pf_id == 0 and .mac == "0c:c4:7a:ff:22:93" and .sf_num == 2000 and .max_queues == 3 and
     .hotplug_port == 0 and .device_type == "hotplug" and .port_ib_dev == "mlx5_0" and .mtu == 1500' \
    vn query -u "${SERIAL}VNETH0D0F0" -b
jcheck "its representor follows the vendor's naming" '.devices[0].sf_rep_net_device == "en3f0pf0sf2000"' vn query -p 0 -b
check "the log says the record was in the vendor's shape" grep -q "${SERIAL}VNETH0D0F0: a recovery record in the vendor's shape" "$CTL_LOG"
check "the unusable record is kept, renamed aside" test -f "$R/${SERIAL}VNETH1D0F0.rejected"
check "another DPU's record is kept, renamed aside" test -f "$R/MT0000XX0000VNETH0D0F0.rejected"
check "neither is left under its own name" sh -c "! test -e '$R/${SERIAL}VNETH1D0F0' && ! test -e '$R/MT0000XX0000VNETH0D0F0'"
jcheck "health lists both with the reason" \
    '(.recovery_rejected | length) == 2 and
     ([.recovery_rejected[] | select(.file == "'"${SERIAL}"'VNETH1D0F0.rejected")][0].reason | test("port_ib_dev"))' vn health
jcheck "the restored device's file now has our keys and still the vendor's" \
    '.format == 1 and .port == 0 and .port_ib_dev == "mlx5_0" and .function_type == "pf" and .sf_num == 2000 and .mq == 3' \
    cat "$R/${SERIAL}VNETH0D0F0"
stop_controller

start_controller --config "$T/virtnet.conf" || { not_ok "controller restarts"; done_testing; }
jcheck "after a restart the device is back" '.devices[0].mac == "0c:c4:7a:ff:22:93" and .devices[0].sf_num == 2000' vn query -p 0 -b
jcheck "health still lists the records set aside" '(.recovery_rejected | length) == 2' vn health
check "the files set aside are still there" test -f "$R/${SERIAL}VNETH1D0F0.rejected"
stop_controller

# The README's variant (mq 1, bdf_raw 26624) in a fresh state dir.
rm -rf "$R" && mkdir -p "$R"
cat >"$R/${SERIAL}VNETH0D0F0" <<'REC'
{
  "port_ib_dev": "mlx5_0",
  "pf_id": 0,
  "function_type": "pf",
  "bdf_raw": 26624,
  "device_type": "hotplug",
  "mac": "0c:c4:7a:ff:22:93",
  "pf_num": 0,
  "sf_num": 2000,
  "mq": 1
}
REC
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts (README record)"; done_testing; }
jcheck "the README's record is restored as it was (1 queue)" \
    '.devices[0] | .pf_id == 0 and .max_queues == 1 and .sf_num == 2000' vn query -p 0 -b
jcheck "nothing set aside" '.recovery_rejected == []' vn health
stop_controller
done_testing
