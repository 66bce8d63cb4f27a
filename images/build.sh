#!/usr/bin/env bash
# Builds Wharf's demo and test images offline (no registry here): a root filesystem made on
# the host, tarred into `docker import`. Idempotent: an image that exists is kept unless
# --force is given.
#
#   images/build.sh busybox [--force]   wharf/busybox:local — Debian's busybox-static: sh, httpd, nc
#   images/build.sh node [--force]      wharf/node:local — Node 24 from node_modules (the `node` devDependency)
#                                       and its shared libraries (ldd), plus busybox's sh when it is there
#   images/build.sh jupyter [--force]   wharf/jupyter:local — Debian bookworm (debootstrap minbase, the host's
#                                       apt mirror) with Jupyter Notebook 6, ipykernel, pip, venv, git, bash
#   images/build.sh base [--force]      wharf/base:local — the offline stand-in for node:24-slim, the base of
#                                       Wharf's own image (Dockerfile, --build-arg BASE=wharf/base:local):
#                                       Debian bookworm minbase + ca-certificates (debootstrap, the host's apt
#                                       mirror), Node 24 from node_modules at /usr/local/bin/node, user node (1000)
set -euo pipefail

usage() { echo "usage: images/build.sh busybox|node|jupyter|base [--force]" >&2; exit 2; }
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

# The Node 24 binary of the `node` devDependency, which both Node images copy in.
node_binary() {
  local here node
  here=$(cd "$(dirname "$0")/.." && pwd)
  node=$(readlink -f "$here/node_modules/node/bin/node" 2>/dev/null || true)
  if [ -z "$node" ] || [ ! -x "$node" ]; then
    echo "images: Node 24 is missing from node_modules: run npm install (the node devDependency puts it there)" >&2; exit 1
  fi
  echo "$node"
}

build_node() {
  local tag=wharf/node:local
  if [ $force = 0 ] && exists $tag; then echo "images: $tag is there"; return; fi
  local node
  node=$(node_binary)
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

# The Debian mirror the host's apt uses, the only place a mirror is taken from (Wharf names
# none of its own): the first URI of an enabled `deb` source whose suites hold a Debian
# release that carries bookworm, from the deb822 files (sources.list.d/*.sources) first, then
# the one-line `deb` entries (sources.list, sources.list.d/*.list). $1: apt's configuration
# folder (/etc/apt).
DEBIAN_SUITES=' bookworm bookworm-updates trixie forky sid stable testing unstable oldstable '
host_mirror() {
  local etc=${1:-/etc/apt} f uri
  for f in "$etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # One paragraph per source; field names are case-insensitive; a line that starts with
    # a space continues the field before it; `#` lines are comments.
    uri=$(awk -v suites="$DEBIAN_SUITES" '
      function flush() {
        if (uri != "" && deb && suite && enabled) { print uri; found = 1; exit }
        uri = ""; deb = 0; suite = 0; enabled = 1; field = ""
      }
      BEGIN { enabled = 1 }
      /^#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      {
        if ($0 ~ /^[[:space:]]/) { start = 1 } else { field = tolower($1); sub(/:$/, "", field); start = 2 }
        for (i = start; i <= NF; i++) {
          if (field == "types" && $i == "deb") deb = 1
          if (field == "uris" && uri == "") uri = $i
          if (field == "suites" && index(suites, " " $i " ")) suite = 1
          if (field == "enabled" && tolower($i) == "no") enabled = 0
        }
      }
      END { if (!found) flush() }' "$f")
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [option=value ...] URI SUITE COMPONENT...
    uri=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk -v suites="$DEBIAN_SUITES" \
      '$1 == "deb" && NF >= 3 && index(suites, " " $3 " ") { print $2; exit }')
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  echo "images: no Debian mirror in this machine's apt configuration ($etc/sources.list, $etc/sources.list.d/*.list or *.sources" \
    "with a deb source for bookworm or a later Debian release): add the mirror this machine may use there, then run this again" >&2
  return 1
}

build_jupyter() {
  local tag=wharf/jupyter:local
  if [ $force = 0 ] && exists $tag; then echo "images: $tag is there"; return; fi
  command -v debootstrap >/dev/null || { echo "images: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "images: building $tag needs root (debootstrap, chroot)" >&2; exit 1; }
  local mirror root
  mirror=$(host_mirror)
  root=$(mktemp -d /var/tmp/wharf-jupyter.XXXXXX)
  # Whatever happens, nothing stays mounted and the root filesystem goes.
  trap 'for m in proc sys dev/pts; do mountpoint -q "'"$root"'/$m" 2>/dev/null && umount -l "'"$root"'/$m"; done; rm -rf "'"$root"'" "'"$root"'.log"' RETURN EXIT
  fail() { echo "images: $1; the log's end:" >&2; tail -20 "$root.log" >&2; exit 1; }
  echo "images: debootstrap bookworm from $mirror (two to three minutes)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || fail "debootstrap failed"
  mount -t proc proc "$root/proc"
  # No service starts in the chroot.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
  # Outside debootstrap's --include: it cannot resolve a virtual dependency of these.
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      python3-notebook python3-ipykernel python3-pip python3-venv git ca-certificates bash \
      && apt-get clean' >"$root.log" 2>&1 || fail "apt-get install in the chroot failed"
  umount "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/log/apt "$root"/var/log/dpkg.log "$root"/tmp/* "$root"/root/.cache
  mkdir -p "$root/root/workspace"
  tar -C "$root" -c . | docker import \
    --change 'CMD ["python3", "-m", "notebook", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SHELL=/bin/bash' \
    --change 'ENV PYDEVD_DISABLE_FILE_VALIDATION=1' \
    --change 'ENV HOME=/root' \
    --change 'WORKDIR /root/workspace' \
    --change 'EXPOSE 8888' \
    - $tag >/dev/null
  echo "images: built $tag ($(chroot "$root" python3 -m notebook --version 2>/dev/null | sed 's/^/notebook /'))"
}

# What node:24-slim is, made offline: bookworm minbase, Node 24 at /usr/local/bin/node and the
# user node (1000:1000), so the Dockerfile needs nothing else from its base. Only this step uses
# the network (the host's apt mirror, as for jupyter); the image build itself uses none.
build_base() {
  local tag=wharf/base:local
  if [ $force = 0 ] && exists $tag; then echo "images: $tag is there"; return; fi
  command -v debootstrap >/dev/null || { echo "images: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "images: building $tag needs root (debootstrap)" >&2; exit 1; }
  local node mirror root
  node=$(node_binary)
  mirror=$(host_mirror)
  root=$(mktemp -d /var/tmp/wharf-base.XXXXXX)
  trap 'rm -rf "'"$root"'" "'"$root"'.log"' RETURN EXIT
  fail() { echo "images: $1; the log's end:" >&2; tail -20 "$root.log" >&2; exit 1; }
  echo "images: debootstrap bookworm minbase from $mirror (one to two minutes)"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$root.log" 2>&1 || fail "debootstrap failed"
  cp "$node" "$root/usr/local/bin/node"
  chroot "$root" /usr/sbin/groupadd --gid 1000 node
  chroot "$root" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/cache/debconf/*-old "$root"/var/log/apt "$root"/var/log/dpkg.log "$root"/tmp/*
  tar -C "$root" -c . | docker import \
    --change 'CMD ["node"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    - $tag >/dev/null
  echo "images: built $tag (bookworm minbase, node $("$root/usr/local/bin/node" --version))"
}

case $name in
  busybox) build_busybox ;;
  base) build_base ;;
  node) build_node ;;
  jupyter) build_jupyter ;;
  *) usage ;;
esac
