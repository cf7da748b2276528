#!/usr/bin/env bash
# Start the test webhook receiver (tests/lab/webhook.py) on a free loopback
# port, with an HTTPS certificate from a throwaway CA.
#   webhook.sh DIR TOKEN SECRET   start; writes DIR/webhook.env
#   webhook.sh stop DIR           stop it
# DIR/webhook.env: WEBHOOK_PID, WEBHOOK_URL, WEBHOOK_CA (the CA to trust),
# WEBHOOK_OUT (where accepted bodies are stored).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = stop ]; then
    dir=$2
    [ -f "$dir/webhook.env" ] && . "$dir/webhook.env" && kill "$WEBHOOK_PID" 2>/dev/null || true
    exit 0
fi

dir=$(cd "$1" && pwd)
token=$2 secret=$3
for tool in openssl python3; do
    command -v "$tool" >/dev/null || { echo "webhook.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done
. "$(dirname "$0")/lib.sh"

w=$dir/webhook
mkdir -p "$w/out"
cd "$w"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=wancert-webhook-ca \
    -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout key.pem -out req.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out cert.pem 2>/dev/null

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    python3 "$here/webhook.py" "$port" cert.pem key.pem "$token" "$secret" out > webhook.log 2>&1 &
    pid=$!
    if await_listen "$pid" "$port"; then
        cat > "$dir/webhook.env" <<ENV
WEBHOOK_PID=$pid
WEBHOOK_URL=https://127.0.0.1:$port/wancert
WEBHOOK_CA=$w/ca.pem
WEBHOOK_OUT=$w/out
ENV
        exit 0
    fi
done
echo "webhook.sh: the receiver did not start; its log:" >&2
cat webhook.log >&2
exit 1
