#!/bin/sh
# /init of the vm-images test guest (busybox, runs as PID 1; build.sh copies it into the
# initramfs). Configuration comes from the kernel command line:
#   vs.name=NAME  vs.ip=ADDR/LEN  [vs.gw=ADDR] [vs.mtu=N]
# It loads the virtio-net modules (order from /lib/modules/order), brings up eth0, prints
#   VS-GUEST-READY name=NAME ip=ADDR/LEN mac=MAC uptime=SECS
# on the console (ttyS0; a root shell also runs there) and then serves the command agent on
# ttyS1, one request at a time:
#   host -> guest:  @@RUN ID SECS BASE64(COMMAND)\n
#   guest -> host:  @@BEGIN ID\n BASE64(stdout+stderr) \n@@END ID EXIT-STATUS\n
# COMMAND runs under `sh` with stdin from /dev/null, in a process group of its own that is
# killed after SECS seconds; jobs it starts in the background keep running when it returns.
export PATH=/bin HOME=/tmp
cd /tmp || :
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts

say() { echo "vs-guest: $*" >/dev/console; }

for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done

NAME=guest IP='' GW='' MTU=''
for w in $(cat /proc/cmdline); do
  case "$w" in
    vs.name=*) NAME=${w#vs.name=} ;;
    vs.ip=*) IP=${w#vs.ip=} ;;
    vs.gw=*) GW=${w#vs.gw=} ;;
    vs.mtu=*) MTU=${w#vs.mtu=} ;;
  esac
done
hostname "$NAME"
ip link set lo up

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -e /sys/class/net/eth0 ]; then
  [ -n "$MTU" ] && ip link set eth0 mtu "$MTU"
  ip link set eth0 up
  [ -n "$IP" ] && ip addr add "$IP" dev eth0
  [ -n "$GW" ] && ip route add default via "$GW"
  MAC=$(cat /sys/class/net/eth0/address)
else
  say "no eth0: the virtio-net device did not appear (see the kernel log above)"
  MAC=none
fi

# A root shell on the console for people (connect to the console socket); respawned.
(while :; do setsid cttyhack sh -l </dev/ttyS0 >/dev/ttyS0 2>&1; sleep 1; done) &

# The agent's tty is opened and made raw before READY, so nothing the host sends is lost.
exec 3<>/dev/ttyS1
stty raw -echo <&3
echo "VS-GUEST-READY name=$NAME ip=${IP:-none} mac=$MAC uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console

mkdir -p /tmp/.agent
while :; do
  read -r tag id secs cmd <&3 || { sleep 1; continue; }
  [ "$tag" = "@@RUN" ] || continue
  case "$id$secs" in *[!0-9.]*) continue ;; esac
  out=/tmp/.agent/$id.out # a file per request: background jobs keep writing to their own
  echo "$cmd" | base64 -d >/tmp/.agent/cmd 2>/dev/null
  # Its own process group, so a timeout kills everything it started.
  setsid sh /tmp/.agent/cmd </dev/null >"$out" 2>&1 3>&- &
  pid=$!
  (sleep "${secs:-60}" && kill -KILL -- "-$pid") 3>&- 2>/dev/null &
  dog=$!
  wait "$pid"
  rc=$?
  kill "$dog" 2>/dev/null
  { echo "@@BEGIN $id"; base64 "$out"; echo "@@END $id $rc"; } >&3
  rm -f "$out"
done
