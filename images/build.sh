#!/usr/bin/env bash
# Builds Wharf's demo and test images offline (no registry here): a root filesystem made on
# the host, tarred into `docker import`. Idempotent: an image that exists is kept unless
# --force is given.
#
#   images/build.sh busybox [--force]   wharf/busybox:local — Debian's busybox-static: sh, httpd, nc
set -euo pipefail

usage() { echo "usage: images/build.sh busybox [--force]" >&2; exit 2; }
[ $# -ge 1 ] || usage
name=$1; shift
force=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    *) usage ;;
  esac
done

command -v docker >/dev/null || { echo "images: the docker CLI is missing: apt-get install docker.io" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "images: no Docker Engine answers: start dockerd (as root: dockerd &)" >&2; exit 1; }

exists() { docker image inspect "$1" >/dev/null 2>&1; }

build_busybox() {
  local tag=wharf/busybox:local
  if [ $force = 0 ] && exists $tag; then echo "images: $tag is there"; return; fi
  local busybox
  busybox=$(command -v busybox || true)
  # The image has no libc: only a statically linked busybox runs in it.
  if [ -z "$busybox" ] || ! file -L "$busybox" | grep -q 'statically linked'; then
    echo "images: a static busybox is missing: apt-get install busybox-static" >&2; exit 1
  fi
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,www,var/www}
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  # One link per applet, where busybox --install would put it.
  for applet in $("$busybox" --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    - $tag >/dev/null
  echo "images: built $tag"
}

case $name in
  busybox) build_busybox ;;
  *) usage ;;
esac
