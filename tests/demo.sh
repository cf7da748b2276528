#!/usr/bin/env bash
# Issue a real certificate end to end on this machine: start a local ACME CA
# (pebble) and a local authoritative DNS server (Knot), run `wancert run` with
# the lab's configuration, show what was issued and where it was installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo build --release --locked -q
bin=$PWD/target/release/wancert

lab=$(mktemp -d /tmp/wancert-demo.XXXXXX)
trap 'bash tests/lab/lab.sh down "$lab"' EXIT
bash tests/lab/lab.sh up "$lab"

echo "== configuration ($lab/wancert.conf, secrets elided)"
grep -v tsig_secret "$lab/wancert.conf" | grep -v '^\s*#' | grep -v '^$'
echo
echo "== wancert run"
"$bin" --config "$lab/wancert.conf" run
echo
echo "== wancert status"
"$bin" --config "$lab/wancert.conf" status
echo
echo "== issued certificate"
openssl x509 -in "$lab/state/certs/demo/fullchain.pem" -noout -subject -issuer -enddate -ext subjectAltName
echo
echo "== installed files"
ls -l "$lab/state/certs/demo" "$lab/deployed"
echo
echo "== a second run has nothing to do"
"$bin" --config "$lab/wancert.conf" -v run
