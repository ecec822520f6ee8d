#!/usr/bin/env bash
# build-guest.sh - build the tiny Linux guest used by the end-to-end tests and
# the demo: Debian's cloud kernel and an initramfs of busybox-static plus the
# virtio-net modules (virtio_ring, virtio, virtio_pci*, failover, net_failover,
# virtio_net), loaded in dependency order by /init.
#
#   scripts/build-guest.sh [OUTDIR]     (default: ./guest)
#
# Writes OUTDIR/vmlinuz and OUTDIR/initrd.img.  Needs the Debian packages
# linux-image-cloud-amd64, busybox-static and cpio (./build.sh deps installs
# them).  The guest's /init prints VIRTNET-GUEST-READY on the serial console,
# then runs a shell there; kernel parameters virtnet.ip=ADDR/LEN configure the
# first virtio NIC that appears.
set -euo pipefail
out=${1:-guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)

kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1 || true)
[ -n "$kernel" ] || { echo "build-guest: no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)" >&2; exit 1; }
kver=${kernel#/boot/vmlinuz-}
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
file "$busybox" 2>/dev/null | grep -q "statically linked" || busybox=/usr/lib/busybox-static/busybox 2>/dev/null
[ -x "$busybox" ] || { echo "build-guest: no static busybox (install busybox-static)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "build-guest: cpio not installed" >&2; exit 1; }

root=$(mktemp -d /tmp/virtnet-guest.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,modules,etc}
cp "$busybox" "$root/bin/busybox"
for app in sh mount insmod ip ifconfig ping cat ls echo sleep setsid cttyhack mdev ethtool \
           grep sed awk poweroff mkdir uname dmesg seq; do
    ln -sf busybox "$root/bin/$app"
done

mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
for m in $mods; do
    f=$(find "/lib/modules/$kver" -name "$m.ko*" | head -1)
    [ -n "$f" ] || { echo "build-guest: module $m not found for $kver" >&2; exit 1; }
    case $f in
        *.ko.xz) xz -dc "$f" >"$root/modules/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$root/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "$f" >"$root/modules/$m.ko" ;;
        *) cp "$f" "$root/modules/$m.ko" ;;
    esac
done

cat >"$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Module parameters from the kernel command line (MODULE.PARAM=VALUE, e.g.
# virtio_pci.force_legacy=1): insmod does not read them itself.
for m in $mods; do
    args=
    for p in \$(cat /proc/cmdline); do
        case \$p in \$m.*) args="\$args \${p#\$m.}" ;; esac
    done
    insmod /modules/\$m.ko \$args 2>/dev/null
done
ip link set lo up
for p in \$(cat /proc/cmdline); do
    case \$p in virtnet.ip=*) addr=\${p#virtnet.ip=} ;; esac
done
if [ -n "\$addr" ]; then
    for i in \$(seq 1 100); do
        dev=\$(ls /sys/class/net | grep -v '^lo\$' | head -1)
        [ -n "\$dev" ] && break
        sleep 0.1
    done
    [ -n "\$dev" ] && ip addr add "\$addr" dev "\$dev" && ip link set "\$dev" up
fi
echo VIRTNET-GUEST-READY
exec setsid cttyhack sh
INIT
chmod 0755 "$root/init"

cp "$kernel" "$out/vmlinuz"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img"
echo "$out"
