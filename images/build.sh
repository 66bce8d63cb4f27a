#!/usr/bin/env bash
# Builds Wharf's demo and test images offline (no registry here): a root filesystem made on
# the host, tarred into `docker import`. Idempotent: an image that exists is kept unless
# --force is given.
#
#   images/build.sh busybox [--force]   wharf/busybox:local — Debian's busybox-static: sh, httpd, nc
#   images/build.sh node [--force]      wharf/node:local — Node 24 from node_modules (the `node` devDependency)
#                                       and its shared libraries (ldd), plus busybox's sh when it is there
set -euo pipefail

usage() { echo "usage: images/build.sh busybox|node [--force]" >&2; exit 2; }
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

build_node() {
  local tag=wharf/node:local
  if [ $force = 0 ] && exists $tag; then echo "images: $tag is there"; return; fi
  local here node
  here=$(cd "$(dirname "$0")/.." && pwd)
  node=$(readlink -f "$here/node_modules/node/bin/node" 2>/dev/null || true)
  if [ -z "$node" ] || [ ! -x "$node" ]; then
    echo "images: Node 24 is missing from node_modules: run npm install (the node devDependency puts it there)" >&2; exit 1
  fi
  local version
  version=$("$node" --version)
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root"/{bin,usr/local/bin,etc,tmp,root,app}
  chmod 1777 "$root/tmp"
  cp "$node" "$root/usr/local/bin/node"
  # Each library where the dynamic loader looks for it: the paths ldd resolves, the loader included.
  local lib
  for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # A shell for `sh -c` commands, when a static busybox is at hand.
  local busybox
  busybox=$(command -v busybox || true)
  if [ -n "$busybox" ] && file -L "$busybox" | grep -q 'statically linked'; then
    cp "$busybox" "$root/bin/busybox"
    for applet in sh ls cat echo mkdir rm sleep env; do ln -s busybox "$root/bin/$applet"; done
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'CMD ["node"]' \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'WORKDIR /app' \
    - $tag >/dev/null
  echo "images: built $tag (node $version)"
}

case $name in
  busybox) build_busybox ;;
  node) build_node ;;
  *) usage ;;
esac
