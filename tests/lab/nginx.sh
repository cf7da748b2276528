#!/usr/bin/env bash
# Start Debian's nginx as an HTTPS server on a free loopback port, run from
# its own prefix DIR/NAME with its own configuration (`nginx -p PREFIX -c
# CONF`, in the foreground): the service a deploy must reload. It starts with
# a throwaway self-signed certificate for CN (default demo.wancert.test).
#   nginx.sh DIR NAME [CN]   start; writes DIR/NAME.env
#   nginx.sh stop DIR NAME   stop it
# DIR/NAME.env: NGINX_PID, NGINX_PORT, NGINX_CERT, NGINX_KEY (the files it
# serves), NGINX_PREFIX and NGINX_CONF; it reloads with
# `/usr/sbin/nginx -p $NGINX_PREFIX -c $NGINX_CONF -e $NGINX_PREFIX/error.log -s reload`.
set -euo pipefail

if [ "${1:-}" = stop ]; then
    dir=$2 name=$3
    [ -f "$dir/$name.env" ] && . "$dir/$name.env" && kill "$NGINX_PID" 2>/dev/null || true
    exit 0
fi

dir=$(cd "$1" && pwd)
name=$2
cn=${3:-demo.wancert.test}
nginx=/usr/sbin/nginx
for tool in $nginx openssl python3; do
    command -v "$tool" >/dev/null || { echo "nginx.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done
. "$(dirname "$0")/lib.sh"

prefix=$dir/$name
mkdir -p "$prefix/tmp"
cd "$prefix"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$cn" \
    -addext "subjectAltName=DNS:$cn" -keyout key.pem -out cert.pem 2>/dev/null
chmod 600 key.pem

for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat > nginx.conf <<CONF
daemon off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $prefix/cert.pem;
        ssl_certificate_key $prefix/key.pem;
        location / { return 200 "ok\n"; }
    }
}
CONF
    # Its output to a file: an inherited pipe would keep the caller waiting.
    $nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" > stdout.log 2>&1 &
    pid=$!
    if await_listen "$pid" "$port"; then
        cat > "$dir/$name.env" <<ENV
NGINX_PID=$pid
NGINX_PORT=$port
NGINX_CERT=$prefix/cert.pem
NGINX_KEY=$prefix/key.pem
NGINX_PREFIX=$prefix
NGINX_CONF=$prefix/nginx.conf
ENV
        exit 0
    fi
done
echo "nginx.sh: nginx did not start; its log:" >&2
cat error.log >&2
exit 1
