#!/usr/bin/env bash
# Run every test: unit tests, the DNS tests against Knot, and the end-to-end
# tests against pebble and Knot (started and stopped by the tests themselves),
# then the checks of the OpenWrt package and LuCI app (tests/openwrt.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo test --locked "$@"
bash tests/openwrt.sh
