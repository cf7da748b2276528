#!/usr/bin/env bash
# The local lab: an authoritative DNS server (Knot, TSIG updates) and an ACME
# CA (pebble) that validates against it, on loopback ports, all state in DIR.
#   lab.sh up DIR     start both; writes DIR/lab.env and a wancert config DIR/wancert.conf
#   lab.sh down DIR   stop both
# LAB_RESOLVER=1: pebble asks a recursive resolver (resolver.sh, which follows
# CNAMEs across zones) instead of Knot. PEBBLE_EAB=1: pebble requires EAB.
# LAB_CA=a2c: acme2certifier (a2c.sh) instead of pebble, behind the resolver.
# lab.env has ACME_URL, the CA's directory, and ACME_ROOT, its root, either way.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:?usage: lab.sh up|down DIR}

case "$cmd" in
down)
    bash "$here/pebble.sh" stop "$dir"
    bash "$here/a2c.sh" stop "$dir"
    bash "$here/resolver.sh" stop "$dir"
    bash "$here/knot.sh" stop "$dir"
    exit 0
    ;;
up) ;;
*) echo "usage: lab.sh up|down DIR" >&2; exit 2 ;;
esac

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bash "$here/knot.sh" "$dir"
. "$dir/knot.env"
dns=$KNOT_PORT
ca=${LAB_CA:-pebble}
if [ "${LAB_RESOLVER:-}" = 1 ] || [ "$ca" = a2c ]; then
    if ! bash "$here/resolver.sh" "$dir" "$KNOT_PORT"; then
        bash "$here/knot.sh" stop "$dir"
        exit 1
    fi
    . "$dir/resolver.env"
    dns=$RESOLVER_ADDR:53
fi
stop_dns() {
    bash "$here/resolver.sh" stop "$dir"
    bash "$here/knot.sh" stop "$dir"
}
if [ "$ca" = a2c ]; then
    bash "$here/a2c.sh" "$dir" "$RESOLVER_ADDR" || { stop_dns; exit 1; }
    . "$dir/a2c.env"
    cat "$dir/knot.env" "$dir/resolver.env" "$dir/a2c.env" > "$dir/lab.env"
    printf 'ACME_URL=%s\nACME_ROOT=%s\n' "$A2C_URL" "$A2C_ROOT" >> "$dir/lab.env"
    acme_url=$A2C_URL
    ca_line="# acme2certifier listens on plain HTTP: no ca_file"
else
    bash "$here/pebble.sh" "$dir" "$dns" || { stop_dns; exit 1; }
    . "$dir/pebble.env"

    # Pebble makes a new root at every start; its chains verify against this one.
    python3 - "$PEBBLE_MGMT/roots/0" "$PEBBLE_CA" > "$dir/pebble-root.pem" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
sys.stdout.write(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=5).read().decode())
PY

    cat "$dir/knot.env" "$dir/pebble.env" > "$dir/lab.env"
    if [ -f "$dir/resolver.env" ]; then cat "$dir/resolver.env" >> "$dir/lab.env"; fi
    echo "PEBBLE_ROOT=$dir/pebble-root.pem" >> "$dir/lab.env"
    printf 'ACME_URL=%s\nACME_ROOT=%s\n' "$PEBBLE_URL" "$dir/pebble-root.pem" >> "$dir/lab.env"
    acme_url=$PEBBLE_URL
    ca_line="option ca_file '$PEBBLE_CA'  # pebble's HTTPS listener uses the lab's own CA"
fi

mkdir -p "$dir/deployed"
umask 077
cat > "$dir/wancert.conf" <<CONF
# wancert configuration for the local lab (written by tests/lab/lab.sh).

config wancert 'global'
	option acme_server '$acme_url'
	option email 'admin@$DNS_ZONE'
	$ca_line
	option state_dir '$dir/state'
	option run_dir '$dir/run'
	# ask the lab's DNS server, not the zone's (non-existent) public servers
	list propagation_server '127.0.0.1:$KNOT_PORT'
	option propagation_timeout '20'
	option propagation_interval '1'

config provider 'lab'
	option type 'rfc2136'
	option server '127.0.0.1'
	option port '$KNOT_PORT'
	option tsig_name '$TSIG_NAME'
	option tsig_algorithm '$TSIG_ALGORITHM'
	option tsig_secret '$TSIG_SECRET'

config cert 'demo'
	list domain 'demo.$DNS_ZONE'
	list domain '*.demo.$DNS_ZONE'
	option provider 'lab'
	list deploy 'files'

config deploy 'files'
	option type 'file'
	option fullchain_path '$dir/deployed/fullchain.pem'
	option key_path '$dir/deployed/key.pem'
CONF
