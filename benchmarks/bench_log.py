"""Benchmark: `condlaunch run` with the decision log kept, in memory and streamed.

Runs the baseline scenario (scenarios/baseline.toml: 4 variants, 30 days, plots, Parquet)
with ``--users`` users through the command line, once per ``--log`` mode, each in a fresh
process, and prints the wall time and the peak memory of the whole process tree (the
command and its workers, summed: sampled from /proc every 0.1 s, so a peak shorter than
that can be missed). ``memory`` holds the log and writes it as one sorted table;
``stream`` writes it chunk by chunk (what ``--log auto`` does past 2 GiB).

Usage::

    python benchmarks/bench_log.py                         # 500 users, both modes
    python benchmarks/bench_log.py --users 10000 --modes stream
    python benchmarks/bench_log.py --users 2000 --modes memory stream --workers 2

The first run after installing also pays the JIT compile: run once before measuring.
This is not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree_rss(root: int) -> int:
    """Summed resident memory (bytes) of ``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.M)
        resident = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        pid = int(entry)
        if parent:
            children.setdefault(int(parent.group(1)), []).append(pid)
        rss[pid] = int(resident.group(1)) * 1024 if resident else 0
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def scenario_file(users: int, folder: Path) -> Path:
    """The baseline with ``users`` users, its policy files by absolute path."""
    text = (ROOT / "scenarios" / "baseline.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^users = \d+", f"users = {users}", text, count=1)
    text = text.replace('"policies/', f'"{ROOT / "scenarios" / "policies"}/')
    path = folder / f"baseline-{users}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def measure(scenario: Path, mode: str, workers: int, out: Path) -> tuple[float, int, str]:
    """(wall seconds, peak tree bytes, the command's 'Simulated …' line) of one run."""
    command = [sys.executable, "-m", "simulator", "run", str(scenario), "--out", str(out)]
    command += ["-q", "--log", mode, "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"condlaunch run failed ({process.returncode})")
    line = next((x for x in output.splitlines() if x.startswith("Simulated")), "")
    return elapsed, peak, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument(
        "--modes", nargs="+", choices=("memory", "stream"), default=["memory", "stream"]
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"baseline, {args.users} users, 4 variants, 30 days, {args.workers} workers; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = scenario_file(args.users, folder)
        for mode in args.modes:
            out = folder / f"run-{mode}"
            seconds, peak, line = measure(scenario, mode, args.workers, out)
            rows = int(re.sub(r"\D", "", line.split(" decisions")[0].split()[-1]) or 0)
            size = (
                (out / "decisions.parquet").stat().st_size
                if (out / "decisions.parquet").exists()
                else 0
            )
            per_row = f"{peak / rows:,.0f} B/row" if rows else "-"
            print(
                f"--log {mode:<6} {seconds:7.1f} s  peak {peak / 2**20:8,.0f} MiB ({per_row})  "
                f"{rows:,} rows  decisions.parquet {size / 2**20:,.0f} MiB"
            )


if __name__ == "__main__":
    main()
