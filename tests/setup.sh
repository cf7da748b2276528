#!/usr/bin/env bash
# Install what the tests and the demo need on Debian/Ubuntu: the lab's CAs
# (pebble; acme2certifier from PyPI in a virtualenv under target/), DNS
# servers (knot; bind9 for the rfc2136 tests against a second implementation;
# PowerDNS with its sqlite backend for the powerdns provider) and resolver
# (unbound), kdig, openssl, python3, busybox, shellcheck and nodejs for
# tests/openwrt.sh, and the deploy targets: an SSH server (openssh-server),
# both SSH clients OpenWrt may have (OpenSSH's ssh, dropbear's dbclient) and
# an HTTPS server (nginx). Quick when all is there already.
set -euo pipefail

need=()
command -v pebble >/dev/null || need+=(pebble)
command -v knotd >/dev/null || [ -x /usr/sbin/knotd ] || need+=(knot)
command -v kdig >/dev/null || need+=(knot-dnsutils)
command -v named >/dev/null || [ -x /usr/sbin/named ] || need+=(bind9)
command -v pdns_server >/dev/null || [ -x /usr/sbin/pdns_server ] || need+=(pdns-server)
[ -f /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ] || need+=(pdns-backend-sqlite3)
command -v sqlite3 >/dev/null || need+=(sqlite3)
# The provider tests build the real HTTPS client, which loads the system roots.
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || need+=(unbound)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v cc >/dev/null || need+=(gcc)
# tests/openwrt.sh: the router's shell, shell lint, and node for the LuCI views.
command -v busybox >/dev/null || need+=(busybox)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v node >/dev/null || need+=(nodejs)
[ -x /usr/bin/time ] || need+=(time)  # the benchmark's peak RSS
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v dbclient >/dev/null && command -v dropbearconvert >/dev/null || need+=(dropbear-bin)
[ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "setup: installing ${need[*]}"
    # openssh-server and nginx start a service on every address when
    # installed; the tests start their own on loopback. Forbid starting
    # services during the install unless a policy already exists.
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod 755 "$policy"
        own_policy=1
    fi
    # A transient error on one index must not stop the install.
    $sudo apt-get update -qq || true
    status=0
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || status=$?
    [ -z "$own_policy" ] || $sudo rm -f "$policy"
    [ "$status" -eq 0 ] || exit "$status"
fi
if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing: install Rust (rustup, or Debian's cargo)" >&2
    exit 1
fi

# acme2certifier, the second CA of the tests (ARI, profiles, dns-persist-01),
# pinned, in its own virtualenv: nothing is installed system-wide.
A2C_VERSION=0.46.3
venv=${WANCERT_A2C_VENV:-$(cd "$(dirname "$0")/.." && pwd)/target/a2c-venv}
if ! [ -f "$venv/.a2c-$A2C_VERSION" ]; then
    echo "setup: installing acme2certifier $A2C_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "acme2certifier==$A2C_VERSION"
    touch "$venv/.a2c-$A2C_VERSION"
fi
