# metrics.sh - the Prometheus exposition: `virtnet metrics` and the HTTP
# listener (virtnet.conf "metrics"), checked by Prometheus's own tools:
# promtool lints the text, a real Prometheus server scrapes the listener on
# loopback and its query API must show the series; counters move with real
# traffic (DPDK testpmd's virtio-user answering pings from a netns, as in
# datapath.sh); the listener refuses anything but GET /metrics, bounds its
# clients, and clients that connect and never send stall neither it nor the
# controller; after a fast restart the new process serves the same port and
# the counters carry on (Prometheus sees no reset).
. "$top_srcdir/tests/functional/lib.sh"
. "$top_srcdir/tests/functional/dp_lib.sh"
need_cmd curl promtool

PROM_PID=
prom_stop() {
    [ -n "$PROM_PID" ] || return 0
    kill -TERM "$PROM_PID" 2>/dev/null
    wait_until 20 pid_gone "$PROM_PID" || kill -KILL "$PROM_PID" 2>/dev/null
    wait "$PROM_PID" 2>/dev/null
    PROM_PID=
}
IDLE_FDS=()
idle_close() {
    local fd
    for fd in "${IDLE_FDS[@]}"; do exec {fd}>&-; done
    IDLE_FDS=()
}
trap 'idle_close; prom_stop; dp_cleanup; _cleanup' EXIT

# A port nobody listens on now (the kernel's choice), for Prometheus's own web listener.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A fixed port (free now): a fast restart must bind it again while the old process listens.
MPORT=$(free_port)
cat >"$T/virtnet.conf" <<CONF
{ "emulation": { "hotplug_ports": 4, "serial": "$SERIAL" },
  "metrics": { "listen": "127.0.0.1:$MPORT", "connection_limit": 8, "per_ip_limit": 4, "timeout_s": 2 } }
CONF
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts"; done_testing; }
ADDR=$(vn health | jget '.metrics_http.listen')
URL=http://$ADDR/metrics
check "health names the listener, on loopback" test "$ADDR" = "127.0.0.1:$MPORT"

peer_setup
vuid=$(hotplug -m 02:00:00:00:05:01 -t 1500 -n 2 -s 256 -u "$sfbase")
vuid2=$(hotplug -m 02:00:00:00:05:02 -t 9000 -n 4 -s 256 -u $((sfbase + 1)))
rep=$(rep_of "$vuid")
rep2=$(rep_of "$vuid2")

# ---- virtnet metrics ---------------------------------------------------------------------
vn metrics >"$T/cli.prom"
check "virtnet metrics: promtool check metrics finds no problem" sh -c "promtool check metrics <'$T/cli.prom'"
check "virtnet metrics: every family has HELP and TYPE, counters end in _total" awk '
    /^# HELP / {help[$3] = 1} /^# TYPE / {type[$3] = $4}
    /^[a-z]/ {n = $0; sub(/[{ ].*/, "", n); seen[n] = 1}
    END {for (n in seen) {if (!help[n] || !type[n]) {print "no HELP/TYPE: " n; bad = 1}
                          if ((type[n] == "counter") != (n ~ /_total$/)) {print "counter naming: " n; bad = 1}}
         exit bad}' "$T/cli.prom"
check "virtnet metrics: device info with the representor as 'device', both devices" sh -c "
    grep -q '^virtnet_device_info{vuid=\"$vuid\",pf=\"[0-9]*\",type=\"hotplug\",function=\"pf\",bdf=\"[0-9a-f:.]*\",mac=\"02:00:00:00:05:01\",device=\"$rep\"} 1\$' '$T/cli.prom' &&
    grep -q '^virtnet_device_info{vuid=\"$vuid2\".*device=\"$rep2\"} 1\$' '$T/cli.prom'"
check "virtnet metrics: per-queue counters with vuid, pf, queue and direction (2 + 4 rings)" sh -c "
    [ \$(grep -c '^virtnet_queue_packets_total{vuid=\"$vuid\",pf=\"[0-9]*\",queue=\"[0-9]\",direction=\"[rt]x\"} 0\$' '$T/cli.prom') -eq 2 ] &&
    [ \$(grep -c '^virtnet_queue_packets_total{vuid=\"$vuid2\",.*} 0\$' '$T/cli.prom') -eq 4 ] &&
    grep -q '^virtnet_queue_bytes_total{vuid=\"$vuid\",pf=\"[0-9]*\",queue=\"1\",direction=\"tx\"} 0\$' '$T/cli.prom' &&
    grep -q '^virtnet_queue_packets_by_size_total{vuid=\"$vuid\",.*,queue=\"0\",direction=\"rx\",size=\"65-127\"} 0\$' '$T/cli.prom'"
check "virtnet metrics: devices by type, MTU, RPC and memory" sh -c "
    grep -q '^virtnet_devices{type=\"hotplug_pf\"} 2\$' '$T/cli.prom' &&
    grep -q '^virtnet_device_mtu_bytes{vuid=\"$vuid2\",pf=\"[0-9]*\"} 9000\$' '$T/cli.prom' &&
    grep -q '^virtnet_rpc_requests_total [1-9]' '$T/cli.prom' &&
    grep -q '^virtnet_resident_memory_bytes [1-9]' '$T/cli.prom' &&
    grep -q '^virtnet_live_update_last_status{status=\"none\"} 1\$' '$T/cli.prom'"
check "virtnet metrics -h" sh -c "'$VIRTNET' metrics -h | grep -q 'usage: virtnet metrics'"

# ---- the HTTP listener ---------------------------------------------------------------------
curl -sS -D "$T/get.hdr" -o "$T/http.prom" "$URL"
check "GET /metrics: 200, text format 0.0.4" sh -c "head -1 '$T/get.hdr' | grep -q ' 200 ' &&
    grep -qi '^content-type: text/plain; version=0.0.4' '$T/get.hdr'"
check "GET /metrics: promtool check metrics finds no problem" sh -c "promtool check metrics <'$T/http.prom'"
check "GET /metrics: the same families as virtnet metrics" bash -c "
    diff <(grep '^# TYPE' '$T/cli.prom') <(grep '^# TYPE' '$T/http.prom')"
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "POST /metrics: 405" test "$(status -X POST -d x=1 "$URL")" = 405
check "PUT and DELETE /metrics: 405" test "$(status -X PUT -d x "$URL")$(status -X DELETE "$URL")" = 405405
check "HEAD /metrics: 405" test "$(status -I "$URL")" = 405
check "405 names the allowed method" sh -c "curl -s -D - -o /dev/null -X POST '$URL' | grep -qi '^allow: GET'"
check "GET / and GET /metrics/x: 404" test "$(status "http://$ADDR/")$(status "$URL/x")" = 404404
check "health counts served and refused requests" sh -c "
    '$VIRTNET' --socket '$SOCK' health | jq -e '.metrics_http.served >= 1 and .metrics_http.refused >= 6'"

# ---- clients that connect and never send ------------------------------------------------
for i in 1 2 3; do
    exec {fd}<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}"
    IDLE_FDS+=("$fd")
done
t0=$(date +%s%N)
vn health >/dev/null
t1=$(date +%s%N)
check "3 silent clients: virtnet health answers within 1 s ($(( (t1 - t0) / 1000000 )) ms)" test $(( t1 - t0 )) -lt 1000000000
t0=$(date +%s%N)
check "3 silent clients: a scrape is still served" sh -c "curl -sS -m 2 '$URL' | grep -q '^virtnet_build_info'"
t1=$(date +%s%N)
diag <<<"scrape with 3 silent clients: $(( (t1 - t0) / 1000000 )) ms"
exec {fd}<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}"
IDLE_FDS+=("$fd")
check_fail "per-address limit (4): a fifth client from 127.0.0.1 is turned away" curl -sS -m 2 -o /dev/null "$URL"
check "silent clients are dropped after timeout_s (2 s): scrapes work again" wait_until 6 curl -sS -m 1 -o /dev/null "$URL"
idle_close
check "the controller's loop was never late by a second" sh -c "
    '$VIRTNET' --socket '$SOCK' health | jq -e '.loop_latency_us.max < 1000000'"

# ---- Prometheus scrapes the listener -------------------------------------------------------
PROM_PORT=
if command -v prometheus >/dev/null 2>&1; then
    PROM_PORT=$(free_port)
    mkdir -p "$T/prom"
    cat >"$T/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: virtnet
    static_configs:
      - targets: ['$ADDR']
YML
    prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prom/prometheus.log" 2>&1 &
    PROM_PID=$!
    PROM=http://127.0.0.1:$PROM_PORT
    if ! wait_until 60 curl -sf "$PROM/-/ready"; then
        not_ok "prometheus starts"; tail -20 "$T/prom/prometheus.log" | diag
        PROM_PORT=
    fi
else
    skip "Prometheus scrape: prometheus is not installed (Debian: apt-get install prometheus)"
fi
# pq QUERY: the query's result vector (JSON) from Prometheus's HTTP API.
pq() { curl -sf -G "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'; }
if [ -n "$PROM_PORT" ]; then
    check "prometheus: the target is up" wait_until 30 sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=up{job=\"virtnet\"} == 1' | jq -e '.data.result | length == 1'"
    check "prometheus: virtnet_device_info of both devices, joinable on 'device'" wait_until 10 sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=virtnet_device_info' |
        jq -e '[.data.result[].metric | select(.device == \"$rep\" or .device == \"$rep2\")] | length == 2'"
    check "prometheus: 6 queue series of virtnet_queue_packets_total" sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=virtnet_queue_packets_total' |
        jq -e '.data.result | length == 6'"
fi

# ---- counters move with traffic ------------------------------------------------------------
ip link set "$rep" master "$BR"
start_testpmd "$(sock_of "$vuid")" 1 02:00:00:00:05:0a ""
check "testpmd attaches: both rings run" wait_until 30 rings_running "$vuid" 2
check "metrics: the driver is connected" sh -c "
    '$VIRTNET' --socket '$SOCK' metrics | grep -q '^virtnet_device_driver_connected{vuid=\"$vuid\",pf=\"[0-9]*\"} 1\$'"
check "the peer reaches the virtio-user" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
# (Only the counters are under test here: datapath.sh asks for every echo.)
peer_ping -q -c 20 -i 0.05 -W 2 "$NET.2" >"$T/ping.out" 2>&1
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T/ping.out")
check "pings answered (${got:-0} of 20)" test "${got:-0}" -ge 15
# metric NAME DIRECTION: the value for queue 0/1 of $vuid in a fresh scrape over HTTP.
metric() {
    curl -sf "$URL" | awk -v m="$1{vuid=\"$vuid\"" -v d="direction=\"$2\"}" 'index($0, m) == 1 && index($0, d) {print $2}'
}
rx=$(metric virtnet_queue_packets_total rx) tx=$(metric virtnet_queue_packets_total tx)
want=$(( ${got:-0} + 1 ))   # the echoes and the first ping (ARP aside)
check "HTTP: rx and tx packet counters moved with the traffic (rx $rx, tx $tx >= $want)" test "${rx:-0}" -ge $want -a "${tx:-0}" -ge $want
rxb=$(metric virtnet_queue_bytes_total rx)
check "HTTP: rx bytes moved (${rxb:-0} >= $want x 98)" test "${rxb:-0}" -ge $((want * 98))
check "HTTP: the counters equal virtnet stats" sh -c "
    [ \"\$('$VIRTNET' --socket '$SOCK' stats -u '$vuid' | jq -r '.device[\"queues-stats\"][1].total_packets')\" = \"\$(curl -sf '$URL' |
        awk -v m='virtnet_queue_packets_total{vuid=\"$vuid\"' 'index(\$0, m) == 1 && /direction=\"tx\"/ {print \$2}')\" ]"
if [ -n "$PROM_PORT" ]; then
    check "prometheus: the scraped rx counter reached the traffic (>= $want)" wait_until 10 sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=virtnet_queue_packets_total{vuid=\"$vuid\",direction=\"rx\"} >= $want' |
        jq -e '.data.result | length == 1'"
    check "prometheus: rate() of the tx counter over the pings is positive" wait_until 10 sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=increase(virtnet_queue_packets_total{vuid=\"$vuid\",direction=\"tx\"}[1m]) > 0' |
        jq -e '.data.result | length == 1'"
fi

# ---- fast restart: the new process takes the port over, counters carry on --------------------
old=$CTL_PID
check "restart (the devices are handed to a new process)" vn restart
wait_until 20 pid_gone "$old" && ok "the previous process left" || not_ok "the previous process left"
CTL_PID=$(cat "$STATE/virtio_net_controller.lock")
check "the new process serves the same address" sh -c "
    '$VIRTNET' --socket '$SOCK' health | jq -e '.pid == $CTL_PID and .metrics_http.listen == \"$ADDR\"'"
# A scrape may get a snapshot up to 250 ms old (docs/metrics.md): one taken
# while the new process started, before the hand-over ended.
check "after the restart: the last live update succeeded, with the device's downtime" wait_until 5 sh -c "
    curl -sf '$URL' >'$T/after.prom' &&
    grep -q '^virtnet_live_update_last_status{status=\"success\"} 1\$' '$T/after.prom' &&
    grep -q '^virtnet_live_update_last_device_downtime_seconds{vuid=\"$vuid\"} [0-9]' '$T/after.prom'"
check "after the restart: promtool finds no problem" sh -c "promtool check metrics <'$T/after.prom'"
rx2=$(metric virtnet_queue_packets_total rx)
check "after the restart: the counters carried over (rx ${rx2:-none} >= $rx)" test "${rx2:-0}" -ge "$rx"
if [ -n "$PROM_PORT" ]; then
    check "prometheus: scrapes the new process (its last live update: success)" wait_until 15 sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=virtnet_live_update_last_status{status=\"success\"} == 1' |
        jq -e '.data.result | length == 1'"
    check "prometheus: no counter reset across the restart" sh -c "
        curl -sf -G '$PROM/api/v1/query' --data-urlencode 'query=resets(virtnet_queue_packets_total{vuid=\"$vuid\"}[5m])' |
        jq -e '[.data.result[].value[1] | tonumber] | length == 2 and max == 0'"
    prom_stop
fi
stop_testpmd
ip link set "$rep" nomaster

# (Not our child since the restart: its exit status cannot be read, only that it left.)
last=$CTL_PID
stop_controller
check "the controller stops on SIGTERM" pid_gone "$last"
done_testing
