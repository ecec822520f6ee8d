# deb.sh - the Debian packages in a clean Debian 12 system, the way an
# operator gets and upgrades them (TAP; ./build.sh check runs it once).
#
# Builds the packages (scripts/build-deb.sh) and a second set with a higher
# version (+test1, in a copy of the tree); makes a minimal bookworm root with
# debootstrap (kept as a tarball under the build dir for the next run);
# installs the package there with apt-get and without its Recommends (no
# libibverbs: the sw provider must still carry the datapath; installed later,
# it lets the ace and dpa providers load and probe); starts the
# controller in the root, hotplugs a device, attaches a vhost-user front-end
# (tests/functional/vhost_peer.py, from outside the root, on the socket under
# it); with DPDK testpmd as the device's driver and pings flowing through the
# representor, installs the newer package over the running controller (same
# pid: nothing restarted it), runs `virtnet update -s` (the new binary serves,
# devices as they were, no echo lost); then purges the package and checks that
# nothing of it is left.  Also: lintian reports no error, and the example
# provider (examples/provider/) builds against the -dev package.
#
# Needs root, debootstrap and a reachable Debian archive (the mirror of
# /etc/apt/sources.list*, or VIRTNET_DEB_MIRROR); skipped otherwise.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
export top_srcdir top_builddir
. "$top_srcdir/tests/functional/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (chroot, mounts, tap representors)"
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
need_cmd debootstrap dpkg-buildpackage dch lintian ip make cc pkg-config
TRAFFIC=
if command -v dpdk-testpmd >/dev/null 2>&1; then
    . "$top_srcdir/tests/functional/dp_lib.sh"
    TRAFFIC=1
fi

# The archive: VIRTNET_DEB_MIRROR, else the first source for bookworm in apt's sources.
find_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'function para() { if (uris != "" && suites ~ /[ \t]bookworm([ \t]|$)/) print uris; uris = "" }
             /^URIs:/ { uris = $2 }
             /^Suites:/ { suites = $0 }
             /^[ \t]*$/ { para() }
             /^deb[ \t]/ { sub(/\[[^]]*\]/, ""); if ($3 == "bookworm") print $2 }
             END { para() }' "$f"
    done | head -n 1
}
MIRROR=${VIRTNET_DEB_MIRROR:-$(find_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

# ---- the root: a minimal bookworm, from the cache or made now ---------------
# A short path: vhost-user socket paths under the root must fit in sun_path.
W=$(mktemp -d /tmp/vnpkg.XXXXXX)
R=$W/r
CACHE=$top_builddir/package-test/bookworm-minbase.tar
CSTATE=/vntest/state CSOCK=/vntest/ctl.sock     # the controller's, inside the root
FLOOD_PID="" MOUNTED=()

# The controller in the root: whoever holds its lock now (a live update
# changes the pid), if that process really runs in our root.
root_ctl_pid() {
    local pid
    pid=$(cat "$R$CSTATE/virtio_net_controller.lock" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$R" ] && echo "$pid"
}

# exited PID: gone, or a zombie waiting for us to reap it.
exited() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

pkg_cleanup() {
    local m pid
    if [ -n "$FLOOD_PID" ]; then
        touch "$W/flood.stop"
        wait_until 10 exited "$FLOOD_PID" || kill "$FLOOD_PID" 2>/dev/null
        wait "$FLOOD_PID" 2>/dev/null
    fi
    if pid=$(root_ctl_pid); then
        kill -KILL "$pid" 2>/dev/null
        wait_until 10 pid_gone "$pid"
    fi
    for ((m = ${#MOUNTED[@]} - 1; m >= 0; m--)); do
        umount "${MOUNTED[m]}" 2>/dev/null || umount -l "${MOUNTED[m]}"
    done
    # Never remove a tree something is still mounted in.
    if grep -q " $W/" /proc/mounts; then
        echo "# $W still has mounts: left in place" >&2
    else
        rm -rf "$W"
    fi
}
if [ -n "$TRAFFIC" ]; then
    trap 'pkg_cleanup; dp_cleanup; _cleanup' EXIT
else
    trap 'pkg_cleanup; _cleanup' EXIT
fi

mkdir -p "$R" "$(dirname "$CACHE")"
if [ -s "$CACHE" ]; then
    tar -xf "$CACHE" -C "$R" || skip_all "cannot unpack $CACHE"
else
    timeout 900 debootstrap --variant=minbase bookworm "$R" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
        skip_all "debootstrap cannot make a bookworm root from $MIRROR: $(tail -n 1 "$W/debootstrap.log")"
    tar -cf "$CACHE.tmp" -C "$R" . && mv "$CACHE.tmp" "$CACHE"
fi
for m in proc sys dev; do
    mkdir -p "$R/$m"
    case $m in
        proc) mount -t proc proc "$R/proc" ;;
        *) mount --bind "/$m" "$R/$m" ;;
    esac || skip_all "cannot mount /$m in the root"
    MOUNTED+=("$R/$m")
done
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
apt_root() { timeout 600 chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -y -q "$@"; }
apt_root update >"$W/apt-update.log" 2>&1 ||
    skip_all "apt-get update in the root cannot reach $MIRROR: $(tail -n 1 "$W/apt-update.log")"

# What the root holds before the package, to compare with after the purge.
# Left out: apt's and dpkg's own records and caches, logs, the test's dirs,
# and the backups of the user and group files (libibverbs1 adds the system
# group "rdma", which policy lets stay after a purge).
root_files() {
    (cd "$R" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp \
        -o -path ./vntest -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
        -o -path ./var/log \) -prune -o -print |
        grep -Ev '^\./etc/(passwd|group|shadow|gshadow)-$' | LC_ALL=C sort)
}
root_files >"$W/files.before"

# ---- the packages ----------------------------------------------------------
mkdir -p "$W/v1" "$W/v2"
check "build the packages (dpkg-buildpackage)" "$top_srcdir/scripts/build-deb.sh" "$W/v1"
check "build the packages again with a higher version (+test1)" \
    "$top_srcdir/scripts/build-deb.sh" --version-suffix +test1 "$W/v2"
deb1=$(ls "$W"/v1/virtio-net-controller_*.deb 2>/dev/null)
deb2=$(ls "$W"/v2/virtio-net-controller_*.deb 2>/dev/null)
dev1=$(ls "$W"/v1/virtio-net-controller-dev_*.deb 2>/dev/null)
[ -f "$deb1" ] && [ -f "$deb2" ] && [ -f "$dev1" ] || { not_ok "packages built"; done_testing; }
check "a -dbgsym package comes with them" ls "$W"/v1/virtio-net-controller-dbgsym_*.deb
ver1=$(dpkg-deb -f "$deb1" Version) ver2=$(dpkg-deb -f "$deb2" Version)
check "the second version ($ver2) is higher than the first ($ver1)" dpkg --compare-versions "$ver2" gt "$ver1"
check "lintian: no error on the packages" lintian --fail-on error "$W"/v1/*.deb
check "Depends computed: liburing2 (sw provider), libc6, libev4, libmnl0, libcjson1" sh -c \
    "dpkg-deb -f '$deb1' Depends | grep -q liburing2 && dpkg-deb -f '$deb1' Depends | grep -q libc6 &&
     dpkg-deb -f '$deb1' Depends | grep -q libev4 && dpkg-deb -f '$deb1' Depends | grep -q libmnl0 &&
     dpkg-deb -f '$deb1' Depends | grep -q libcjson1"
check "libibverbs1 (ace, dpa providers) is recommended, not required" sh -c \
    "dpkg-deb -f '$deb1' Recommends | grep -q libibverbs1 && ! dpkg-deb -f '$deb1' Depends | grep -q libibverbs"

# The example provider, built against the -dev package's header and pkg-config file.
mkdir -p "$W/dev" "$W/example"
dpkg-deb -x "$dev1" "$W/dev"
cp "$top_srcdir"/examples/provider/* "$W/example/"
pcdir=$(dirname "$(find "$W/dev" -name virtnet-provider.pc | head -n 1)")
build_example() {
    PKG_CONFIG_SYSROOT_DIR="$W/dev" PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH="" make -C "$W/example" &&
        nm -D --defined-only "$W/example/null.so" | awk '{print $3}' | grep -qx vn_provider_entry
}
check "examples/provider builds against the -dev package (pkg-config virtnet-provider)" build_example

# check_json DESC FILE FILTER [JQ ARGS...]: FILTER holds on FILE; shows FILE otherwise.
check_json() {
    local desc=$1 file=$2 filter=$3; shift 3
    if jq -e "$@" "$filter" "$file" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; diag <"$file"; fi
}

# ---- install, start, hotplug, attach ---------------------------------------
mkdir -p "$R/tmp/v1" "$R/tmp/v2"
cp "$deb1" "$R/tmp/v1/" && cp "$deb2" "$R/tmp/v2/"
check "apt-get install ./$(basename "$deb1") (without Recommends)" \
    apt_root install --no-install-recommends "./tmp/v1/$(basename "$deb1")"
check "installed; libibverbs1 is not" sh -c "chroot '$R' dpkg-query -W -f='\${Status}' virtio-net-controller | grep -q 'install ok installed' &&
    ! chroot '$R' dpkg-query -W -f='\${Status}' libibverbs1 2>/dev/null | grep -q 'install ok installed'"
check "conffiles: virtnet.conf and the provider files under /etc/virtnet" sh -c \
    "chroot '$R' dpkg-query -W -f='\${Conffiles}' virtio-net-controller | grep -q /etc/virtnet/virtnet.conf &&
     chroot '$R' dpkg-query -W -f='\${Conffiles}' virtio-net-controller | grep -q /etc/virtnet/providers/sw.provider"
check "provider libraries are not executable" sh -c "[ -z \"\$(find '$R'/usr/lib/*/virtio-net-controller/providers -name '*.so' -perm /111)\" ]"

vn() { in_root virtnet --socket "$CSOCK" "$@"; }
in_root mkdir -p /vntest
chroot "$R" /usr/sbin/virtio_net_controller --foreground --state-dir "$CSTATE" --socket "$CSOCK" \
    >>"$CTL_LOG" 2>&1 &
CTL_PID=$!
if ! wait_until 20 vn health; then
    not_ok "the installed controller starts"; diag <"$CTL_LOG"; done_testing
fi
ok "the installed controller starts (pid $CTL_PID, /etc/virtnet/virtnet.conf)"
vn list >"$W/list1.json"
check_json "list: the sw provider is active" "$W/list1.json" '.controller.provider.name == "sw"'
check_json "list: ace and dpa could not load (no libibverbs), the datapath stays" "$W/list1.json" \
    '[.controller.provider.candidates[] | select(.name == "ace" or .name == "dpa") |
      select(.status == "load failed" and (.reason | test("libibverbs")))] | length == 2'
check "the controller warned about it" grep -q "warn.*provider 'ace'.*libibverbs" "$CTL_LOG"

vn hotplug -i mlx5_0 -m 02:00:00:00:07:01 -t 1500 -n 2 -s 256 -u "$sfbase" >"$W/hp.json" ||
    { not_ok "hotplug"; done_testing; }
ok "hotplug"
vuid=$(jget .vuid <"$W/hp.json") rep=$(jget .sf_rep_net_device <"$W/hp.json")
track_rep "$rep"
sock=$(vn query -u "$vuid" -b | jq -r '.devices[0].vhost_socket')
PEER="python3 $top_srcdir/tests/functional/vhost_peer.py"
check "a vhost-user front-end attaches and sends 16 frames through the sw provider" \
    timeout 30 $PEER "$R$sock" good --mtu 1500

# Snapshot of what a hand-over must keep (live ring indices move).
snapshot() {
    vn query -a | jq -S '[.devices[] | del(.queues[]?.avail_idx, .queues[]?.used_idx,
        .queues[]?.driver_avail_idx, .queues[]?.received_desc, .queues[]?.completed_desc,
        .queues[]?.total_packets, .queues[]?.total_bytes, .rx_packets, .rx_bytes, .tx_packets,
        .tx_bytes)]'
}

# Pings from the peer namespace to testpmd's icmpecho, in rounds of 100, until told to stop.
flood_start() {
    : >"$W/flood.out"
    rm -f "$W/flood.stop"
    (while [ ! -e "$W/flood.stop" ]; do
        peer_ping -q -c 100 -i 0.01 -W 1 "$NET.2" >>"$W/flood.out" 2>&1
    done) &
    FLOOD_PID=$!
}
flood_stop() {
    touch "$W/flood.stop"
    wait_until 30 exited "$FLOOD_PID" || kill "$FLOOD_PID" 2>/dev/null
    wait "$FLOOD_PID" 2>/dev/null
    FLOOD_PID=
}
if [ -n "$TRAFFIC" ]; then
    peer_setup
    ip link set "$rep" master "$BR"
    ip link set "$rep" up
    start_testpmd "$R$sock" 1 02:00:00:00:07:01 ""
    check "testpmd (virtio-user) drives the device" wait_until 30 rings_running "$vuid" 2
    check "the peer reaches it through the representor" wait_until 20 peer_ping -c 1 -W 1 "$NET.2"
    flood_start
fi
snapshot >"$W/before.json"

# ---- install the newer package over the running controller ----------------
pid1=$(root_ctl_pid)
check "apt-get install ./$(basename "$deb2") over the running controller" \
    apt_root install "./tmp/v2/$(basename "$deb2")"
check "the newer package is installed ($ver2)" sh -c \
    "[ \"\$(chroot '$R' dpkg-query -W -f='\${Version}' virtio-net-controller)\" = '$ver2' ]"
check "the running controller was not restarted (same pid $pid1)" \
    sh -c "[ -n '$pid1' ] && kill -0 '$pid1' && [ \"\$(cat '$R$CSTATE/virtio_net_controller.lock')\" = '$pid1' ]"
vn version >"$W/version1.json"
check_json "version: v$ver1 runs, v$ver2 is installed" "$W/version1.json" \
    '."Original Controller" == $a and ."Destination Controller" == $b' --arg a "v$ver1" --arg b "v$ver2"

# apt keeps a Recommends the operator left out on upgrade; installing it unlocks ace and dpa.
check "apt-get install libibverbs1 (what the hardware providers need)" apt_root install libibverbs1

# ---- the vendor's flow: virtnet update -s ----------------------------------
check "virtnet update -s" vn update -s
check "the old controller exits" wait_until 20 exited "$pid1"
wait "$pid1" 2>/dev/null
pid2=$(root_ctl_pid)
check "a new controller holds the state dir (pid $pid2)" sh -c "[ -n '$pid2' ] && [ '$pid2' != '$pid1' ]"
CTL_PID=
vn version >"$W/version2.json"
check_json "version: v$ver2 serves" "$W/version2.json" '."Original Controller" == $b' --arg b "v$ver2"
snapshot >"$W/after.json"
check "every device is as it was (query -a)" diff "$W/before.json" "$W/after.json"
vn list >"$W/list2.json"
check_json "list: sw active again; ace and dpa now load, their probes find no BlueField" \
    "$W/list2.json" '.controller.provider.name == "sw" and
     ([.controller.provider.candidates[] | select((.name == "ace" or .name == "dpa") and .status == "probe failed")]
      | length == 2)'
if [ -n "$TRAFFIC" ]; then
    # Some rounds after the update, then stop.
    wait_until 10 sh -c "[ \$(grep -c 'packets transmitted' '$W/flood.out') -ge 3 ]"
    n0=$(grep -c 'packets transmitted' "$W/flood.out")
    wait_until 10 sh -c "[ \$(grep -c 'packets transmitted' '$W/flood.out') -ge $((n0 + 2)) ]"
    flood_stop
    sent=$(awk '/packets transmitted/ {s += $1} END {print s + 0}' "$W/flood.out")
    check "no echo lost across install and update -s ($sent sent, in rounds of 100)" sh -c \
        "[ $sent -gt 0 ] && ! grep 'packet loss' '$W/flood.out' | grep -v ' 0% packet loss'"
    check "testpmd never noticed (still attached)" pid_alive "$TP_PID"
    stop_testpmd
    wait_until 10 sh -c "vn query -u '$vuid' -b | jq -e '.devices[0].vhost_connected == false'"
fi
check "the new controller serves a front-end on the same socket" timeout 30 $PEER "$R$sock" good --mtu 1500

# ---- purge -----------------------------------------------------------------
check "unplug" vn unplug -u "$vuid"
if pid2=$(root_ctl_pid); then
    kill -TERM "$pid2"
    check "the controller stops on SIGTERM" wait_until 20 pid_gone "$pid2"
fi
rm -rf "${R:?}/vntest"
check "apt-get purge --autoremove virtio-net-controller libibverbs1" \
    apt_root purge --autoremove virtio-net-controller libibverbs1
check "purged: dpkg knows nothing of it" sh -c \
    "! chroot '$R' dpkg-query -W -f='\${Status}' virtio-net-controller 2>/dev/null | grep -q installed"
root_files >"$W/files.after"
check "nothing is left behind (files of the root as before the install)" \
    diff "$W/files.before" "$W/files.after"
done_testing
