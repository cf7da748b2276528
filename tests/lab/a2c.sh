#!/usr/bin/env bash
# Start acme2certifier (an RFC 8555 server with a local openssl CA; it serves
# renewalInfo, keyChange, profiles, revocation and dns-persist-01) as a WSGI
# application over plain HTTP on a free loopback port. It validates DNS
# challenges by asking the resolver at DNS_ADDR, always on port 53.
#   a2c.sh DIR DNS_ADDR   start; writes DIR/a2c.env (A2C_URL, A2C_PID, A2C_ISSUER, A2C_PROFILES)
#   a2c.sh stop DIR       stop it
# The virtualenv comes from tests/setup.sh (target/a2c-venv, or WANCERT_A2C_VENV).
# One client at a time: its SQLite store is unreliable under parallel clients.
# A2C_RENEWAL_PCTG (default 85: the suggested window starts when 85% of the
# lifetime has passed) and A2C_RENEWAL_WINDOW (its length, e.g. 2s) shape
# the ARI window.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = stop ]; then
    dir=$2
    [ -f "$dir/a2c.env" ] || exit 0
    pid=$(sed -n 's/^A2C_PID=//p' "$dir/a2c.env")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    exit 0
fi

dir=$(cd "$1" && pwd)
dns_addr=$2
venv=${WANCERT_A2C_VENV:-$here/../../target/a2c-venv}
python=$venv/bin/python
if ! [ -x "$python" ] || ! "$python" -c 'import acme2certifier' 2>/dev/null; then
    echo "a2c.sh: acme2certifier is not installed in $venv: run tests/setup.sh" >&2
    exit 1
fi

a2c=$dir/a2c
mkdir -p "$a2c/certs"
cd "$a2c"
# The CA: a root that signs directly (acme2certifier's openssl handler).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=wancert-a2c-lab-ca -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout ca.key -out ca.pem 2>/dev/null
cat > ca.cnf <<CNF
[ca]
default_ca = lab
[lab]
database = $a2c/index.txt
crlnumber = $a2c/crlnumber
default_md = sha256
default_crl_days = 7
CNF
: > index.txt
echo 01 > crlnumber
openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out crl.pem 2>/dev/null

issuer=ca.wancert.test
profiles='{"classic": "the default", "shortlived": "a few days", "tlsserver": "server auth only"}'
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat > acme_srv.cfg <<CFG
[DEFAULT]
debug: False

[Nonce]
nonce_check_disable: False

[CAhandler]
handler_module: acme2certifier.cahandlers.openssl_ca_handler
issuing_ca_key: $a2c/ca.key
issuing_ca_cert: $a2c/ca.pem
issuing_ca_crl: $a2c/crl.pem
cert_save_path: $a2c/certs
ca_cert_chain_list: ["$a2c/ca.pem"]
cert_validity_days: 30

[DBhandler]
handler_module: acme2certifier.dbhandlers.wsgi_handler
dbfile: $a2c/acme_srv.db

[Directory]
caaidentities: ["$issuer"]

[Challenge]
dns_server_list: ["$dns_addr"]
dns_persist_01_support: True
dns_persist_allow_policy_wildcard: True

[Order]
profiles: $profiles

[Renewalinfo]
renewalthreshold_pctg: ${A2C_RENEWAL_PCTG:-85}
retry_after_timeout: 86400
$( [ -n "${A2C_RENEWAL_WINDOW:-}" ] && echo "renewal_window_duration: $A2C_RENEWAL_WINDOW" )

[Certificate]
revocation_reason_check_disable: False
CFG
    ACME_SRV_CONFIGFILE=$a2c/acme_srv.cfg ACME2CERTIFIER_BASE_DIR=$a2c \
        "$python" -c '
import sys
from wsgiref.simple_server import make_server
from acme2certifier.share.acme2certifier_wsgi import application, get_handler_cls
make_server("127.0.0.1", int(sys.argv[1]), application, handler_class=get_handler_cls()).serve_forever()
' "$port" >> a2c.log 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        if python3 -c 'import sys, urllib.request; sys.exit("newNonce" not in urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())' \
            "http://127.0.0.1:$port/directory" 2>/dev/null; then
            cat > "$dir/a2c.env" <<ENV
A2C_URL=http://127.0.0.1:$port/directory
A2C_PID=$pid
A2C_ISSUER=$issuer
A2C_ROOT=$a2c/ca.pem
ENV
            exit 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
echo "a2c.sh: acme2certifier did not start; its log:" >&2
tail -n 30 a2c.log >&2
exit 1
