# providers.sh - which datapath provider runs, and why the others do not:
# the vendor's provider files copied as they are, the sw fallback and the
# key that forbids it, unknown keywords, a file named for another provider,
# and a controller left without a datapath.  Through `virtnet` and JSON-RPC.
. "$top_srcdir/tests/functional/lib.sh"

PDIR=$T/providers
mkdir -p "$PDIR"

# start_with CONF_EXTRA [ARGS...]: a controller reading provider files from $PDIR.
start_with() {
    cat >"$T/virtnet.conf" <<CONF
{ "providers_dir": "$PDIR", "emulation": { "serial": "$SERIAL" } $1 }
CONF
    shift
    : >"$CTL_LOG"
    start_controller --config "$T/virtnet.conf" "$@"
}

# ---- the vendor's two files, verbatim: both probes fail here, sw runs.
cp "$top_srcdir/tests/unit/data/vendor-ace.provider" "$PDIR/ace.provider"
cp "$top_srcdir/tests/unit/data/vendor-dpa.provider" "$PDIR/dpa.provider"
start_with "" || { not_ok "controller starts with the vendor's provider files"; done_testing; }
vn list >"$T/list.json"
check "vendor files: sw is active (built-in fallback)" \
    jq -e '.controller.provider | .name == "sw" and (.reason | test("fallback"))' "$T/list.json"
check "vendor files: tried in score order dpa (200), ace (100), sw last" \
    jq -e '[.controller.provider.candidates[] | "\(.name):\(.score):\(.status)"] == ["dpa:200:probe failed", "ace:100:probe failed", "sw:0:active"]' "$T/list.json"
check "vendor files: each failed probe says why" \
    jq -e '[.controller.provider.candidates[] | select(.status == "probe failed") | .reason | length > 10] == [true, true]' "$T/list.json"
check "vendor files: the sw candidate is marked the built-in fallback" \
    jq -e '.controller.provider.candidates[2].source == "built-in fallback"' "$T/list.json"
vn health >"$T/h.json"
check "vendor files: health ok, provider sw" jq -e '.status == "ok" and .provider.name == "sw" and (has("problems") | not)' "$T/h.json"
check "vendor files: log names the active provider and each failure" \
    sh -c "grep -q \"provider 'sw' (score 0, built-in fallback) is active\" '$CTL_LOG' && grep -q \"provider 'dpa' (score 200, dpa.provider): probe failed: \" '$CTL_LOG'"
stop_controller

# ---- the fallback forbidden: no datapath, health degraded, hotplug refused.
start_with ', "provider_sw_fallback": 0' || { not_ok "controller starts without a datapath"; done_testing; }
vn list >"$T/list.json"
check "no fallback: list says no provider, candidates dpa and ace only" \
    jq -e '.controller.provider | .name == null and (.reason | test("no provider")) and ([.candidates[].name] == ["dpa", "ace"])' "$T/list.json"
vn health >"$T/h.json"
check "no fallback: health degraded with the problem named" \
    jq -e '.status == "degraded" and .provider.name == null and (.problems[0] | test("no datapath provider"))' "$T/h.json"
# SF numbers of this test's slot, tracked first: a bug that lets these through
# must not leave, adopt or delete a representor outside the slot.
track_rep "en3f0pf0sf$sfbase"; track_rep "en3f0pf0sf$((sfbase + 1))"
r=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"hotplug","params":{"ib_device":"mlx5_0","mac":"02:00:00:00:00:01","mtu":1500,"max_queues":2,"max_queue_size":256,"sf_num":'"$sfbase"'}}')
printf '%s' "$r" | jq -e '.error.code == -32002 and (.error.message | test("no datapath provider"))' >/dev/null &&
    ok "no fallback: hotplug refused (-32002), the reason named" || { not_ok "no fallback: hotplug refused"; echo "$r" | diag; }
vn hotplug -i mlx5_0 -m 02:00:00:00:00:01 -t 1500 -n 2 -s 256 -u "$((sfbase + 1))" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no datapath provider" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ] &&
    ok "no fallback: virtnet hotplug exits 1 with one error line" || { not_ok "no fallback: virtnet hotplug (rc $rc)"; diag <"$T/err"; }
check "no fallback: nothing was created" jq -e '.devices == []' <(vn list)
check "no fallback: the log says why" grep -q "no datapath provider could be loaded (provider_sw_fallback is 0)" "$CTL_LOG"
vn validate -f "$T/virtnet.conf" >"$T/val.json"
check "provider_sw_fallback 0 is a valid config" jq -e '.valid == true' "$T/val.json"
sed 's/"provider_sw_fallback": 0/"provider_sw_fallback": "no"/' "$T/virtnet.conf" >"$T/bad.conf"
vn validate -f "$T/bad.conf" >"$T/val.json"
check "provider_sw_fallback must be 0 or 1" jq -e '.valid == false and ([.errors[] | select(contains("provider_sw_fallback"))] | length == 1)' "$T/val.json"
stop_controller

# ---- the dummy emulation backend moves no frames: no datapath is not a problem there.
cat >"$T/virtnet.conf" <<CONF
{ "providers_dir": "$PDIR", "provider_sw_fallback": 0,
  "emulation": { "backend": "dummy", "serial": "$SERIAL", "sf_num_base": $sfbase } }
CONF
: >"$CTL_LOG"
start_controller --config "$T/virtnet.conf" || { not_ok "controller starts (dummy backend)"; done_testing; }
check "dummy backend, no provider: health ok" jq -e '.status == "ok" and .provider.name == null' <(vn health)
vn hotplug -i mlx5_0 -m 02:00:00:00:00:02 -t 1500 -n 2 -s 256 -u "$((sfbase + 2))" >"$T/hp.json" 2>&1
check "dummy backend, no provider: hotplug works" jq -e '.vuid | length > 0' "$T/hp.json"
# (unplugged again: a dummy function holds no socket, which the fd check would miss)
check "dummy backend: unplug" vn unplug -u "$(jq -r .vuid "$T/hp.json")"
stop_controller

# ---- an unknown keyword: the file loads, a warning names the keyword.
printf '# dpa.so with a keyword of a newer release\nProvider=dpa\nScore=200\nPriority=high\n' >"$PDIR/dpa.provider"
start_with "" || { not_ok "controller starts with an unknown keyword"; done_testing; }
check "unknown keyword: the file still counts (dpa, score 200, tried first)" \
    jq -e '.controller.provider.candidates[0] | .name == "dpa" and .score == 200 and .source == "dpa.provider"' <(vn list)
check "unknown keyword: a warning names it and its line" \
    grep -q "dpa.provider: line 4: unknown key 'Priority' ignored" "$CTL_LOG"
stop_controller

# ---- a file named for another provider: the provider line decides, the log says so.
rm -f "$PDIR"/*.provider
printf 'provider=dpa\nscore=300\n' >"$PDIR/fast.provider"
printf 'provider=ace\nscore=100\n' >"$PDIR/ace.provider"
start_with "" || { not_ok "controller starts with a misnamed file"; done_testing; }
check "misnamed file: used as provider dpa (score 300, from fast.provider)" \
    jq -e '.controller.provider.candidates[0] | .name == "dpa" and .score == 300 and .source == "fast.provider"' <(vn list)
check "misnamed file: the log says which name it used and why" \
    grep -q "fast.provider: defines provider 'dpa' but is named for 'fast': using 'dpa'" "$CTL_LOG"
stop_controller

# ---- sw in a file takes its place by score; no second sw as fallback.
rm -f "$PDIR"/*.provider
cp "$top_srcdir/tests/unit/data/vendor-dpa.provider" "$PDIR/dpa.provider"
printf 'provider=sw\nscore=500\n' >"$PDIR/sw.provider"
start_with "" || { not_ok "controller starts with sw.provider"; done_testing; }
vn list >"$T/list.json"
check "sw.provider score 500: sw wins first, dpa not tried" \
    jq -e '.controller.provider | .name == "sw" and .score == 500 and ([.candidates[] | "\(.name):\(.status)"] == ["sw:active", "dpa:not tried"])' "$T/list.json"
stop_controller

# ---- the choice among providers that can run: two test providers
# (tests/providers/, their probe and init told by the environment) next to sw.
LIBS=$T/lib
mkdir -p "$LIBS"
for so in "$top_builddir"/providers/.libs/{sw,ace,dpa}.so "$top_builddir"/tests/providers/.libs/test{a,b}.so; do
    [ -f "$so" ] && ln -s "$so" "$LIBS/"
done
# choose NAME:SCORE[:BEHAVIOUR]...: provider files for these, then a controller
# with the test providers' library dir; prints nothing, fills $T/list.json.
choose() {
    local spec name score beh
    rm -f "$PDIR"/*.provider
    unset VIRTNET_TEST_PROVIDER_testa VIRTNET_TEST_PROVIDER_testb
    for spec in "$@"; do
        IFS=: read -r name score beh <<<"$spec"
        printf 'provider=%s\nscore=%s\n' "$name" "$score" >"$PDIR/$name.provider"
        [ -n "$beh" ] && export "VIRTNET_TEST_PROVIDER_$name=$beh"
    done
    start_with "" --provider-lib-dir "$LIBS" || return 1
    vn list >"$T/list.json"
    stop_controller
}
# order: the candidates as "name:status", in the order tried.
order() { jq -c '[.controller.provider.candidates[] | "\(.name):\(.status)"]' "$T/list.json"; }
# expect_choice DESC ACTIVE ORDER-JSON NAME:SCORE[:BEHAVIOUR]...
expect_choice() {
    local desc=$1 active=$2 want=$3; shift 3
    if ! choose "$@"; then
        not_ok "$desc (controller did not start)"
    elif [ "$(jq -r .controller.provider.name "$T/list.json")" = "$active" ] && [ "$(order)" = "$want" ]; then
        ok "$desc"
    else
        not_ok "$desc (want $active, $want)"
        jq -c .controller.provider "$T/list.json" | diag
    fi
}
if [ -f "$LIBS/testa.so" ] && [ -f "$LIBS/testb.so" ]; then
    expect_choice "highest score wins (testa 50 over testb 40)" testa \
        '["testa:active","testb:not tried","sw:not tried"]' testa:50 testb:40
    expect_choice "highest score wins, whatever the names (testb 60 over testa 50)" testb \
        '["testb:active","testa:not tried","sw:not tried"]' testa:50 testb:60
    expect_choice "a probe failure passes to the next score (testa 50 fails, testb 40)" testb \
        '["testa:probe failed","testb:active","sw:not tried"]' testa:50:probe-fail testb:40
    check "the failed probe's reason is in list" \
        jq -e '.controller.provider.candidates[0].reason | test("told to fail by VIRTNET_TEST_PROVIDER_testa=probe-fail")' "$T/list.json"
    expect_choice "an init failure passes to the next score too" testb \
        '["testa:init failed","testb:active","sw:not tried"]' testa:50:init-fail testb:40
    expect_choice "a tie goes to the name sorting first (testa, testb both 40)" testa \
        '["testa:active","testb:not tried","sw:not tried"]' testa:40 testb:40
    check "the tie is named in the loser's reason" \
        jq -e '.controller.provider.candidates[1].reason | test("a tie")' "$T/list.json"
    expect_choice "a tie whose first fails goes to the other (testa fails)" testb \
        '["testa:probe failed","testb:active","sw:not tried"]' testa:40:probe-fail testb:40
    expect_choice "every file's provider fails: sw, the fallback" sw \
        '["testb:probe failed","testa:probe failed","sw:active"]' testa:5:probe-fail testb:7:probe-fail
    expect_choice "the fallback comes last even above a negative score" testa \
        '["testa:active","sw:not tried"]' testa:-5
    expect_choice "sw by file takes its place by score (sw 30 > testa 20)" sw \
        '["sw:active","testa:not tried"]' sw:30 testa:20
    expect_choice "sw by file loses to a higher score (testa 40 > sw 30)" testa \
        '["testa:active","sw:not tried"]' sw:30 testa:40
    expect_choice "a provider without a library: cannot load, next one" testa \
        '["nosuch:load failed","testa:active","sw:not tried"]' nosuch:90 testa:10
    check "the missing library is named" \
        jq -e '.controller.provider.candidates[0].reason | test("cannot load: .*nosuch.so")' "$T/list.json"
    unset VIRTNET_TEST_PROVIDER_testa VIRTNET_TEST_PROVIDER_testb
else
    skip "provider choice among test providers: tests/providers/.libs/test{a,b}.so not built (make check builds them)"
fi

done_testing
