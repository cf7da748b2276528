#!/usr/bin/env bash
# Fuzz every parser of untrusted input (the targets in fuzz/fuzz_targets) for
# SECONDS each (default 60; CI runs 15) and print libFuzzer's figures: runs,
# executions per second, coverage (cov: edges) and features (ft:).
#
#   bash tests/fuzz.sh [SECONDS] [TARGET...]
#
# cargo fuzz needs nightly flags (-Zsanitizer, sancov passes). CI has only the
# stable toolchain, so the build runs on stable with RUSTC_BOOTSTRAP=1, which
# lets stable rustc take them; the sanitizer runtimes ship with stable's
# rust-std. FUZZ_SANITIZER=none builds without AddressSanitizer (faster; the
# code denies unsafe code but for one statvfs call, so ASan mostly guards
# our C dependencies).
#
# The corpus grows in fuzz/corpus/TARGET (not committed), seeded from
# fuzz/seeds and the test fixtures. A crash stops the script with libFuzzer's
# report and the input in fuzz/artifacts/TARGET; keep it as a unit test in the
# module that crashed (see the `fuzz_regressions` tests) once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
sanitizer=${FUZZ_SANITIZER:-address}

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# Not the nightly toolchain even where one is installed: CI has only stable.
# `+stable` where rustup has a toolchain of that name, else the default one
# (never a toolchain rustup would have to download).
toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ] && rustup toolchain list 2>/dev/null | grep -q '^stable'; then
    toolchain=stable
fi
tc=()
[ -z "$toolchain" ] || tc=("+$toolchain")

cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo "${tc[@]}" fuzz list)
fi

# One build of every target (each `run` below then finds it built).
cargo "${tc[@]}" fuzz build --sanitizer "$sanitizer" --debug-assertions

seed() { # TARGET SOURCE...
    local dir=corpus/$1
    shift
    mkdir -p "$dir"
    for f in "$@"; do
        [ -f "$f" ] && cp -n "$f" "$dir/seed-$(basename "$f")"
    done
    return 0
}
seed uci ../openwrt/wancert/files/wancert.config ../tests/fixtures/uhttpd-openwrt/*
seed ubus ../tests/fixtures/ddns/*
for t in dns_wire acme_json pem_der; do seed "$t" seeds/"$t"/*; done

summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=$(mktemp)
    echo "== $t: ${secs}s"
    if ! cargo "${tc[@]}" fuzz run --sanitizer "$sanitizer" --debug-assertions "$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -max_len=8192 \
        -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $t failed: the input is in fuzz/artifacts/$t/;" \
            "reproduce with: cd fuzz && RUSTC_BOOTSTRAP=1 cargo ${tc[*]} fuzz run $t ARTIFACT" >&2
        exit 1
    fi
    # The last status line ("#N DONE cov: C ft: F corp: ...") and the stats.
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    runs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log")
    speed=$(awk '/stat::average_exec_per_sec:/ {print $2}' "$log")
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$done_line")
    ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$done_line")
    corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<<"$done_line")
    echo "$done_line"
    grep '^stat::' "$log"
    summary+=("$(printf '%-10s %6ss %12s runs %8s/s  cov %5s  ft %6s  corpus %5s' \
        "$t" "$secs" "$runs" "$speed" "$cov" "$ft" "$corp")")
    rm -f "$log"
done
echo "== fuzz summary (sanitizer: $sanitizer)"
printf '%s\n' "${summary[@]}"
