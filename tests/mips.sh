#!/usr/bin/env bash
# Cross-build wancert for mipsel-unknown-linux-musl (32-bit little-endian MIPS,
# the OpenWrt ramips/mt7621 class) on Debian 12 and run its tests under
# qemu-user. No Docker, no rustup targets, no downloads besides apt and
# crates.io.
#
#   tests/mips.sh              install (if needed), test under qemu, release size
#   MIPS_SKIP_RELEASE=1        skip the release build and size report
#   MIPS_SKIP_TESTS=1          skip the test build/run
#   MIPS_LAB=1                 also run the lab tests (dns, e2e*, ddns, deploy, notify, powerdns, status_schema, crash, lock, clock, ca_faults, disk_faults, dns_faults, secrets, tls)
#   MIPS_IMMEDIATE_ABORT=1     also report the size with panic=immediate-abort
#   MIPS_TARGET_DIR=DIR        target dir (default: target/mipsel, reused)
#   extra arguments are passed to the test binaries (after `--`)
#
# How: mipsel-unknown-linux-musl is tier 3 (no prebuilt std), so std is built
# from source (-Zbuild-std) with Debian's rustc-web/cargo-web/rust-web-src,
# called by absolute path (rustup's cargo/rustc on PATH are left alone; they
# have no rust-src). The linker is Debian's musl-gcc wrapper around the
# mipsel-linux-gnu cross gcc. Debian's mipsel userland is hard-float, so the
# code is built with -soft-float (rustc warns that the feature is unstable);
# real OpenWrt builds stay soft-float through the OpenWrt SDK or cross.toml.
# std asks for -lunwind: tests/mips/dl_find_object.c + the cross gcc's
# libgcc_eh.a stand in for it (see that file), so panic=unwind works and the
# test harness behaves exactly as on the host.
set -euo pipefail

T=mipsel-unknown-linux-musl
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TDIR=${MIPS_TARGET_DIR:-$ROOT/target/mipsel}
DEB_PKGS=(rustc-web cargo-web rust-web-src gcc-mipsel-linux-gnu musl-dev:mipsel qemu-user-static)

say() { printf '== mips.sh: %s\n' "$*" >&2; }
now() { date +%s; }
T0=$(now)

# ---------------------------------------------------------------- install ---
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

have_all() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustdoc ] &&
    [ -f /usr/lib/rustlib/src/rust/library/std/Cargo.toml ] &&
    command -v mipsel-linux-musl-gcc >/dev/null && command -v mipsel-linux-gnu-ar >/dev/null &&
    [ -f /usr/lib/mipsel-linux-musl/libc.a ] && command -v qemu-mipsel-static >/dev/null
}

if ! have_all; then
    say "installing ${DEB_PKGS[*]}"
    if ! dpkg --print-foreign-architectures | grep -qx mipsel; then
        as_root dpkg --add-architecture mipsel
    fi
    # A foreign-architecture index may be missing from a third-party source
    # (or the mirror may hiccup): go on and let apt-get install decide.
    as_root apt-get update -q || say "apt-get update reported errors; trying the install anyway"
    apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${DEB_PKGS[@]}"; }
    if ! apt_install; then
        say "apt-get install failed; refreshing the indexes once more and retrying"
        sleep 5
        as_root apt-get update -q || true
        apt_install
    fi
    have_all || { say "install incomplete"; exit 1; }
fi

RUSTC_VER=$(/usr/bin/rustc --version)
case "$RUSTC_VER" in
    "rustc 1."[0-7][0-9].* | "rustc 1.8"[0-4].*)
        say "$RUSTC_VER is older than the crate's rust-version 1.85 (need rustc-web from bookworm-security)"; exit 1 ;;
esac
say "toolchain: $RUSTC_VER, $(/usr/bin/cargo --version) (std from source), $(mipsel-linux-gnu-gcc -dumpversion 2>/dev/null || echo '?') cross gcc"

# ------------------------------------------------------- libunwind stand-in ---
SHIM_SRC=$ROOT/tests/mips/dl_find_object.c
SHIM_DIR=$TDIR/shim
LIBGCC_EH=$(mipsel-linux-gnu-gcc -print-file-name=libgcc_eh.a)
[ -f "$LIBGCC_EH" ] || { say "no libgcc_eh.a from mipsel-linux-gnu-gcc"; exit 1; }
if [ ! -f "$SHIM_DIR/libunwind.a" ] || [ "$SHIM_SRC" -nt "$SHIM_DIR/libunwind.a" ] ||
   [ "$LIBGCC_EH" -nt "$SHIM_DIR/libunwind.a" ]; then
    mkdir -p "$SHIM_DIR"
    mipsel-linux-musl-gcc -O2 -Wall -Wextra -c "$SHIM_SRC" -o "$SHIM_DIR/dl_find_object.o"
    rm -f "$SHIM_DIR/libunwind.a.tmp"
    cp "$LIBGCC_EH" "$SHIM_DIR/libunwind.a.tmp"
    mipsel-linux-gnu-ar rs "$SHIM_DIR/libunwind.a.tmp" "$SHIM_DIR/dl_find_object.o" 2>/dev/null
    mv "$SHIM_DIR/libunwind.a.tmp" "$SHIM_DIR/libunwind.a"
fi

# ------------------------------------------------------------ environment ---
# Target-specific flags are ignored by cargo when RUSTFLAGS is set: drop those.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET CARGO_ENCODED_RUSTDOCFLAGS
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=$TDIR
export CC_mipsel_unknown_linux_musl=mipsel-linux-musl-gcc
export AR_mipsel_unknown_linux_musl=mipsel-linux-gnu-ar
export CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_LINKER=mipsel-linux-musl-gcc
export CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUNNER=qemu-mipsel-static
export CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static,-soft-float -C link-self-contained=no -L native=$SHIM_DIR"
# rustdoc links the doctests itself and gets no target rustflags: same flags.
export RUSTDOCFLAGS=$CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUSTFLAGS
CARGO=(/usr/bin/cargo)
LOCKED=()
[ -f "$ROOT/Cargo.lock" ] && LOCKED=(--locked)
cd "$ROOT"

STATUS=0
SUMMARY=()

# ------------------------------------------------------------------ tests ---
if [ -z "${MIPS_SKIP_TESTS:-}" ]; then
    SEL=(--lib --bins)
    EXCLUDED=()
    shopt -s nullglob
    for f in tests/*.rs tests/*/main.rs; do
        case "$f" in */main.rs) name=${f#tests/}; name=${name%/main.rs} ;; *) name=$(basename "$f" .rs) ;; esac
        case "$name" in
            # These start lab servers from shell scripts and run the wancert
            # binary itself, which needs binfmt_misc for a mipsel executable
            # (not mounted here); they run in the host suite.
            dns | e2e* | ddns | deploy | notify | powerdns | status_schema | crash | lock | clock | ca_faults | disk_faults | dns_faults | secrets | tls)
                if [ -n "${MIPS_LAB:-}" ]; then SEL+=(--test "$name"); else EXCLUDED+=("$f"); fi ;;
            *) SEL+=(--test "$name") ;;
        esac
    done
    shopt -u nullglob
    if [ ${#EXCLUDED[@]} -gt 0 ]; then
        say "excluded under qemu: ${EXCLUDED[*]} (lab tests: they start local servers and run the wancert binary; they run in the host suite; MIPS_LAB=1 tries them here)"
    fi

    t=$(now)
    say "building tests for $T"
    "${CARGO[@]}" test "${LOCKED[@]}" -Zbuild-std --target $T "${SEL[@]}" --no-run
    say "test build: $(( $(now) - t ))s"

    t=$(now)
    say "running tests under qemu-mipsel-static"
    if "${CARGO[@]}" test "${LOCKED[@]}" -Zbuild-std --target $T "${SEL[@]}" --no-fail-fast -- "$@"; then
        SUMMARY+=("tests under qemu: ok")
    else
        STATUS=1; SUMMARY+=("tests under qemu: FAILED")
    fi
    # Doctests: compiled by rustdoc for the target and run through the runner.
    if grep -rqs '^\s*//[/!].*```' src; then
        if "${CARGO[@]}" test "${LOCKED[@]}" -Zbuild-std --target $T --doc -- "$@"; then
            SUMMARY+=("doctests under qemu: ok")
        else
            STATUS=1; SUMMARY+=("doctests under qemu: FAILED")
        fi
    fi
    say "test run: $(( $(now) - t ))s"
fi

# ---------------------------------------------------------------- release ---
release_size() { # $1: label, rest: extra cargo args/env set by caller
    local label=$1; shift
    local t bin stripped
    t=$(now)
    "${CARGO[@]}" build "${LOCKED[@]}" --release -Zbuild-std=std,panic_abort --target $T "$@"
    bin=$CARGO_TARGET_DIR/$T/release/wancert
    stripped=$CARGO_TARGET_DIR/$T/release/wancert.stripped
    mipsel-linux-gnu-strip -o "$stripped" "$bin"
    # Smoke run: it must start and exit normally (any exit code < 128).
    local rc=0
    qemu-mipsel-static "$stripped" --help >/dev/null 2>&1 || rc=$?
    if [ "$rc" -ge 128 ]; then
        STATUS=1; SUMMARY+=("release binary ($label) died under qemu with status $rc")
    fi
    SUMMARY+=("mipsel release binary (plain release profile; the shipped one: tests/ipk.sh), stripped, $label: $(stat -c %s "$stripped") bytes (build $(( $(now) - t ))s)")
}

if [ -z "${MIPS_SKIP_RELEASE:-}" ]; then
    say "building release binary for $T"
    release_size "panic=abort"
    if [ -n "${MIPS_IMMEDIATE_ABORT:-}" ]; then
        # Separate target dir: a different std. Rust >= 1.91 spells it as a
        # panic strategy; older ones as a build-std feature.
        CARGO_TARGET_DIR=$TDIR-ia CARGO_PROFILE_RELEASE_PANIC=immediate-abort \
            release_size "panic=immediate-abort" -Zpanic-immediate-abort
    fi
fi

for s in "${SUMMARY[@]}"; do say "$s"; done
say "total: $(( $(now) - T0 ))s"
exit $STATUS
