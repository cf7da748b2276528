#!/usr/bin/env bash
# Build the .ipk packages of one family for real (through
# openwrt/build-ipk.sh) and inspect them as opkg would see them: the outer
# archive, the control fields, conffiles, maintainer scripts, every data file
# with its owner and mode, the binary (the family's ELF class, byte order and
# machine, static, its size against the budget, runs under qemu or natively),
# and the LuCI package. Ends with "N passed, N failed".
#   tests/ipk.sh [FAMILY]     mipsel (default), armv7, aarch64 or x86_64; the
#                             toolchain is installed by build-ipk.sh (apt), as
#                             in tests/mips.sh
set -euo pipefail
cd "$(dirname "$0")/.."
fam=${1:-mipsel}
for tool in busybox shellcheck python3 tar gzip; do
    command -v "$tool" >/dev/null || { echo "tests/ipk.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done

passed=0
failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); else echo "FAIL: $what" >&2; failed=$((failed + 1)); fi; }

tmp=$(mktemp -d /tmp/wancert-ipk-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
WANCERT_DIST="$tmp/dist" bash openwrt/build-ipk.sh "$fam"
echo "== build: $(( $(date +%s) - start ))s"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
case "$fam" in
    mipsel) arch=mipsel_24kc qemu=qemu-mipsel-static elf="32 1 8" ;;
    armv7) arch=arm_cortex-a7_neon-vfpv4 qemu=qemu-arm-static elf="32 1 40" ;;
    aarch64) arch=aarch64_cortex-a53 qemu=qemu-aarch64-static elf="64 1 183" ;;
    x86_64) arch=x86_64 qemu=none elf="64 1 62" ;;
    *) echo "tests/ipk.sh: unknown family $fam" >&2; exit 2 ;;
esac
ipk="$tmp/dist/wancert_${version}-r1_$arch.ipk"
luci="$tmp/dist/luci-app-wancert_${version}-r1_all.ipk"
check "$ipk exists" test -f "$ipk"
check "$luci exists" test -f "$luci"

# Unpack a package into DIR/{control,data}, keeping the listings.
unpack() {
    local pkg=$1 dir=$2
    mkdir -p "$dir/control" "$dir/data"
    tar -tzf "$pkg" > "$dir/members"
    tar -xzf "$pkg" -C "$dir"
    tar -tzvf "$dir/data.tar.gz" > "$dir/data.list"
    tar -tzvf "$dir/control.tar.gz" > "$dir/control.list"
    tar -xzf "$dir/data.tar.gz" -C "$dir/data"
    tar -xzf "$dir/control.tar.gz" -C "$dir/control"
}
field() { sed -n "s/^$2: //p" "$1/control/control"; }
# "MODE OWNER PATH" lines of a tar listing, directories left out.
modes() { awk '$1 !~ /^d/ { print $1, $2, $6 }' "$1"; }

p="$tmp/wancert"
unpack "$ipk" "$p"
check "outer archive holds debian-binary, data and control" \
    test "$(sort "$p/members" | tr '\n' ' ')" = "./control.tar.gz ./data.tar.gz ./debian-binary "
check "debian-binary is 2.0" test "$(cat "$p/debian-binary")" = "2.0"
check "Package" test "$(field "$p" Package)" = wancert
check "Version" test "$(field "$p" Version)" = "$version-r1"
check "Architecture" test "$(field "$p" Architecture)" = "$arch"
check "Depends on ca-bundle" test "$(field "$p" Depends)" = "ca-bundle"
for f in License Section Source SourceName Maintainer Description; do
    check "control has $f" test -n "$(field "$p" "$f")"
done
size=$(find "$p/data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
check "Installed-Size is the data's size ($size)" test "$(field "$p" Installed-Size)" -ge "$size"
check "conffiles is /etc/config/wancert" test "$(cat "$p/control/conffiles")" = /etc/config/wancert
for s in postinst prerm; do
    check "$s is executable" test -x "$p/control/$s"
    check "$s passes busybox ash -n" busybox ash -n "$p/control/$s"
    check "$s passes shellcheck -s sh" shellcheck -s sh "$p/control/$s"
done
check "prerm stops the service (default_prerm)" grep -q default_prerm "$p/control/prerm"
check "postinst enables and starts it (default_postinst)" grep -q default_postinst "$p/control/postinst"
expected="-rw------- 0/0 ./etc/config/wancert
-rw-r--r-- 0/0 ./etc/hotplug.d/iface/95-wancert
-rwxr-xr-x 0/0 ./etc/init.d/wancert
-rw-r--r-- 0/0 ./lib/upgrade/keep.d/wancert
-rwxr-xr-x 0/0 ./usr/bin/wancert"
check "data files, owners and modes" test "$(modes "$p/data.list" | sort -k3)" = "$expected"
check "control files are root's" test -z "$(awk '$2 != "0/0"' "$p/control.list")"
check "the config is the default one" cmp -s "$p/data/etc/config/wancert" openwrt/wancert/files/wancert.config
check "the init script is ours" cmp -s "$p/data/etc/init.d/wancert" openwrt/wancert/files/wancert.init
check "keep.d keeps /etc/wancert/" grep -qx /etc/wancert/ "$p/data/lib/upgrade/keep.d/wancert"

bin="$p/data/usr/bin/wancert"
read -r bits endian machine <<<"$elf"
check "the binary is a static $fam ELF" python3 - "$bin" "$bits" "$endian" "$machine" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
bits, endian, machine = (int(x) for x in sys.argv[2:])
assert data[:4] == b"\x7fELF", "not ELF"
assert data[4] == (1 if bits == 32 else 2), "class"
assert data[5] == endian, "endianness"
e = "<" if endian == 1 else ">"
assert struct.unpack_from(e + "H", data, 18)[0] == machine, "machine"
if bits == 32:
    phoff, = struct.unpack_from(e + "I", data, 28); phsize, phnum = struct.unpack_from(e + "HH", data, 42)
else:
    phoff, = struct.unpack_from(e + "Q", data, 32); phsize, phnum = struct.unpack_from(e + "HH", data, 54)
types = [struct.unpack_from(e + "I", data, phoff + i * phsize)[0] for i in range(phnum)]
assert 3 not in types, "has PT_INTERP: dynamically linked"
PY
bytes=$(stat -c %s "$bin")
echo "== $fam binary, stripped: $bytes bytes; package: $(stat -c %s "$ipk") bytes"
# The 1.5 MB budget is a figure to report (the benchmark's job, issue #9),
# not a test that fails: it is printed here for every package build.
budget=1500000 # issue #9: 1.5 MB, decimal
if [ "$bytes" -le "$budget" ]; then
    echo "== $fam size budget: $bytes of $budget bytes, $(( budget - bytes )) to spare"
else
    echo "== $fam size budget: $bytes of $budget bytes, OVER by $(( bytes - budget ))"
fi
# x86_64 (qemu=none) runs natively: test that family on an x86_64 machine.
runner=("$qemu")
[ "$qemu" != none ] || runner=()
if [ ${#runner[@]} -eq 0 ] || command -v "$qemu" >/dev/null; then
    check "it runs: --version" test "$("${runner[@]}" "$bin" --version)" = "wancert $version"
    check "it lists its notifiers" test "$("${runner[@]}" "$bin" notifiers | cut -f1 | tr '\n' ' ')" = "command ntfy telegram webhook "
    check "it reads the packaged default config" "${runner[@]}" "$bin" --config "$p/data/etc/config/wancert" check
else
    echo "FAIL: $qemu is missing: run openwrt/build-ipk.sh once (it installs qemu-user-static)" >&2
    failed=$((failed + 1))
fi

l="$tmp/luci"
unpack "$luci" "$l"
check "LuCI: Architecture all" test "$(field "$l" Architecture)" = all
check "LuCI: depends on luci-base and wancert" test "$(field "$l" Depends)" = "luci-base, wancert"
check "LuCI: postinst reloads rpcd" grep -q 'rpcd reload' "$l/control/postinst"
check "LuCI: files are root's" test -z "$(awk '$2 != "0/0"' "$l/data.list")"
for f in www/luci-static/resources/view/wancert/overview.js www/luci-static/resources/view/wancert/settings.js \
    www/luci-static/resources/view/wancert/log.js usr/share/luci/menu.d/luci-app-wancert.json \
    usr/share/rpcd/acl.d/luci-app-wancert.json; do
    src=openwrt/luci-app-wancert/root/$f
    [[ $f == www/* ]] && src=openwrt/luci-app-wancert/htdocs/${f#www/}
    check "LuCI: $f is packaged" cmp -s "$l/data/$f" "$src"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
