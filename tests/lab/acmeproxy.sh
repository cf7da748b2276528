#!/usr/bin/env bash
# Start the fault-injecting proxy (tests/lab/acmeproxy.py) in front of the
# lab's pebble, on a free loopback port. It serves pebble's own TLS
# certificate (made by pebble.sh for 127.0.0.1), so the lab's ca_file trusts
# it as it is.
#   acmeproxy.sh DIR        start (DIR is a lab directory: it has pebble.env);
#                           writes DIR/acmeproxy.env
#   acmeproxy.sh stop DIR   stop it
# DIR/acmeproxy.env: PROXY_PID, PROXY_URL (the directory through the proxy),
# PROXY_RULES (the rules file to write), PROXY_LOG (one line per request).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = stop ]; then
    dir=$2
    [ -f "$dir/acmeproxy.env" ] && . "$dir/acmeproxy.env" && kill "$PROXY_PID" 2>/dev/null || true
    exit 0
fi

dir=$(cd "$1" && pwd)
[ -f "$dir/pebble.env" ] || { echo "acmeproxy.sh: no pebble.env in $dir: start the lab first" >&2; exit 1; }
. "$dir/pebble.env"
command -v python3 >/dev/null || { echo "acmeproxy.sh: python3 is missing: run tests/setup.sh" >&2; exit 1; }
. "$(dirname "$0")/lib.sh"
upstream=${PEBBLE_URL%/dir}
p=$dir/acmeproxy
mkdir -p "$p"
: > "$p/requests.log"
echo '[]' > "$p/rules.json"

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    python3 "$here/acmeproxy.py" "$p" "$port" "$upstream" "$dir/pebble-cert.pem" "$dir/pebble-key.pem" \
        "$PEBBLE_CA" > "$p/proxy.log" 2>&1 &
    pid=$!
    if await_listen "$pid" "$port"; then
        cat > "$dir/acmeproxy.env" <<ENV
PROXY_PID=$pid
PROXY_URL=https://127.0.0.1:$port/dir
PROXY_RULES=$p/rules.json
PROXY_LOG=$p/requests.log
ENV
        exit 0
    fi
done
echo "acmeproxy.sh: the proxy did not start; its log:" >&2
cat "$p/proxy.log" >&2
exit 1
