#!/usr/bin/env bash
# Builds the image and starts compose.yaml (gateway + MariaDB) under a throw-away project name,
# waits for both healthchecks, then checks /healthz, /readyz (store reachable), the phone port and
# that the gateway runs as a non-root user. Everything it started is removed at the end.
# Exit 0: ok; 77: skipped (Docker not available); anything else: failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "docker-smoke: SKIPPED: Docker is not available here (\`docker info\` failed)"
  exit 77
fi

project="msgbot-smoke-$$"
export MSGBOT_PHONE_PUBLISH="127.0.0.1:"   # an ephemeral host port on loopback
export MSGBOT_ADMIN_PUBLISH="127.0.0.1:"
compose=(docker compose -p "$project" -f compose.yaml)
cleanup() { "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "docker-smoke: building"
"${compose[@]}" build --quiet
echo "docker-smoke: starting (waiting for the healthchecks)"
"${compose[@]}" up -d --wait --wait-timeout 180

admin="$("${compose[@]}" port gateway 9485)"
phone="$("${compose[@]}" port gateway 1485)"
echo "docker-smoke: admin on $admin, phones on $phone"

curl -fsS "http://$admin/healthz" | grep -q '"status":"ok"'
ready="$(curl -fsS "http://$admin/readyz")"
echo "docker-smoke: /readyz $ready"
echo "$ready" | grep -q '"ready":true'
echo "$ready" | grep -q '"degraded":false'

health="$(docker inspect --format '{{.State.Health.Status}}' "$("${compose[@]}" ps -q gateway)")"
[ "$health" = "healthy" ] || { echo "docker-smoke: gateway health is $health"; exit 1; }

uid="$("${compose[@]}" exec -T gateway id -u)"
[ "$uid" != "0" ] || { echo "docker-smoke: the gateway runs as root"; exit 1; }

# the phone port accepts a TCP connection
exec 3<>"/dev/tcp/${phone%:*}/${phone##*:}" && exec 3>&-

"${compose[@]}" logs gateway | grep -q 'msgbot-gateway started'
echo "docker-smoke: ok"
