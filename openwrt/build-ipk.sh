#!/usr/bin/env bash
# Build installable .ipk packages of wancert and luci-app-wancert for OpenWrt
# 24.10 and earlier (opkg), on Debian 12, without the OpenWrt SDK. (Releases
# with apk use the feed: openwrt/wancert/Makefile.)
#
#   openwrt/build-ipk.sh [--arch FAMILY=OPKG_ARCH]... [FAMILY...]
#
# FAMILY is mipsel, armv7, aarch64 or x86_64 (default: the first three, the
# routers' families; x86_64 is for x86 routers and VMs). The binary is static
# (musl), so one build serves every device of the family; its package is
# stamped with an opkg architecture name, which must be one that
# `opkg print-architecture` lists on the router: by default mipsel_24kc,
# arm_cortex-a7_neon-vfpv4, aarch64_cortex-a53 and x86_64; --arch picks
# another (give it several times for several packages of one build).
#
#   WANCERT_BIN_<FAMILY>=FILE   package FILE instead of building (tests)
#   WANCERT_DIST=DIR            output directory (default dist/)
#
# How the binaries are built: tests/mips.sh's way, for each family. The musl
# targets have no prebuilt std here (no rustup downloads), so std is built
# from source (-Zbuild-std) with Debian's rustc-web and rust-web-src, linked
# by Debian's musl-gcc wrapper around each cross gcc, with the cross gcc's
# libgcc_eh.a plus tests/mips/dl_find_object.c standing in for libunwind.
# The `openwrt` profile (panic=abort, size settings) is used. Each binary is
# run once (--version): under qemu-user, or natively when the family is this
# machine's own (x86_64 on amd64).
#
# Size: the budget is 1.5 MB for the stripped binary (docs/size.md has the
# accounting). On mipsel the plain openwrt profile gives 2.04 MB; on top of
# it: std built with optimize_for_size, panics that abort at once
# (panic=immediate-abort: no message, no formatting code), no unwind tables
# (nothing unwinds), derived Debug impls that print only the type or variant
# name (-Zfmt-debug=shallow: no message shows a derived struct; enum variants
# and strings print as before), no file/line in panic locations, and
# 4 KiB segment alignment (GNU ld pads MIPS and AArch64 files to 64 KiB;
# OpenWrt kernels use 4 KiB pages), and no position-independent code (a
# static executable; on MIPS the biggest single saving). A panic is a bug
# either way; on the router it ends the process without a message.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dist=${WANCERT_DIST:-$root/dist}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
release=1
say() { printf '== build-ipk: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# FAMILY → rust target, Debian architecture, gcc triple, musl-gcc wrapper,
# default opkg architecture, qemu for a smoke run (none: run it natively).
family_info() {
    case "$1" in
        mipsel) echo "mipsel-unknown-linux-musl mipsel mipsel-linux-gnu mipsel-linux-musl-gcc mipsel_24kc qemu-mipsel-static" ;;
        armv7) echo "armv7-unknown-linux-musleabihf armhf arm-linux-gnueabihf arm-linux-musleabihf-gcc arm_cortex-a7_neon-vfpv4 qemu-arm-static" ;;
        aarch64) echo "aarch64-unknown-linux-musl arm64 aarch64-linux-gnu aarch64-linux-musl-gcc aarch64_cortex-a53 qemu-aarch64-static" ;;
        x86_64) echo "x86_64-unknown-linux-musl amd64 x86_64-linux-gnu x86_64-linux-musl-gcc x86_64 none" ;;
        *) return 1 ;;
    esac
}

families=()
declare -A archs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --arch)
            if [ $# -lt 2 ] || [[ "$2" != *=* ]]; then
                die "--arch needs FAMILY=OPKG_ARCH, e.g. --arch mipsel=mipsel_74kc"
            fi
            fam=${2%%=*}
            family_info "$fam" >/dev/null || die "unknown family $fam: use mipsel, armv7, aarch64 or x86_64"
            archs[$fam]="${archs[$fam]:-} ${2#*=}"
            shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) family_info "$1" >/dev/null || die "unknown family $1: use mipsel, armv7, aarch64 or x86_64"
           families+=("$1"); shift ;;
    esac
done
[ ${#families[@]} -gt 0 ] || families=(mipsel armv7 aarch64)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
host_arch=$(dpkg --print-architecture)

# Debian packages for the families that are built (not given as WANCERT_BIN_*).
install_toolchain() {
    local need=() fam debarch triple wrapper qemu
    [ -x /usr/bin/rustc ] && [ -f /usr/lib/rustlib/src/rust/library/std/Cargo.toml ] ||
        need+=(rustc-web cargo-web rust-web-src)
    for fam in "$@"; do
        read -r _ debarch triple wrapper _ qemu <<<"$(family_info "$fam")"
        # The host's own gcc is Debian's gcc; a cross gcc is gcc-TRIPLE, with
        # x86_64 spelled x86-64 (gcc-x86-64-linux-gnu on an arm64 host).
        if ! command -v "$triple-gcc" >/dev/null; then
            if [ "$debarch" = "$host_arch" ]; then need+=(gcc); else need+=("gcc-${triple//_/-}"); fi
        fi
        command -v "$wrapper" >/dev/null || need+=("musl-dev:$debarch")
        [ "$qemu" = none ] || command -v "$qemu" >/dev/null || need+=(qemu-user-static)
        if ! dpkg --print-foreign-architectures | grep -qx "$debarch" &&
            [ "$host_arch" != "$debarch" ]; then
            as_root dpkg --add-architecture "$debarch"
        fi
    done
    [ ${#need[@]} -eq 0 ] && return 0
    say "installing ${need[*]}"
    as_root apt-get update -q || say "apt-get update reported errors; trying the install anyway"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
}

# Build the static binary of one family; prints its path.
build() {
    local fam=$1 target triple wrapper var shim t
    read -r target _ triple wrapper _ _ <<<"$(family_info "$fam")"
    var=$(echo "$target" | tr 'a-z-' 'A-Z_')
    shim=$root/target/ipk/shim-$fam
    mkdir -p "$shim"
    local src=$root/tests/mips/dl_find_object.c eh
    eh=$("$triple-gcc" -print-file-name=libgcc_eh.a)
    [ -f "$eh" ] || die "no libgcc_eh.a from $triple-gcc"
    if [ ! -f "$shim/libunwind.a" ] || [ "$src" -nt "$shim/libunwind.a" ]; then
        "$wrapper" -O2 -Wall -Wextra -c "$src" -o "$shim/dl_find_object.o"
        cp "$eh" "$shim/libunwind.a.tmp"
        "$triple-ar" rs "$shim/libunwind.a.tmp" "$shim/dl_find_object.o" 2>/dev/null
        mv "$shim/libunwind.a.tmp" "$shim/libunwind.a"
        touch "$root/src/main.rs" # cargo does not see a native library change: relink
    fi
    local features=+crt-static
    # Debian's mipsel musl is hard-float (OpenWrt's is soft-float): the static
    # binary brings its own libc, and the kernel emulates the FPU if needed.
    [ "$fam" = mipsel ] && features=+crt-static,-soft-float
    local flags="-C target-feature=$features -C force-unwind-tables=no -C link-self-contained=no -L native=$shim"
    flags+=" -C link-arg=-Wl,-z,max-page-size=4096 -Zfmt-debug=shallow -Zlocation-detail=none"
    # The binary is a static executable, loaded at a fixed address: it needs
    # no position-independent code. On MIPS that matters most: PIC code (the
    # SVR4 "abicalls" ABI) reaches every function and global through the GOT
    # ($gp, $t9 loads before each call); static code calls with jal and loads
    # addresses directly. Measured on mipsel: 1,776,616 -> 1,546,844 bytes.
    flags+=" -C relocation-model=static"
    t=$(date +%s)
    say "building $target (std from source: a few minutes)"
    (
        cd "$root"
        unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET
        export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
        export CARGO_TARGET_DIR="$root/target/ipk"
        export "CC_${target//-/_}=$wrapper" "AR_${target//-/_}=$triple-ar"
        export "CARGO_TARGET_${var}_LINKER=$wrapper" "CARGO_TARGET_${var}_RUSTFLAGS=$flags"
        export CARGO_PROFILE_OPENWRT_PANIC=immediate-abort
        /usr/bin/cargo build --locked --profile openwrt -Zpanic-immediate-abort \
            -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size --target "$target" >&2
    )
    say "$target built in $(( $(date +%s) - t ))s"
    echo "$root/target/ipk/$target/openwrt/wancert"
}

# Write a package: $1 output file, $2 staging dir with control/ and data/.
# The layout opkg reads: a gzipped tar of debian-binary, control.tar.gz and
# data.tar.gz, owned by root, in a fixed order and with fixed times.
pack() {
    local out=$1 dir=$2 epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
    local tarflags=(--owner=0 --group=0 --numeric-owner --sort=name --mtime="@$epoch" --format=gnu)
    echo "2.0" > "$dir/debian-binary"
    (cd "$dir/data" && tar "${tarflags[@]}" -cf - . | gzip -n9 > "$dir/data.tar.gz")
    (cd "$dir/control" && tar "${tarflags[@]}" -cf - . | gzip -n9 > "$dir/control.tar.gz")
    (cd "$dir" && tar "${tarflags[@]}" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n9 > "$out")
}

control() { # package arch depends description
    local size
    size=$(du -sb --apparent-size "$stage/data" | cut -f1)
    cat <<CONTROL
Package: $1
Version: $version-r$release
Depends: $3
Source: openwrt/$1
SourceName: $1
License: MIT
Section: ${5:-net}
Maintainer: wancert developers
Architecture: $2
Installed-Size: $size
Description: $4
CONTROL
}

mkdir -p "$dist"
work=$(mktemp -d /tmp/wancert-ipk.XXXXXX)
trap 'rm -rf "$work"' EXIT
files=$root/openwrt/wancert/files

to_build=()
for fam in "${families[@]}"; do
    var="WANCERT_BIN_$fam"
    [ -n "${!var:-}" ] || to_build+=("$fam")
done
[ ${#to_build[@]} -eq 0 ] || install_toolchain "${to_build[@]}"

for fam in "${families[@]}"; do
    read -r _ debarch triple _ default_arch qemu <<<"$(family_info "$fam")"
    var="WANCERT_BIN_$fam"
    bin=${!var:-}
    [ -n "$bin" ] || bin=$(build "$fam")
    [ -f "$bin" ] || die "no binary at $bin"
    # Not wancert-$fam: staging directories are wancert-ARCH, and x86_64 is
    # the name of both a family and an opkg architecture.
    stripped=$work/stripped-$fam
    # A binary given through WANCERT_BIN_* may be of another architecture.
    "$triple-strip" -o "$stripped" "$bin" 2>/dev/null || cp "$bin" "$stripped"
    # The smoke run: natively on a machine of the family, else under qemu
    # (skipped when there is none, as for x86_64 on another host).
    runner=()
    [ "$debarch" = "$host_arch" ] || runner=("$qemu")
    if [ -z "${!var:-}" ] && { [ ${#runner[@]} -eq 0 ] || command -v "$qemu" >/dev/null; }; then
        "${runner[@]}" "$stripped" --version >&2 || die "the $fam binary does not run (${runner[*]:-natively})"
    fi
    for arch in ${archs[$fam]:-$default_arch}; do
        stage=$work/wancert-$arch
        rm -rf "$stage"
        mkdir -p "$stage/control" "$stage/data/usr/bin" "$stage/data/etc/config" "$stage/data/etc/init.d" \
            "$stage/data/etc/hotplug.d/iface" "$stage/data/lib/upgrade/keep.d"
        install -m 0755 "$stripped" "$stage/data/usr/bin/wancert"
        install -m 0600 "$files/wancert.config" "$stage/data/etc/config/wancert"
        install -m 0755 "$files/wancert.init" "$stage/data/etc/init.d/wancert"
        install -m 0644 "$files/wancert.hotplug" "$stage/data/etc/hotplug.d/iface/95-wancert"
        install -m 0644 "$files/wancert.keep" "$stage/data/lib/upgrade/keep.d/wancert"
        control wancert "$arch" "ca-bundle" \
            "HTTPS certificates (ACME DNS-01) and DDNS for the router and the hosts behind its port forwards" \
            > "$stage/control/control"
        echo /etc/config/wancert > "$stage/control/conffiles"
        install -m 0755 "$root/openwrt/ipk/wancert.postinst" "$stage/control/postinst"
        install -m 0755 "$root/openwrt/ipk/wancert.prerm" "$stage/control/prerm"
        out=$dist/wancert_${version}-r${release}_$arch.ipk
        pack "$out" "$stage"
        say "$out: $(stat -c %s "$out") bytes; binary $(stat -c %s "$stripped") bytes"
    done
done

stage=$work/luci
luci=$root/openwrt/luci-app-wancert
mkdir -p "$stage/control" "$stage/data/www"
cp -r "$luci/htdocs/." "$stage/data/www/"
cp -r "$luci/root/." "$stage/data/"
find "$stage/data" -type d -exec chmod 0755 {} + && find "$stage/data" -type f -exec chmod 0644 {} +
control luci-app-wancert all "luci-base, wancert" "LuCI support for wancert" luci > "$stage/control/control"
install -m 0755 "$root/openwrt/ipk/luci.postinst" "$stage/control/postinst"
out=$dist/luci-app-wancert_${version}-r${release}_all.ipk
pack "$out" "$stage"
say "$out: $(stat -c %s "$out") bytes"
