#!/usr/bin/env bash
# A throw-away Knot DNS server for tests: an authoritative, TSIG-updatable
# zone on 127.0.0.1 at a free port, everything inside one directory.
#
#   bash tests/lab/knot.sh DIR        start; writes DIR/knot.env
#   bash tests/lab/knot.sh stop DIR   stop it
#
# DIR/knot.env holds KNOT_PORT, KNOT_PID, DNS_ZONE, TSIG_NAME,
# TSIG_ALGORITHM and TSIG_SECRET as shell KEY=value lines, and for the
# second zone (a throw-away zone that CNAME delegation points into, with
# its own key that may update only it) DELEGATE_ZONE, DELEGATE_TSIG_NAME and
# DELEGATE_TSIG_SECRET. In the first zone, _acme-challenge.deleg is a CNAME
# to deleg.DELEGATE_ZONE.
#
# Needs knotd and kdig (Debian: apt-get install knot knot-dnsutils).
set -euo pipefail

die() { echo "knot.sh: $*" >&2; exit 1; }

if [ "${1:-}" = stop ]; then
    dir=${2:?usage: knot.sh stop DIR}
    [ -f "$dir/knot.env" ] || exit 0
    pid=$(sed -n 's/^KNOT_PID=//p' "$dir/knot.env")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        # Wait for it to go, so DIR can be removed right after.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    exit 0
fi

dir=${1:?usage: knot.sh DIR | knot.sh stop DIR}
KNOTD=${KNOTD:-$(command -v knotd || echo /usr/sbin/knotd)}
[ -x "$KNOTD" ] || die "knotd not found: install it (apt-get install knot) or set KNOTD"
command -v kdig >/dev/null || die "kdig not found: install it (apt-get install knot-dnsutils)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/zones" "$dir/db"

zone=wancert.test
key_name=wancert-key.
secret=$(head -c 32 /dev/urandom | base64)
dzone=wancert-delegate.test
dkey_name=delegate-key.
dsecret=$(head -c 32 /dev/urandom | base64)

cat > "$dir/zones/$zone.zone" <<ZONE
\$ORIGIN $zone.
\$TTL 60
@    SOA  ns1 hostmaster 1 3600 600 86400 60
@    NS   ns1
ns1  A    127.0.0.1
_acme-challenge.deleg CNAME deleg.$dzone.
ZONE
cat > "$dir/zones/$dzone.zone" <<ZONE
\$ORIGIN $dzone.
\$TTL 60
@    SOA  ns1.$zone. hostmaster.$zone. 1 3600 600 86400 60
@    NS   ns1.$zone.
ZONE

# A port free for both UDP and TCP right now. Another process may take it
# before knotd binds it, hence the retries below.
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
    cat > "$dir/knot.conf" <<CONF
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: $2@$1

control:
    listen: "$dir/knot.sock"

log:
  - target: "$dir/knot.log"
    any: info

database:
    storage: "$dir/db"
    # A throw-away lab: no fsync per update (it costs up to a second on a
    # busy disk, which would be measured as wancert's time).
    journal-db-mode: asynchronous

key:
  - id: $key_name
    algorithm: hmac-sha256
    secret: $secret
  - id: $dkey_name
    algorithm: hmac-sha256
    secret: $dsecret

acl:
  - id: update
    key: $key_name
    action: update
  - id: delegate-update
    key: $dkey_name
    action: update

template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
    # Keep updates in the journal only: the zone file stays as written.
    zonefile-sync: -1
    journal-content: all

zone:
  - domain: $zone
    acl: update
  - domain: $dzone
    acl: delegate-update
CONF
}

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    addr=127.0.0.1
    write_conf "$port" "$addr"
    "$KNOTD" -c "$dir/knot.conf" >>"$dir/knotd.out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if kdig @"$addr" -p "$port" +timeout=1 +retry=0 +short SOA "$zone" 2>/dev/null | grep -q hostmaster; then
            cat > "$dir/knot.env" <<ENV
KNOT_PORT=$port
KNOT_PID=$pid
DNS_ZONE=$zone
TSIG_NAME=$key_name
TSIG_ALGORITHM=hmac-sha256
TSIG_SECRET=$secret
DELEGATE_ZONE=$dzone
DELEGATE_TSIG_NAME=$dkey_name
DELEGATE_TSIG_SECRET=$dsecret
ENV
            echo "knot.sh: knotd (pid $pid) serves $zone and $dzone on $addr:$port" >&2
            exit 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "knot.sh: attempt $attempt on port $port failed" >&2
done
echo "--- $dir/knotd.out" >&2; tail -n 20 "$dir/knotd.out" >&2 || true
echo "--- $dir/knot.log" >&2; tail -n 20 "$dir/knot.log" >&2 || true
die "knotd did not start"
