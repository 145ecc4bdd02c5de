#!/usr/bin/env bash
# Builds the tiny vhost-user test guest: a Debian kernel plus a busybox initramfs whose /init is
# guest-init.sh, with the host's iperf3 and the shared libraries it needs. Prints the image
# directory on stdout.
#   vm-images/build.sh [--refresh]
#
# Installs what it needs only when missing (qemu-system-x86, busybox-static, cpio, kmod,
# python3, iperf3), fetches the versioned Debian kernel package with `apt-get download` (the cloud
# kernel, or the generic one if the cloud kernel lacks virtio-net/virtio-pci), and keeps
#   vm-images/cache/KERNEL-PACKAGE_VERSION/{vmlinuz,initrd.gz,modules/,kernel,stamp}
#   vm-images/cache/current -> that directory
# Once built it does nothing (the initramfs is rebuilt when guest-init.sh, this script, busybox,
# or the host's iperf3 or one of its libraries changes); --refresh asks apt for a newer kernel
# version and builds that one if there is.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=$HERE/cache
# virtio-net over PCI; their dependencies (virtio, virtio_ring, failover, ...) come from modules.dep.
WANT_MODULES=(virtio_pci virtio_net)

die() { echo "vm-images/build.sh: $*" >&2; exit 1; }
log() { echo "vm-images: $*" >&2; }
REFRESH=0
case "${1:-}" in
  --refresh) REFRESH=1 ;;
  "") ;;
  *) die "unknown option '$1' (usage: build.sh [--refresh])" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages with apt-get)"

# ---- tools, installed only when missing (like scripts/deps.sh) ----------------------------
"$HERE/../scripts/apt-missing.sh" qemu-system-x86 busybox-static cpio kmod python3 iperf3 |
  while read -r line; do log "$line"; done

# ---- host binaries for the guest: iperf3, its shared libraries and the dynamic loader -------
# The binaries go to the guest's /bin (its PATH); the libraries and the loader keep the paths
# the host's `ldd` resolves, so the binary's PT_INTERP (/lib64/ld-linux-x86-64.so.2) and the
# loader's default search path (/lib/x86_64-linux-gnu) find them without an ld.so.cache.
GUEST_BINS=(/usr/bin/iperf3)
shared_objects() { # BIN... -> one absolute path a line: the libraries and the loader they need
  local b out
  for b in "$@"; do
    out=$(ldd "$b") || die "ldd $b failed"
    ! grep -q 'not found' <<<"$out" ||
      die "$b needs libraries the host lacks:$(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
    # "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$out"
  done | LC_ALL=C sort -u
}
mapfile -t GUEST_LIBS < <(shared_objects "${GUEST_BINS[@]}")
[ "${#GUEST_LIBS[@]}" -gt 0 ] || die "ldd found no shared libraries for ${GUEST_BINS[*]}"

STAMP=$(cat "$HERE/guest-init.sh" "$HERE/build.sh" /bin/busybox \
  "${GUEST_BINS[@]}" "${GUEST_LIBS[@]}" | sha256sum | cut -d' ' -f1)
mkdir -p "$CACHE"
TMP=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- the initramfs: static busybox with its applet links, the modules, /init --------------
make_initrd() { # DIR (holding vmlinuz and modules/)
  local out=$1 r=$TMP/initramfs a
  rm -rf "$r"
  mkdir -p "$r"/{bin,dev,proc,sys,tmp,etc,lib/modules}
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
  done
  ln -s bin "$r/sbin"
  cp "$out"/modules/* "$r/lib/modules/"
  for a in "${GUEST_BINS[@]}"; do cp -L "$a" "$r/bin/${a##*/}"; done
  for a in "${GUEST_LIBS[@]}"; do # the file behind any symlink, at the same path
    mkdir -p "$r$(dirname "$a")"
    cp -L "$a" "$r$a"
  done
  cp "$HERE/guest-init.sh" "$r/init"
  chmod 755 "$r/init"
  (cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 >"$out/initrd.gz.new")
  mv "$out/initrd.gz.new" "$out/initrd.gz"
  echo "$STAMP" >"$out/stamp"
  log "built $out/initrd.gz, $(du -k "$out/initrd.gz" | cut -f1) KB (modules: $(tr '\n' ' ' \
    <"$out/modules/order"); binaries: ${GUEST_BINS[*]##*/})"
}

# Nothing to do when the current image is built from these scripts.
if [ "$REFRESH" = 0 ] && [ -f "$CACHE/current/kernel" ]; then
  [ "$(cat "$CACHE/current/stamp" 2>/dev/null)" = "$STAMP" ] || make_initrd "$CACHE/current"
  echo "$CACHE/current"
  exit 0
fi

# ---- the kernel: meta package -> versioned package -> vmlinuz + virtio-net modules ---------
kernel_pkg() { # META -> "PKG VERSION", empty when apt does not know META
  local pkg
  pkg=$(apt-cache depends "$1" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || return 0
  echo "$pkg $(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')"
}

fetch_kernel() { # PKG VERSION -> fills $CACHE/PKG_VERSION; returns 2 when it lacks virtio
  local pkg=$1 ver=$2 out=$CACHE/${1}_${2} tmp=$TMP/$1 kv m path
  [ -f "$out/kernel" ] && return 0
  mkdir -p "$tmp"
  log "fetching $pkg $ver"
  (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$tmp/apt.err") ||
    die "apt-get download $pkg=$ver failed ($(tail -1 "$tmp/apt.err")); run apt-get update and retry"
  dpkg-deb -x "$tmp"/*.deb "$tmp/root"
  kv=$(basename "$(ls -d "$tmp"/root/lib/modules/*)")
  local mods=$tmp/root/lib/modules/$kv
  if ! grep -Eq '^CONFIG_VIRTIO_NET=[ym]' "$tmp/root/boot/config-$kv" ||
     ! grep -Eq '^CONFIG_VIRTIO_PCI=[ym]' "$tmp/root/boot/config-$kv"; then
    log "$pkg has no virtio-net or virtio-pci"
    return 2
  fi
  depmod -b "$tmp/root" "$kv" # the package ships no modules.dep

  # A module's dependencies before it; built-in modules are not in modules.dep and are skipped.
  local -A seen=()
  local order=()
  visit() {
    local p=$1 dep
    [ -n "${seen[$p]:-}" ] && return 0
    seen[$p]=1
    for dep in $(awk -F': *' -v m="$p" '$1 == m {print $2}' "$mods/modules.dep"); do visit "$dep"; done
    order+=("$p")
  }
  for m in "${WANT_MODULES[@]}"; do
    path=$(awk -F: -v m="$m" '{n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n)}
                              n == m {print $1; exit}' "$mods/modules.dep")
    if [ -n "$path" ]; then
      visit "$path"
    else
      grep -q "/$m.ko" "$mods/modules.builtin" || die "$pkg has neither a module nor a built-in $m"
    fi
  done

  rm -rf "$out"
  mkdir -p "$out/modules"
  cp "$tmp/root/boot/vmlinuz-$kv" "$out/vmlinuz"
  : >"$out/modules/order"
  for path in "${order[@]}"; do
    m=$(basename "$path")
    case "$m" in # busybox insmod takes plain .ko files
      *.ko.xz) xz -dc "$mods/$path" >"$out/modules/${m%.xz}" ;;
      *.ko.zst) zstd -qdc "$mods/$path" >"$out/modules/${m%.zst}" ;;
      *.ko.gz) gzip -dc "$mods/$path" >"$out/modules/${m%.gz}" ;;
      *) cp "$mods/$path" "$out/modules/$m" ;;
    esac
    echo "${m%.ko*}" >>"$out/modules/order"
  done
  echo "$pkg $ver $kv" >"$out/kernel"
  rm -rf "$tmp"
}

read -r KPKG KVER < <(kernel_pkg linux-image-cloud-amd64; echo) || true
if [ -z "${KPKG:-}" ]; then
  apt-get update -qq || true
  read -r KPKG KVER < <(kernel_pkg linux-image-cloud-amd64; echo) || true
fi
if [ -z "${KPKG:-}" ]; then
  [ -f "$CACHE/current/kernel" ] || die "apt knows no linux-image-cloud-amd64 and nothing is cached; check the apt sources and run apt-get update"
  log "apt knows no kernel package; keeping $(readlink "$CACHE/current")"
  echo "$CACHE/current"
  exit 0
fi
rc=0
fetch_kernel "$KPKG" "$KVER" || rc=$?
if [ "$rc" = 2 ]; then
  read -r KPKG KVER < <(kernel_pkg linux-image-amd64; echo) || true
  [ -n "${KPKG:-}" ] || die "apt knows no linux-image-amd64; check the apt sources and run apt-get update"
  fetch_kernel "$KPKG" "$KVER"
elif [ "$rc" != 0 ]; then
  exit "$rc"
fi
OUT=$CACHE/${KPKG}_${KVER}
[ "$(cat "$OUT/stamp" 2>/dev/null)" = "$STAMP" ] || make_initrd "$OUT"
ln -sfn "${KPKG}_${KVER}" "$CACHE/current"
echo "$CACHE/current"
