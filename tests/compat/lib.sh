# lib.sh - sourced by the compatibility tests: the functional tests' harness
# (a controller in a temporary state dir, TAP, bounded waits) plus a config
# on the dummy emulation backend, which runs the whole device manager without
# root or traffic.
. "$top_srcdir/tests/functional/lib.sh"

# dummy_conf [EXTRA-JSON-MEMBERS]: writes $T/virtnet.conf for the dummy backend.
dummy_conf() {
    cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "backend": "dummy", "hotplug_ports": 8, "num_pf": 1, "num_vf": 4,
                 "pf_total_sf": 40, "sf_num_base": $sfbase, "serial": "$SERIAL" }${1:+, $1} }
CONF
}

# jcheck DESC FILTER CMD...: ok when CMD succeeds and jq -e FILTER holds on its output.
jcheck() {
    local desc=$1 filter=$2 out
    shift 2
    if out=$("$@" 2>"$T/jcheck.err") && printf '%s' "$out" | jq -e "$filter" >/dev/null; then
        ok "$desc"
    else
        not_ok "$desc"
        { echo "command: $*"; echo "filter: $filter"; echo "$out"; cat "$T/jcheck.err"; } | diag
    fi
}
