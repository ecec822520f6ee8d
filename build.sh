#!/usr/bin/env bash
# build.sh - build, install, run and test virtnet (virtio-net-controller).
#
# The vendor's flags are kept:
#   ./build.sh -a             autogen (autoreconf)
#   ./build.sh -g [-d]        configure [debug]
#   ./build.sh -b [-c] [-v]   make [clean first] [verbose] and make install
#   ./build.sh                all of the above
# and two commands for a fresh Debian 12 machine (as root; they install every
# Debian package they need):
#   ./build.sh run            build and start the controller in the foreground
#                             on the built-in software DPU
#   ./build.sh check          build and run the whole test suite (also under
#                             ASan+UBSan, and the package test once); the last
#                             line is "N passed, N failed"
# and:
#   ./build.sh deb [OUTDIR]   build the Debian packages (dpkg-buildpackage on
#                             debian/) into OUTDIR (default: build/deb)
#   ./build.sh deps           install the Debian packages only
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
BUILD_DIR=${BUILD_DIR:-$top/build}
ASAN_DIR=${ASAN_DIR:-$top/build-asan}
RUN_DIR=${RUN_DIR:-$top/run}
JOBS=$(nproc 2>/dev/null || echo 2)

# Packages to build and to test (the test peers come with the features that use them).
BUILD_PKGS="build-essential autoconf automake libtool pkg-config libev-dev libmnl-dev libcjson-dev liburing-dev libmicrohttpd-dev libvirt-dev"
OPT_PKGS="libibverbs-dev"
# Building and testing the Debian packages (tests/package/).
DEB_PKGS="debhelper dpkg-dev devscripts fakeroot lintian debootstrap"
TEST_PKGS="libcmocka-dev dpdk dpdk-dev iputils-ping ethtool python3 jq socat iproute2 procps util-linux openvswitch-switch bc clang libclang-rt-14-dev qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio file prometheus curl strace libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
    [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}): run as root or install them first"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

deps() {
    command -v dpkg-query >/dev/null || { say "not a Debian system: skipping package installation"; return 0; }
    need_pkgs $BUILD_PKGS $TEST_PKGS $DEB_PKGS
    # Optional: the hardware path; its absence only disables that path.
    need_pkgs $OPT_PKGS || say "optional $OPT_PKGS not installed: hardware path disabled"
}

autogen() {
    say "autogen"
    autoreconf -fi >/dev/null
}

# configure DIR [extra configure args...]
configure_in() {
    local dir=$1; shift
    [ -x "$top/configure" ] || autogen
    if [ -f "$top/config.status" ]; then
        die "the source tree is configured in place; run 'make distclean' in $top first"
    fi
    mkdir -p "$dir"
    say "configure in ${dir#$top/} $*"
    (cd "$dir" && "$top/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var "$@" >/dev/null)
}

make_in() {
    local dir=$1; shift
    make -C "$dir" -j"$JOBS" "$@"
}

cmd_run() {
    deps
    [ -f "$BUILD_DIR/Makefile" ] || configure_in "$BUILD_DIR" --enable-werror
    make_in "$BUILD_DIR" -s
    mkdir -p "$RUN_DIR"
    local sock=$RUN_DIR/virtnet.sock
    cat >&2 <<MSG

virtio_net_controller is starting in the foreground on the software DPU.
State (recovery files, vhost-user sockets) lives in $RUN_DIR.
In another terminal, talk to it with:

    export VIRTNET_SOCKET=$sock
    $BUILD_DIR/cli/virtnet health
    $BUILD_DIR/cli/virtnet version
    $BUILD_DIR/cli/virtnet -h

Stop it with Ctrl-C.

MSG
    # VIRTNET_CONF=FILE picks a config; without it the built-in defaults apply
    # (or the installed default config, if there is one).
    exec "$BUILD_DIR/controller/virtio_net_controller" --foreground \
        --state-dir "$RUN_DIR" --socket "$sock" --provider-lib-dir "$BUILD_DIR/providers/.libs" \
        ${VIRTNET_CONF:+--config "$VIRTNET_CONF"}
}

# deb [OUTDIR]: the Debian packages, built by dpkg-buildpackage in a copy of the tree.
cmd_deb() {
    local out=${1:-$BUILD_DIR/deb}
    command -v dpkg-query >/dev/null || die "not a Debian system: cannot build .deb packages"
    need_pkgs $BUILD_PKGS $OPT_PKGS $DEB_PKGS
    mkdir -p "$out"
    say "Debian packages into $out"
    "$top/scripts/build-deb.sh" "$out"
}

# The package test (tests/package/deb.sh) runs once, outside the ASan pass,
# through automake's TAP driver so that its results land in a .trs file.
run_package_test() {
    local dir=$BUILD_DIR/tests/package rc=0
    say "package test (tests/package/deb.sh)"
    mkdir -p "$dir"
    top_srcdir=$top top_builddir=$BUILD_DIR AM_TAP_AWK=awk \
        sh "$top/build-aux/tap-driver.sh" --test-name package/deb.sh --log-file "$dir/deb.log" \
        --trs-file "$dir/deb.trs" --color-tests no --enable-hard-errors yes --expect-failure no -- \
        bash "$top/tests/package/deb.sh" >"$dir/deb.out" 2>&1 || rc=$?
    sed 's/^/[package] /' "$dir/deb.out" >&2
    [ $rc -eq 0 ] || say "package test: see $dir/deb.log"
    return 0
}

# Counts TAP results in the .trs files under DIR: prints "pass fail skip".
count_results() {
    local dir=$1
    find "$dir" -name '*.trs' -print0 | xargs -0 -r cat | awk '
        /^:test-result: PASS/ {p++} /^:test-result: XFAIL/ {p++}
        /^:test-result: FAIL/ {f++} /^:test-result: XPASS/ {f++} /^:test-result: ERROR/ {f++}
        /^:test-result: SKIP/ {s++}
        END {printf "%d %d %d\n", p, f, s}'
}

run_suite() {
    local dir=$1 label=$2 rc=0
    say "test suite ($label)"
    make_in "$dir" -s check VERBOSE=1 >"$dir/check.out" 2>&1 || rc=$?
    grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$dir/check.out" | sed "s/^/[$label] /" >&2 || true
    if [ $rc -ne 0 ]; then
        say "failures ($label): see $dir/test-suite.log"
        sed -n '/^FAIL\|^ERROR\|^not ok/p' "$dir/check.out" | head -50 >&2 || true
    fi
    return 0
}

cmd_check() {
    deps
    [ -x "$top/configure" ] || autogen
    [ -f "$BUILD_DIR/Makefile" ] || configure_in "$BUILD_DIR" --enable-werror
    say "build"
    make_in "$BUILD_DIR" -s
    run_suite "$BUILD_DIR" normal
    [ "${VIRTNET_NO_PACKAGE_TEST:-0}" = 1 ] || run_package_test
    if [ "${VIRTNET_NO_ASAN:-0}" != 1 ]; then
        [ -f "$ASAN_DIR/Makefile" ] || configure_in "$ASAN_DIR" --enable-werror --enable-sanitizers --enable-debug
        say "build (ASan+UBSan)"
        make_in "$ASAN_DIR" -s
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_suite "$ASAN_DIR" asan
    fi
    local p=0 f=0 s=0 a b c
    # Each fuzz target runs briefly (FUZZ_SECONDS, default 10) and counts as one test.
    if [ "${VIRTNET_NO_FUZZ:-0}" != 1 ]; then
        say "fuzz targets (${FUZZ_SECONDS:-10} s each)"
        local rc=0
        make_in "$BUILD_DIR" -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"$BUILD_DIR/fuzz.out" 2>&1 || rc=$?
        cat "$BUILD_DIR/fuzz.out" >&2
        a=$(grep -c '^fuzz: .* no crash$' "$BUILD_DIR/fuzz.out" || true)
        p=$((p + a))
        if [ $rc -ne 0 ] && ! grep -q 'not found' "$BUILD_DIR/fuzz.out"; then f=$((f + 1)); fi
        grep -q 'not found' "$BUILD_DIR/fuzz.out" && s=$((s + 1))
        a=$(grep -c '^fuzz: .* skipped: ' "$BUILD_DIR/fuzz.out" || true)
        s=$((s + a))
    fi
    read -r a b c < <(count_results "$BUILD_DIR"); p=$((p + a)); f=$((f + b)); s=$((s + c))
    if [ -d "$ASAN_DIR" ] && [ "${VIRTNET_NO_ASAN:-0}" != 1 ]; then
        read -r a b c < <(count_results "$ASAN_DIR"); p=$((p + a)); f=$((f + b)); s=$((s + c))
    fi
    echo "skipped: $s"
    echo "$p passed, $f failed"
    [ "$f" -eq 0 ] && [ "$p" -gt 0 ]
}

# ---- the vendor's flags ----------------------------------------------------
do_autogen=0 do_configure=0 do_build=0 debug=0 clean=0 verbose=0

case "${1:-}" in
    run) shift; cmd_run "$@"; exit ;;
    check) shift; cmd_check "$@"; exit ;;
    deb) shift; cmd_deb "$@"; exit ;;
    deps) deps; exit ;;
    -h|--help|help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

if [ $# -eq 0 ]; then
    do_autogen=1 do_configure=1 do_build=1
fi
while getopts "agdbcvh" opt; do
    case $opt in
        a) do_autogen=1 ;;
        g) do_configure=1 ;;
        d) debug=1 ;;
        b) do_build=1 ;;
        c) clean=1 ;;
        v) verbose=1 ;;
        h) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option; see ./build.sh -h" ;;
    esac
done

[ $do_autogen -eq 1 ] && autogen
if [ $do_configure -eq 1 ]; then
    args=(--enable-werror)
    [ $debug -eq 1 ] && args+=(--enable-debug)
    rm -f "$BUILD_DIR/config.status"
    configure_in "$BUILD_DIR" "${args[@]}"
fi
if [ $do_build -eq 1 ]; then
    [ -f "$BUILD_DIR/Makefile" ] || die "not configured: run ./build.sh -g first"
    [ $clean -eq 1 ] && make_in "$BUILD_DIR" clean
    if [ $verbose -eq 1 ]; then make_in "$BUILD_DIR" V=1; else make_in "$BUILD_DIR" -s; fi
    make_in "$BUILD_DIR" -s install
fi
