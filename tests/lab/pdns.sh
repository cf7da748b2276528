#!/usr/bin/env bash
# A throw-away PowerDNS Authoritative server for tests: sqlite backend, one
# zone, DNS and the HTTP API (random api-key) on free 127.0.0.1 ports,
# everything inside one directory.
#
#   bash tests/lab/pdns.sh DIR        start; writes DIR/pdns.env
#   bash tests/lab/pdns.sh stop DIR   stop it
#
# DIR/pdns.env holds PDNS_PORT (DNS), PDNS_API (http://127.0.0.1:PORT),
# PDNS_API_KEY, PDNS_PID and DNS_ZONE as shell KEY=value lines.
# Needs pdns_server, pdnsutil, the sqlite3 backend and kdig: run tests/setup.sh.
set -euo pipefail

die() { echo "pdns.sh: $*" >&2; exit 1; }

if [ "${1:-}" = stop ]; then
    dir=${2:?usage: pdns.sh stop DIR}
    [ -f "$dir/pdns.env" ] || exit 0
    pid=$(sed -n 's/^PDNS_PID=//p' "$dir/pdns.env")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    exit 0
fi

dir=${1:?usage: pdns.sh DIR | pdns.sh stop DIR}
PDNS=${PDNS_SERVER:-$(command -v pdns_server || echo /usr/sbin/pdns_server)}
[ -x "$PDNS" ] || die "pdns_server not found: run tests/setup.sh (apt-get install pdns-server pdns-backend-sqlite3)"
command -v pdnsutil >/dev/null || die "pdnsutil not found: run tests/setup.sh"
command -v sqlite3 >/dev/null || die "sqlite3 not found: run tests/setup.sh"
command -v kdig >/dev/null || die "kdig not found: run tests/setup.sh"
schema=""
for s in /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql; do
    [ -f "$s" ] && schema=$s && break
done
[ -n "$schema" ] || die "the sqlite3 schema of pdns-backend-sqlite3 is missing: run tests/setup.sh"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
zone=wancert.test
key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')

rm -f "$dir/pdns.sqlite3"
sqlite3 "$dir/pdns.sqlite3" < "$schema"

# Two ports free for both UDP and TCP (DNS) and TCP (API) right now. Another
# process may take one before pdns binds it, hence the retries below.
free_port() {
    python3 -c '
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
'
}

write_conf() {
    cat > "$dir/pdns.conf" <<CONF
launch=gsqlite3
gsqlite3-database=$dir/pdns.sqlite3
local-address=127.0.0.1
local-port=$1
socket-dir=$dir
daemon=no
guardian=no
disable-syslog=yes
loglevel=4
api=yes
api-key=$key
webserver=yes
webserver-address=127.0.0.1
webserver-port=$2
webserver-allow-from=127.0.0.0/8
# Answers must show every change at once: no caches.
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
# No security-status lookup at start (it waits for a resolver).
security-poll-suffix=
CONF
}

write_conf 0 0
pdnsutil --config-dir="$dir" create-zone "$zone" "ns1.$zone" >/dev/null
pdnsutil --config-dir="$dir" add-record "$zone" ns1 A 60 127.0.0.1 >/dev/null

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    api=$(free_port)
    write_conf "$port" "$api"
    "$PDNS" --config-dir="$dir" >>"$dir/pdns.out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if kdig @127.0.0.1 -p "$port" +timeout=1 +retry=0 +short SOA "$zone" 2>/dev/null | grep -q hostmaster &&
            python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], headers={"X-API-Key": sys.argv[2]}), timeout=1)' \
                "http://127.0.0.1:$api/api/v1/servers/localhost/zones" "$key" 2>/dev/null; then
            cat > "$dir/pdns.env" <<ENV
PDNS_PORT=$port
PDNS_API=http://127.0.0.1:$api
PDNS_API_KEY=$key
PDNS_PID=$pid
DNS_ZONE=$zone
ENV
            echo "pdns.sh: pdns_server (pid $pid) serves $zone on 127.0.0.1:$port, API on port $api" >&2
            exit 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "pdns.sh: attempt $attempt on ports $port/$api failed" >&2
done
echo "--- $dir/pdns.out" >&2; tail -n 30 "$dir/pdns.out" >&2 || true
die "pdns_server did not start"
