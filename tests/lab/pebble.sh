#!/usr/bin/env bash
# Start Debian's pebble (an RFC 8555 test CA) on a free loopback port, asking
# the DNS server at 127.0.0.1:DNS_PORT (or at DNS_ADDR:PORT) for its DNS-01
# lookups.
#   pebble.sh DIR DNS_PORT   start; writes DIR/pebble.env
#   pebble.sh stop DIR       stop it
# PEBBLE_EAB=1 in the environment makes external account binding required,
# with one key: pebble.env then has EAB_KID and EAB_HMAC_KEY.
set -euo pipefail

if [ "${1:-}" = stop ]; then
    dir=$2
    [ -f "$dir/pebble.env" ] && . "$dir/pebble.env" && kill "$PEBBLE_PID" 2>/dev/null || true
    exit 0
fi

dir=$(cd "$1" && pwd)
dns_server=$2
case "$dns_server" in *:*) ;; *) dns_server=127.0.0.1:$dns_server ;; esac
eab_required=false
eab_keys='{}'
if [ "${PEBBLE_EAB:-}" = 1 ]; then
    eab_required=true
    eab_kid=kid-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
    eab_key=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    eab_keys="{\"$eab_kid\": \"$eab_key\"}"
fi
command -v pebble >/dev/null || { echo "pebble.sh: pebble is not installed: run tests/setup.sh" >&2; exit 1; }
command -v openssl >/dev/null || { echo "pebble.sh: openssl is not installed: run tests/setup.sh" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The package ships no TLS certificate for pebble's own HTTPS listener: make a
# throwaway CA and a leaf for 127.0.0.1/localhost.
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=wancert-lab-ca \
    -keyout pebble-ca.key -out pebble-ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout pebble-key.pem -out pebble.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > pebble.ext
openssl x509 -req -in pebble.csr -CA pebble-ca.pem -CAkey pebble-ca.key -CAcreateserial -days 2 \
    -extfile pebble.ext -out pebble-cert.pem 2>/dev/null

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    mgmt=$(free_port)
    cat > pebble.json <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:$port",
    "managementListenAddress": "127.0.0.1:$mgmt",
    "certificate": "$dir/pebble-cert.pem",
    "privateKey": "$dir/pebble-key.pem",
    "httpPort": $(free_port),
    "tlsPort": $(free_port),
    "ocspResponderURL": "",
    "externalAccountBindingRequired": $eab_required,
    "externalAccountMACKeys": $eab_keys
  }
}
JSON
    # No artificial validation sleeps and no rejected nonces: fast, repeatable
    # runs. No reuse of valid authorizations (pebble reuses half by default):
    # a test that breaks the DNS side must see a challenge, every time.
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
        pebble -config pebble.json -dnsserver "$dns_server" > pebble.log 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        if python3 - "$port" "$dir/pebble-ca.pem" 2>/dev/null <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/dir", context=ctx, timeout=1).read()
PY
        then
            cat > pebble.env <<ENV
PEBBLE_PID=$pid
PEBBLE_URL=https://127.0.0.1:$port/dir
PEBBLE_MGMT=https://127.0.0.1:$mgmt
PEBBLE_CA=$dir/pebble-ca.pem
ENV
            if [ "$eab_required" = true ]; then
                printf 'EAB_KID=%s\nEAB_HMAC_KEY=%s\n' "$eab_kid" "$eab_key" >> pebble.env
            fi
            exit 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
echo "pebble.sh: pebble did not start; its log:" >&2
cat pebble.log >&2
exit 1
