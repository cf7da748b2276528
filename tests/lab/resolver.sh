#!/usr/bin/env bash
# A recursive resolver (unbound) for the lab's zones, on port 53 of a random
# 127.x.y.z address: CAs ask a resolver, which follows a CNAME from one zone
# into another (an authoritative server does not), and acme2certifier only
# asks port 53. Root is needed for port 53. Nothing is cached, so a record is
# seen as soon as Knot has it.
#   resolver.sh DIR KNOT_PORT   start; writes DIR/resolver.env (RESOLVER_ADDR, RESOLVER_PID)
#   resolver.sh stop DIR        stop it
set -euo pipefail

if [ "${1:-}" = stop ]; then
    dir=$2
    [ -f "$dir/resolver.env" ] || exit 0
    pid=$(sed -n 's/^RESOLVER_PID=//p' "$dir/resolver.env")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    exit 0
fi

dir=$(cd "$1" && pwd)
knot_port=$2
UNBOUND=${UNBOUND:-$(command -v unbound || echo /usr/sbin/unbound)}
[ -x "$UNBOUND" ] || { echo "resolver.sh: unbound is not installed: run tests/setup.sh" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "resolver.sh: port 53 needs root: run the tests as root" >&2; exit 1; }

for attempt in 1 2 3 4 5; do
    # Several labs may run at once: each takes its own loopback address.
    addr=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
    cat > "$dir/unbound.conf" <<CONF
server:
    interface: $addr
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    use-syslog: no
    logfile: "$dir/unbound.log"
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    infra-cache-min-rtt: 50
    domain-insecure: "test"
    # unbound answers .test (RFC 6761) itself unless told not to.
    local-zone: "test." nodefault
stub-zone:
    name: "wancert.test"
    stub-addr: 127.0.0.1@$knot_port
stub-zone:
    name: "wancert-delegate.test"
    stub-addr: 127.0.0.1@$knot_port
CONF
    "$UNBOUND" -c "$dir/unbound.conf" >>"$dir/unbound.out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        if kdig @"$addr" +timeout=1 +retry=0 +short SOA wancert.test 2>/dev/null | grep -q hostmaster; then
            printf 'RESOLVER_ADDR=%s\nRESOLVER_PID=%s\n' "$addr" "$pid" > "$dir/resolver.env"
            exit 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
echo "resolver.sh: unbound did not start; its log:" >&2
tail -n 20 "$dir/unbound.out" "$dir/unbound.log" >&2 || true
exit 1
