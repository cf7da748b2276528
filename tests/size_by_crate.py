#!/usr/bin/env python3
"""Bytes of an unstripped wancert binary by crate, wancert module, provider and
deployer, from its symbol table (nm -S -C). Markdown tables on stdout.

    tests/size_by_crate.py BINARY [NM]     e.g. NM=mipsel-linux-gnu-nm

A symbol counts for the crate its demangled path starts with (the type's
crate for a trait impl: `<rustls::x::Y as core::fmt::Debug>::fmt` is
rustls). With LTO, code inlined into a caller counts for the caller's
crate, so a crate's own figure is a floor. C and assembly (musl, ring's C
core) have no path; .bss takes no file bytes and is left out.
"""
import collections
import re
import subprocess
import sys

PREFIXES = ("<", "&", "*const ", "*mut ", "dyn ", "mut ", "(")


def crate_path(name):
    while True:
        for p in PREFIXES:
            if name.startswith(p):
                name = name[len(p):]
                break
        else:
            return name


def main():
    binary = sys.argv[1]
    nm = sys.argv[2] if len(sys.argv) > 2 else "nm"
    out = subprocess.run([nm, "-S", "--size-sort", "-C", binary],
                         capture_output=True, text=True, check=True).stdout
    tables = {k: collections.Counter() for k in ("crate", "wancert module", "provider", "deployer")}
    total = 0
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2] in "bBU":
            continue
        size, name = int(parts[1], 16), parts[3]
        total += size
        path = crate_path(name)
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", path)
        tables["crate"][m.group(1) if m else "(C, assembly, no path)"] += size
        for key, pattern in (("wancert module", r"^wancert::([a-z0-9_]+)"),
                             ("provider", r"wancert::providers::([a-z0-9_]+)"),
                             ("deployer", r"wancert::deploy::([a-z0-9_]+)")):
            m = re.search(pattern, path if key == "wancert module" else name)
            if m:
                tables[key][m.group(1)] += size
    print(f"symbols: {total} bytes\n")
    for title, counts in tables.items():
        print(f"| {title} | bytes |\n|---|---:|")
        for name, size in counts.most_common():
            print(f"| {name} | {size:,} |")
        print()


if __name__ == "__main__":
    main()
