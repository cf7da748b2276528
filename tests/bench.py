#!/usr/bin/env python3
"""wancert benchmark: prints figures, asserts nothing.

Starts the local lab (pebble + Knot), then measures:
  - stripped release binary size (x86_64, and mipsel when tests/mips.sh built it),
  - a full issuance (one certificate for a name and its wildcard, fresh account,
    RFC 2136): wall time, CPU time, peak RSS, several runs, median,
  - a `run` with nothing to do: wall, CPU, peak RSS, and what it wrote under
    state_dir.
Usage: python3 tests/bench.py [RUNS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def measure(argv):
    """Run argv; return (exit code, wall s, cpu s, peak RSS KiB).

    Peak RSS comes from GNU time: a child forked from this Python process
    would report Python's own RSS as its peak (Linux keeps the pre-exec
    high-water mark), while time's own footprint is about 1 MiB."""
    with tempfile.NamedTemporaryFile("r") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", out.name] + argv,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # time waits for wancert, so this usage is wancert's plus time's own (~0.3 ms).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        rss = int(out.read().split()[-1])
    return os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, rss


def snapshot(d):
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            st = os.stat(p)
            out[p] = (st.st_mtime_ns, st.st_size)
    return out


def main():
    subprocess.run(["bash", "tests/setup.sh"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target/release/wancert")
    print("== binary size (stripped, release profile)")
    print(f"x86_64-unknown-linux-gnu   {os.path.getsize(binary):>9} bytes")
    mips = os.path.join(ROOT, "target/mipsel/mipsel-unknown-linux-musl/release/wancert")
    if os.path.exists(mips):
        print(f"mipsel-unknown-linux-musl  {os.path.getsize(mips):>9} bytes")
    else:
        print("mipsel-unknown-linux-musl  (run tests/mips.sh first)")

    lab = tempfile.mkdtemp(prefix="wancert-bench.")
    subprocess.run(["bash", "tests/lab/lab.sh", "up", lab], cwd=ROOT, check=True)
    try:
        conf = os.path.join(lab, "wancert.conf")
        state = os.path.join(lab, "state")
        rows = []
        for _ in range(RUNS):
            shutil.rmtree(state, ignore_errors=True)  # fresh account and certificate each time
            rows.append(measure([binary, "--config", conf, "-q", "run"]))
        ok = sum(1 for r in rows if r[0] == 0)
        print(f"\n== full issuance (name + wildcard, fresh account, RFC 2136), {RUNS} runs")
        print(f"succeeded      {ok}/{RUNS}")
        print(f"wall median    {statistics.median(r[1] for r in rows) * 1000:8.1f} ms   (min {min(r[1] for r in rows) * 1000:.1f})")
        print(f"CPU median     {statistics.median(r[2] for r in rows) * 1000:8.1f} ms")
        print(f"peak RSS max   {max(r[3] for r in rows) / 1024:8.2f} MiB")

        before = snapshot(state)
        idle = [measure([binary, "--config", conf, "-q", "run"]) for _ in range(max(RUNS, 10))]
        after = snapshot(state)
        changed = [p for p in after if before.get(p) != after[p]]
        written = sum(after[p][1] for p in changed)
        print(f"\n== run with nothing to do, {len(idle)} runs")
        print(f"exit codes     {sorted(set(r[0] for r in idle))}")
        print(f"wall median    {statistics.median(r[1] for r in idle) * 1000:8.2f} ms")
        print(f"CPU median     {statistics.median(r[2] for r in idle) * 1000:8.2f} ms")
        print(f"peak RSS max   {max(r[3] for r in idle) / 1024:8.2f} MiB")
        print(f"state_dir      {len(changed)} files changed, {written} bytes written")
    finally:
        subprocess.run(["bash", "tests/lab/lab.sh", "down", lab], cwd=ROOT)
        shutil.rmtree(lab, ignore_errors=True)


if __name__ == "__main__":
    main()
