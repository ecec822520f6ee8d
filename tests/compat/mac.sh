# mac.sh - MAC rules: every textual form the vendor's controller takes
# (colon, dash, bare hex, any case; it checks only the length) is accepted and
# echoed in the colon form as written; all-zero, multicast and broadcast are
# refused with the reason; a duplicate is allowed, flagged in the reply and
# the log.  Through `virtnet hotplug` and `virtnet modify`.
. "$top_srcdir/tests/compat/lib.sh"

dummy_conf
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }

hp() { vn hotplug -i mlx5_0 -t 1500 -n 3 -s 256 -m "$@"; }
n=0
for form in "0C:C4:7A:FF:22:93=0C:C4:7A:FF:22:93" "0c:c4:7a:ff:22:94=0c:c4:7a:ff:22:94" \
            "0C-C4-7A-FF-22-95=0C:C4:7A:FF:22:95" "0cc47aff2296=0c:c4:7a:ff:22:96" \
            "0Cc47AFf2297=0C:c4:7A:Ff:22:97"; do
    in=${form%%=*} want=${form#*=}
    jcheck "hotplug -m $in: accepted, echoed as $want" ".mac == \"$want\"" hp "$in"
    n=$((n + 1))
done
vuid=$(vn list | jq -r '[.devices[] | select(.device_type == "hotplug")][2].vuid')
jcheck "list prints the MAC as written (dash form given)" \
    "[.devices[] | select(.vuid == \"$vuid\")][0].mac == \"0C:C4:7A:FF:22:95\"" vn list
jcheck "the recovery file keeps the vendor's lower-case key and our echo" \
    '.mac == "0c:c4:7a:ff:22:95" and .mac_text == "0C:C4:7A:FF:22:95"' cat "$STATE/recovery/$vuid"

refused() { # DESC PATTERN MAC
    if hp "$3" >"$T/out" 2>"$T/err"; then not_ok "$1 is refused"
    else check "$1 is refused: $2" grep -q "$2" "$T/err"; fi
}
refused "all-zero 00:00:00:00:00:00" "all-zero address" 00:00:00:00:00:00
refused "all-zero bare 000000000000" "all-zero address" 000000000000
refused "broadcast FF:FF:FF:FF:FF:FF" "broadcast address" FF:FF:FF:FF:FF:FF
refused "broadcast ff-ff-ff-ff-ff-ff" "broadcast address" ff-ff-ff-ff-ff-ff
refused "multicast 01:00:5E:00:00:01" "multicast address" 01:00:5E:00:00:01
refused "multicast bare 333300000001" "multicast address" 333300000001
refused "mixed separators 0c:c4-7a:ff:22:93" "expected 6 bytes in hex" 0c:c4-7a:ff:22:93
refused "11 digits 0cc47aff229" "expected 6 bytes in hex" 0cc47aff229
refused "dots 0cc4.7aff.2293" "expected 6 bytes in hex" 0cc4.7aff.2293
check "modify -m all-zero is refused" sh -c "! '$VIRTNET' --socket '$SOCK' modify -u $vuid device -m 00-00-00-00-00-00 2>/dev/null"
jcheck "nothing changed by the refusals" "([.devices[] | select(.device_type == \"hotplug\")] | length) == $n" vn list

# Duplicates: allowed, flagged in the reply and the log.
jcheck "hotplug with a MAC in use: accepted and flagged in the reply" \
    '(.warnings | length) == 1 and (.warnings[0] | test("MAC 0c:c4:7a:ff:22:93 is also the MAC of "))' hp 0c-c4-7a-ff-22-93
check "and in the log" grep -q "MAC 0c:c4:7a:ff:22:93 is also the MAC of" "$CTL_LOG"
jcheck "modify -m to a MAC in use: done and flagged" \
    '(.warnings | length) == 1 and .mac == "0C:C4:7A:FF:22:94"' vn modify -u "$vuid" device -m 0CC47AFF2294
jcheck "a unique MAC has no warnings" '(has("warnings") | not) and .mac == "02:00:00:00:00:01"' vn modify -u "$vuid" device -m 02:00:00:00:00:01

stop_controller
done_testing
