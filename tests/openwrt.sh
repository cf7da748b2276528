#!/usr/bin/env bash
# Checks of what runs on the router or in the browser rather than in Rust:
# the init and hotplug scripts (busybox ash -n, shellcheck -s sh, behaviour
# against a temporary crontab and stand-ins), the LuCI app (node --check,
# JSON, every exec it makes is granted by its ACL and the ACL grants only
# wancert), the default configuration (wancert check), and the cargo profile
# under the OpenWrt SDK's environment overrides.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

for tool in busybox shellcheck node python3 cargo; do
    command -v "$tool" >/dev/null || { echo "tests/openwrt.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

tmp=$(mktemp -d /tmp/wancert-openwrt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

files=openwrt/wancert/files
luci=openwrt/luci-app-wancert

echo "== router shell scripts: busybox ash -n, shellcheck -s sh"
for f in $files/wancert.init $files/wancert.hotplug openwrt/ipk/*.postinst openwrt/ipk/*.prerm tests/openwrt/rc.common; do
    check "busybox ash -n $f" busybox ash -n "$f"
    check "shellcheck -s sh $f" shellcheck -s sh "$f"
done
echo "== host scripts: shellcheck"
for f in tests/openwrt.sh openwrt/build-ipk.sh tests/ipk.sh; do
    [ -f "$f" ] && check "shellcheck $f" shellcheck "$f"
done

echo "== LuCI: node --check, JSON, ACL"
while IFS= read -r f; do
    check "node --check $f" node --check "$f"
done < <(find "$luci" -name '*.js')
while IFS= read -r f; do
    check "JSON $f" python3 -m json.tool "$f" >/dev/null
done < <(find "$luci" -name '*.json')
check "ACL grants only wancert, and every exec of the views" python3 - "$luci" <<'PY'
import fnmatch, json, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
acl = json.loads(next(root.rglob("acl.d/*.json")).read_text())["luci-app-wancert"]
grants = {}
for mode in ("read", "write"):
    for path, perms in acl.get(mode, {}).get("file", {}).items():
        assert path.startswith("/usr/bin/wancert "), f"ACL grants {path}"
        assert perms == ["exec"], f"{path}: {perms}"
        # One glob only: dns-test takes the provider and a name (argv, no shell).
        assert "*" not in path or path == "/usr/bin/wancert dns-test *", path
        grants[path] = mode
assert acl["read"]["uci"] == ["wancert"] and acl["write"]["uci"] == ["wancert"]
calls = []
for js in root.rglob("*.js"):
    text = js.read_text()
    for m in re.finditer(r"fs\.exec\((?:WANCERT|'/usr/bin/wancert'),\s*\[([^\]]*)\]", text):
        calls.append(m.group(1))
    calls += [f"'{m.group(1)}'" for m in re.finditer(r"listing\('([\w-]+)'\)", text)]
    calls += [m.group(1) for m in re.finditer(r"(?:'start'|\.start)\(\s*\[([^\]]*)\]", text)]
assert len(calls) >= 8, calls
for args in calls:
    words = [w.strip() for w in args.split(",") if w.strip()]
    if not any(w[0] == "'" for w in words):
        continue  # a pass-through, such as listing(cmd): its callers are checked
    words = [w[1:-1] if w[0] == "'" else "X" for w in words]
    line = " ".join(["/usr/bin/wancert"] + words)
    assert any(fnmatch.fnmatchcase(line, g) for g in grants), f"no ACL grant for {line}"
PY
check "every option the settings form writes is one the binary reads" python3 - "$luci" src <<'PY'
import pathlib, re, sys
js = next(pathlib.Path(sys.argv[1]).rglob("settings.js")).read_text()
src = "".join(p.read_text() for p in pathlib.Path(sys.argv[2]).rglob("*.rs"))
names = set(re.findall(r"s\.option\(\w+\.\w+,\s*'([a-z_0-9]+)'", js))
names |= set(re.findall(r"^\t\[ '([a-z_0-9]+)',", js, re.M))  # PROVIDER_OPTIONS
names -= {"type", "_test"}  # the section type; the Test button
assert len(names) > 60, sorted(names)
unread = sorted(n for n in names if f'"{n}"' not in src)
assert not unread, f"the form offers options wancert never reads: {unread}"
# Each provider type the table names is one wancert has.
rows = list(re.finditer(r"^\t\[ '[a-z_0-9]+', _\('(?:[^'\\]|\\.)*'\), '([a-z0-9 ]+)'", js, re.M))
assert len(rows) >= 25, len(rows)
for m in rows:
    for t in m.group(1).split():
        assert f'"{t}"' in src, f"PROVIDER_OPTIONS names a type wancert lacks: {t}"
PY

echo "== init script: cron line in a temporary crontab"
bin="$tmp/bin"
mkdir -p "$bin"
printf '#!/bin/sh\necho "$*" >> "%s/cron.calls"\n' "$tmp" > "$bin/cron"
printf '#!/bin/sh\necho "$*" >> "%s/wancert.calls"\n' "$tmp" > "$bin/wancert"
chmod +x "$bin/cron" "$bin/wancert"
crontab="$tmp/crontabs/root"
mkdir -p "$tmp/crontabs"
printf '0 3 * * * /usr/bin/backup --nightly\n' > "$crontab"
init() { WANCERT_CRONTAB="$crontab" WANCERT_CRON_INIT="$bin/cron" RC_TRACE="$tmp/trace" \
    busybox ash tests/openwrt/rc.common "$files/wancert.init" "$@"; }
restarts() { [ -f "$tmp/cron.calls" ] && grep -c '^restart$' "$tmp/cron.calls" || echo 0; }
job_re='^([1-9]|[1-5][0-9]) \* \* \* \* /usr/bin/wancert run$'

init start
check "start adds exactly one wancert line" test "$(grep -c wancert "$crontab")" = 1
check "the line runs hourly at a minute from 1 to 59" grep -Eq "$job_re" "$crontab"
check "start keeps the user's lines" grep -qx '0 3 \* \* \* /usr/bin/backup --nightly' "$crontab"
check "start restarts cron" test "$(restarts)" = 1
before=$(cat "$crontab"; stat -c %Y.%i "$crontab")
init start
init reload
check "a second start and a reload write nothing" test "$before" = "$(cat "$crontab"; stat -c %Y.%i "$crontab")"
check "... and leave cron alone" test "$(restarts)" = 1
init stop
check "stop removes the wancert line" test "$(grep -c wancert "$crontab")" = 0
check "stop keeps the user's lines" test "$(cat "$crontab")" = "0 3 * * * /usr/bin/backup --nightly"
check "stop restarts cron" test "$(restarts)" = 2
init stop
check "a second stop leaves cron alone" test "$(restarts)" = 2
minutes=""
for _ in 1 2 3 4 5 6 7 8; do
    init start
    minutes="$minutes $(grep wancert "$crontab" | cut -d' ' -f1)"
    init stop
done
distinct=$(echo "$minutes" | tr ' ' '\n' | grep -c . | tr -d ' ')
distinct=$(echo "$minutes" | tr ' ' '\n' | grep . | sort -u | wc -l)
check "the minute is random (8 starts gave$minutes)" test "$distinct" -ge 3
rm -f "$crontab"
init start
check "start creates a missing crontab" grep -Eq "$job_re" "$crontab"
init triggers
check "a config change reloads the service" grep -qx 'reload_trigger wancert' "$tmp/trace"
WANCERT_PROG="$bin/wancert" init renew -v 'a b'
check "renew runs wancert renew --force with its arguments" test "$(cat "$tmp/wancert.calls")" = "renew --force -v a b"

echo "== hotplug script"
cat > "$bin/init" <<'SH'
#!/bin/sh
[ "$1" = enabled ] && exit "${INIT_DISABLED:-0}"
SH
cat > "$bin/uci" <<'SH'
#!/bin/sh
[ -n "$UCI_WAN" ] || exit 1
echo "$UCI_WAN"
SH
printf '#!/bin/sh\n:\n' > "$bin/logger"
chmod +x "$bin/init" "$bin/uci" "$bin/logger"
hotplug() {
    rm -f "$tmp/wancert.calls"
    env PATH="$bin:$PATH" WANCERT_PROG="$bin/wancert" WANCERT_INIT="$bin/init" "$@" busybox ash "$files/wancert.hotplug"
    sleep 0.2 # the update runs in the background
    [ -f "$tmp/wancert.calls" ] && cat "$tmp/wancert.calls"
    return 0
}
check "ifup of wan runs wancert ddns" test "$(hotplug ACTION=ifup INTERFACE=wan)" = ddns
check "ifup of wan6 runs it" test "$(hotplug ACTION=ifup INTERFACE=wan6)" = ddns
check "a new address runs it" test "$(hotplug ACTION=ifupdate IFUPDATE_ADDRESSES=1 INTERFACE=wan)" = ddns
check "an update without a new address does not" test -z "$(hotplug ACTION=ifupdate INTERFACE=wan)"
check "ifdown does not" test -z "$(hotplug ACTION=ifdown INTERFACE=wan)"
check "lan does not" test -z "$(hotplug ACTION=ifup INTERFACE=lan)"
check "list wan_interface is obeyed" test "$(hotplug ACTION=ifup INTERFACE=wwan UCI_WAN='wwan wan6')" = ddns
check "... and replaces the default" test -z "$(hotplug ACTION=ifup INTERFACE=wan UCI_WAN='wwan')"
check "a disabled service does nothing" test -z "$(hotplug ACTION=ifup INTERFACE=wan INIT_DISABLED=1)"

echo "== default configuration"
cargo build --locked -q
wancert="$root/target/debug/wancert"
check "the default /etc/config/wancert is valid" "$wancert" --config "$files/wancert.config" check >/dev/null
# Every commented option, uncommented, must be one wancert knows.
sed -e 's/^#config/config/' -e 's/^#\t/\t/' -e 's/^\t#option/\toption/' -e 's/^\t#list/\tlist/' \
    "$files/wancert.config" > "$tmp/all.config"
out=$("$wancert" --config "$tmp/all.config" check 2>&1) || true
check "every option of the default configuration is known: $out" \
    test -n "$(echo "$out" | grep 'configuration is valid')" -a -z "$(echo "$out" | grep -i 'warning')"

echo "== cargo profile under the OpenWrt SDK's overrides"
# rust-values.mk exports these for every package build; the profile we build
# (openwrt) must still get panic=abort and the size settings.
crate="$tmp/profile"
mkdir -p "$crate/src"
printf '[package]\nname = "profile-check"\nversion = "0.0.0"\nedition = "2021"\n\n' > "$crate/Cargo.toml"
awk '/^\[profile\./ { on = 1 } /^\[/ && !/^\[profile\./ { on = 0 } on' Cargo.toml >> "$crate/Cargo.toml"
echo 'fn main() {}' > "$crate/src/main.rs"
flags=$(cd "$crate"; env CARGO_TARGET_DIR="$crate/target" \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
    CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_RPATH=false \
    cargo build --offline --profile openwrt -v 2>&1 | grep 'Running.*rustc.*profile_check' || true)
for want in 'panic=abort' 'opt-level=z' 'codegen-units=1' '-C lto' 'strip=symbols'; do
    check "profile openwrt keeps $want under the SDK's env" grep -q -e "$want" <<<"$flags"
done
check "profile openwrt keeps overflow checks off under the SDK's env" grep -vq 'overflow-checks=on' <<<"$flags"
check "the feed Makefile builds that profile" grep -q '^CARGO_PKG_PROFILE:=.*openwrt' openwrt/wancert/Makefile

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
