#!/usr/bin/env bash
# Run every test: unit tests, the DNS tests against Knot, and the end-to-end
# tests against pebble and Knot (started and stopped by the tests themselves),
# then the checks of the OpenWrt package and LuCI app (tests/openwrt.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo test --locked "$@"
# RSA certificate keys are a cargo feature: its generator and one issuance.
cargo test --locked --features rsa --lib --test e2e_pebble rsa
bash tests/openwrt.sh
