#!/usr/bin/env bash
# build-deb.sh - build a Debian package of virtnet: the daemon, the CLI, the
# providers, man pages, bash completion, sample config and systemd unit.
#
#   scripts/build-deb.sh [OUTDIR]      (default: the current directory)
#
# The package follows the vendor's flow: install the newer package, then run
# `virtnet update -s`.  Its maintainer scripts therefore never restart a
# running controller; they only reload systemd's view of the unit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "${1:-.}" && pwd)
work=$(mktemp -d /tmp/virtnet-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT

version=$(sed -n 's/^AC_INIT(\[[^]]*\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
arch=$(dpkg --print-architecture)
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)

mkdir -p "$work/build" "$work/root"
(cd "$work/build" && "$top/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --with-systemdunitdir=/lib/systemd/system --enable-werror >/dev/null)
make -C "$work/build" -s -j"$(nproc)"
make -C "$work/build" -s install DESTDIR="$work/root"
# Libtool archives are of no use in a package.
find "$work/root" -name '*.la' -delete

mkdir -p "$work/root/DEBIAN"
cat >"$work/root/DEBIAN/control" <<CONTROL
Package: virtio-net-controller
Version: $version
Architecture: $arch
Maintainer: virtnet developers <virtnet@localhost>
Depends: libev4, libmnl0, libcjson1
Recommends: openvswitch-switch
Section: net
Priority: optional
Description: virtio-net device emulation controller for SmartNICs/DPUs
 virtio_net_controller emulates virtio-net PCIe functions (hotplug PFs,
 static PFs, VFs) backed by SF representors, driven with the virtnet CLI.
 Without a DPU it runs on a software DPU (vhost-user devices, tap
 representors).
CONTROL
cat >"$work/root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
# Never restart a running controller here: `virtnet update -s` hands devices
# over to the newly installed binary without the hosts noticing.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
POSTINST
chmod 0755 "$work/root/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$work/root" "$out/virtio-net-controller_${version}_${arch}.deb" >/dev/null
echo "$out/virtio-net-controller_${version}_${arch}.deb"
