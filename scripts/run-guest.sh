#!/usr/bin/env bash
# run-guest.sh - boot the test guest under QEMU (TCG) as the software DPU's
# host: a q35 machine with N free pcie-root-ports (rp0..rpN-1) that stand for
# the DPU's hotplug switch ports, shared memory (vhost-user needs it), a QMP
# socket and the serial console on a unix socket.
#
#   scripts/run-guest.sh GUESTDIR RUNDIR [PORTS] [-- extra QEMU args]
#
# Writes RUNDIR/qmp.sock, RUNDIR/serial.sock, RUNDIR/qemu.pid; QEMU runs in
# the background.  Config for the controller's host attachment: the QMP
# socket and the root port ids rp0..rpN-1.
set -euo pipefail
g=$1 run=$2 ports=${3:-4}
shift $(( $# >= 3 ? 3 : $# ))
[ "${1:-}" = "--" ] && shift
mkdir -p "$run"
args=()
for i in $(seq 0 $((ports - 1))); do
    args+=(-device "pcie-root-port,id=rp$i,chassis=$((i + 1)),slot=$i")
done
qemu-system-x86_64 -M q35 -accel tcg -cpu max -m 512M -smp 1 \
    -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
    -kernel "$g/vmlinuz" -initrd "$g/initrd.img" \
    -append "console=ttyS0 quiet panic=-1 ${VIRTNET_GUEST_CMDLINE:-}" \
    -display none -no-reboot -nodefaults \
    -serial "unix:$run/serial.sock,server=on,wait=off" \
    -qmp "unix:$run/qmp.sock,server=on,wait=off" \
    -pidfile "$run/qemu.pid" -daemonize \
    "${args[@]}" "$@"
echo "$run"
