#!/usr/bin/env bash
# Boots one test guest (vm-images/build.sh's kernel + initramfs) in the background with one
# virtio-net NIC on a vhost-user socket.
#
#   vm-images/run-guest.sh --name NAME --socket PATH --dir DIR [--ip ADDR/LEN] [--mac MAC]
#       [--server] [--queues N] [--cpus N] [--mem MB] [--gw ADDR] [--mtu N] [--accel tcg|kvm]
#       [--wait-boot [SECS]]
#
# Without --server QEMU is the vhost-user client of a vswitchd `vhost-user` port (reconnecting
# when vswitchd restarts); QEMU waits until that socket answers. With --server QEMU owns PATH
# and waits, before the guest starts, for a vswitchd `vhost-user-client` port to connect.
# --queues N enables multiqueue (the guest uses min(N, --cpus) queue pairs). --wait-boot waits
# for the guest to report READY (guest-wait.sh, default 180 s). --mtu N gives the NIC the MTU N
# (virtio-net host_mtu): the guest takes it and vswitchd shows it as the port's guest-mtu.
#
# In DIR it leaves: NAME.pid (QEMU), NAME.qemu.log (QEMU's stderr), NAME.console (the serial
# console's socket, a root shell: `nc -U DIR/NAME.console`), NAME.console.log (everything the
# console printed), NAME.agent (the command agent's socket, used by guest-exec.sh). Stop the
# guest with guest-stop.sh DIR NAME.
# --accel (default tcg, or $VS_GUEST_ACCEL): use kvm only where KVM is known to work; on these
# machines /dev/kvm exists but guests under it abort (-cpu max/host: MSR 0x10a) or hang
# (qemu64). The NIC has vectors=0 (MSI-X crashes under TCG); guest memory is a shared memfd,
# as vhost-user needs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "run-guest.sh: $*" >&2; exit 1; }

NAME='' SOCK='' DIR='' IP='' MAC='' SERVER=0 QUEUES=1 CPUS=1 MEM=256 GW='' MTU='' WAIT='' ACCEL=${VS_GUEST_ACCEL:-tcg}
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --socket) SOCK=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --ip) IP=$2; shift 2 ;;
    --mac) MAC=$2; shift 2 ;;
    --server) SERVER=1; shift ;;
    --queues) QUEUES=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --gw) GW=$2; shift 2 ;;
    --mtu) MTU=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --wait-boot)
      WAIT=180; shift
      if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then WAIT=$1; shift; fi ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ -n "$NAME" ] || die "--name is required"
[[ $NAME =~ ^[A-Za-z0-9_-]+$ ]] || die "--name '$NAME' must be letters, digits, - or _"
[ -n "$SOCK" ] || die "--socket is required (the vhost-user socket path)"
[ -n "$DIR" ] || die "--dir is required (a work directory for the pid, logs and sockets)"
[[ $QUEUES =~ ^[1-9][0-9]*$ ]] || die "--queues '$QUEUES' must be a positive number"
[[ $MEM =~ ^[1-9][0-9]*$ ]] || die "--mem '$MEM' must be a size in MB"
case "$ACCEL" in
  tcg) CPU=max ;;
  kvm) [ -w /dev/kvm ] || die "--accel kvm but /dev/kvm is missing or not writable; use --accel tcg"; CPU=host ;;
  *) die "--accel '$ACCEL' must be tcg or kvm" ;;
esac
IMG=$HERE/cache/current
[ -f "$IMG/vmlinuz" ] && [ -f "$IMG/initrd.gz" ] || die "no guest image in $IMG: run vm-images/build.sh first"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run vm-images/build.sh (it installs qemu-system-x86)"
if [ -z "$MAC" ]; then # stable per name: 52:54:00 + 3 bytes of the name's hash
  MAC=52:54:00:$(printf '%s' "$NAME" | md5sum | sed 's/^\(..\)\(..\)\(..\).*/\1:\2:\3/')
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
PIDF=$DIR/$NAME.pid
if [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; then
  die "guest $NAME already runs (pid $(cat "$PIDF")); stop it with vm-images/guest-stop.sh $DIR $NAME"
fi
if [ "$SERVER" = 0 ] && [ ! -S "$SOCK" ]; then
  die "no vhost-user socket at $SOCK: add a vswitchd port first (vsctl port add ... --type vhost-user --path $SOCK), or use --server"
fi
rm -f "$DIR/$NAME.console" "$DIR/$NAME.agent" "$DIR/$NAME.console.log" "$PIDF"

if [ "$SERVER" = 1 ]; then
  rm -f "$SOCK"
  NETCHR="socket,id=vhu,path=$SOCK,server=on,wait=off"
else
  NETCHR="socket,id=vhu,path=$SOCK,reconnect=1"
fi
NETDEV="vhost-user,id=n0,chardev=vhu"
NIC="virtio-net-pci,netdev=n0,mac=$MAC,vectors=0"
if [ "$QUEUES" -gt 1 ]; then NETDEV+=",queues=$QUEUES"; NIC+=",mq=on"; fi
APPEND="console=ttyS0 quiet panic=-1 vs.name=$NAME"
[ -n "$IP" ] && APPEND+=" vs.ip=$IP"
[ -n "$GW" ] && APPEND+=" vs.gw=$GW"
# The device offers the MTU (VIRTIO_NET_F_MTU) and QEMU tells vswitchd; the guest driver takes it.
[ -n "$MTU" ] && NIC+=",host_mtu=$MTU"

date +%s.%N >"$DIR/$NAME.start"
# Not -daemonize: with a server socket QEMU waits for the peer before it would detach.
setsid qemu-system-x86_64 -name "$NAME" -nodefaults -no-user-config -display none -no-reboot \
  -accel "$ACCEL" -machine pc -cpu "$CPU" -smp "$CPUS" -m "${MEM}M" \
  -object "memory-backend-memfd,id=mem,size=${MEM}M,share=on" -numa node,memdev=mem \
  -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.gz" -append "$APPEND" \
  -chardev "socket,id=con,path=$DIR/$NAME.console,server=on,wait=off,logfile=$DIR/$NAME.console.log" \
  -serial chardev:con \
  -chardev "socket,id=agent,path=$DIR/$NAME.agent,server=on,wait=off" -serial chardev:agent \
  -chardev "$NETCHR" -netdev "$NETDEV" -device "$NIC" \
  </dev/null >"$DIR/$NAME.qemu.log" 2>&1 &
echo $! >"$PIDF"
echo "guest $NAME: pid $(cat "$PIDF"), mac $MAC, ${IP:-no address}, console $DIR/$NAME.console.log"
if [ -n "$WAIT" ]; then
  "$HERE/guest-wait.sh" "$DIR" "$NAME" "$WAIT"
fi
