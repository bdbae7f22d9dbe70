#!/usr/bin/env bash
# Two rnnviz processes (127.0.0.1:8601, :8602) behind nginx on :8080 with sticky sessions.
# Usage: deploy/run_two_behind_nginx.sh   (Ctrl-C stops all three). Installs nginx if missing (root).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || { echo "run 'make run' or 'make test' once first (creates .venv)"; exit 1; }
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PREFIX=$(mktemp -d /tmp/rnnviz-nginx.XXXXXX)
mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; "$NGINX" -p "$PREFIX" -c "$PWD/deploy/nginx.conf" -s stop 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for port in 8601 8602; do
  "$PY" serve.py --server.headless true --server.address 127.0.0.1 --server.port "$port" \
    > "$PREFIX/logs/app-$port.log" 2>&1 &
  pids+=($!)
done
for port in 8601 8602; do
  for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/_stcore/health" >/dev/null && break; sleep 0.5; done
done
"$NGINX" -p "$PREFIX" -c "$PWD/deploy/nginx.conf" -g "daemon off;" &
pids+=($!)
echo "rnnviz: http://localhost:8080 (apps on :8601 and :8602; logs in $PREFIX/logs)"
echo "RNNVIZ_NGINX_PREFIX=$PREFIX"
wait
