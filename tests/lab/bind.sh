#!/usr/bin/env bash
# A throw-away BIND 9 server for tests: `named -g` (foreground, logging to
# stderr) started in the background with its PID recorded, on 127.0.0.1 at a
# free port, with its configuration, zone and journal inside one directory.
#
#   bash tests/lab/bind.sh DIR                       primary of wancert.test,
#                                                    updatable with TSIG
#   bash tests/lab/bind.sh --secondary-of PORT DIR   secondary of the primary
#                                                    at 127.0.0.1:PORT
#   bash tests/lab/bind.sh stop DIR                  stop it
#
# DIR/bind.env holds BIND_PORT, BIND_PID, DNS_ZONE, and for a primary
# TSIG_NAME, TSIG_ALGORITHM and TSIG_SECRET (an hmac-sha256 key), TSIG512_NAME
# and TSIG512_SECRET (an hmac-sha512 key), as shell KEY=value lines. Either
# key may update any name in the zone (update-policy).
#
# A secondary transfers the zone when it starts and then only when it gets a
# NOTIFY (the SOA refresh is an hour): a test decides when it catches up.
# Needs named and kdig (Debian: apt-get install bind9 knot-dnsutils).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

die() { echo "bind.sh: $*" >&2; exit 1; }

if [ "${1:-}" = stop ]; then
    dir=${2:?usage: bind.sh stop DIR}
    stop_pid "$dir/bind.env" BIND_PID
    exit 0
fi

primary_port=
if [ "${1:-}" = --secondary-of ]; then
    primary_port=${2:?usage: bind.sh --secondary-of PORT DIR}
    shift 2
fi
dir=${1:?usage: bind.sh [--secondary-of PORT] DIR | bind.sh stop DIR}
NAMED=${NAMED:-$(command -v named || echo /usr/sbin/named)}
[ -x "$NAMED" ] || die "named not found: run tests/setup.sh (apt-get install bind9) or set NAMED"
command -v kdig >/dev/null || die "kdig not found: run tests/setup.sh (apt-get install knot-dnsutils)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

zone=wancert.test
key_name=wancert-key.
secret=$(tsig_secret 32)
key512_name=wancert-key512.
secret512=$(tsig_secret 64)

if [ -z "$primary_port" ]; then
    # The same zone as knot.sh serves, so tests can use either server.
    cat > "$dir/$zone.zone" <<ZONE
\$ORIGIN $zone.
\$TTL 60
@    SOA  ns1 hostmaster 1 3600 600 86400 60
@    NS   ns1
ns1  A    127.0.0.1
ZONE
    zone_conf="
    type primary;
    file \"$dir/$zone.zone\";
    journal \"$dir/$zone.zone.jnl\";
    update-policy {
        grant $key_name zonesub ANY;
        grant $key512_name zonesub ANY;
    };"
else
    zone_conf="
    type secondary;
    primaries { 127.0.0.1 port $primary_port; };
    file \"$dir/$zone.secondary\";
    // The test's NOTIFY comes from 127.0.0.1, but not from the primary's port.
    allow-notify { 127.0.0.1; };"
fi

write_conf() {
    cat > "$dir/named.conf" <<CONF
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    session-keyfile "$dir/session.key";
    managed-keys-directory "$dir";
    listen-on port $1 { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    // Nobody to tell: the lab's secondaries are told by the tests.
    notify no;
};

// No rndc: the lab stops named with a signal.
controls { };

key "$key_name" {
    algorithm hmac-sha256;
    secret "$secret";
};

key "$key512_name" {
    algorithm hmac-sha512;
    secret "$secret512";
};

zone "$zone" {$zone_conf
};
CONF
}

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    write_conf "$port"
    "$NAMED" -g -4 -c "$dir/named.conf" >>"$dir/named.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if kdig @127.0.0.1 -p "$port" +norec +timeout=1 +retry=0 +short SOA "$zone" 2>/dev/null | grep -q hostmaster; then
            {
                echo "BIND_PORT=$port"
                echo "BIND_PID=$pid"
                echo "DNS_ZONE=$zone"
                if [ -z "$primary_port" ]; then
                    echo "TSIG_NAME=$key_name"
                    echo "TSIG_ALGORITHM=hmac-sha256"
                    echo "TSIG_SECRET=$secret"
                    echo "TSIG512_NAME=$key512_name"
                    echo "TSIG512_SECRET=$secret512"
                fi
            } > "$dir/bind.env"
            echo "bind.sh: named (pid $pid) serves $zone on 127.0.0.1:$port${primary_port:+ as a secondary of 127.0.0.1:$primary_port}" >&2
            exit 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "bind.sh: attempt $attempt on port $port failed" >&2
done
echo "--- $dir/named.out" >&2; tail -n 30 "$dir/named.out" >&2 || true
die "named did not start"
