"""Where ml4t spends its time on W1 1000 x 2520, W3 500 x 2520 and W4: py-spy with native frames.

Runs ``engine.run`` once cold and then ``--reps`` times warm under ``py-spy record --native``
(install it with ``pip install py-spy``), groups the samples of the cold run and of the warm
runs into engine phases (``PHASES``) and ranks the warm runs' frames by self and inclusive time, with Cython frames resolved to ``.pyx`` lines of the
build that produced the loaded extension (so line numbers may lag a ``.pyx`` edited since).
Falls back to cProfile (``benchmarks/results/profile_*.txt``, written by
``python -m benchmarks.bench_* --profile``) when py-spy is missing.

    python -m benchmarks.profile_ml4t                    # all three, 12 warm runs each
    python -m benchmarks.profile_ml4t --only W4 --reps 30
"""
from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.common import PY, RESULTS, ROOT

WORKLOADS = {
    "W1": ("benchmarks.bench_noop", 1000, 2520),
    "W3": ("benchmarks.bench_momentum", 500, 2520),
    "W4": ("benchmarks.bench_churn", 250, 252),
}

DRIVER = """
import sys, importlib
import pandas as pd
from ml4t import Engine
from ml4t.data import load_bars
from benchmarks.data import bars_parquet
spec = importlib.import_module(sys.argv[1]); na, nb, reps = map(int, sys.argv[2:5])
df = pd.read_parquet(bars_parquet(na, nb))
cfg = spec.ml4t_config()
bd = load_bars(df)
S = spec.ml4t_strategy(na, nb)
def cold_run():
    Engine(**cfg).run(S, bd)
def warm_runs():
    for _ in range(reps):
        Engine(**cfg).run(S, bd)
cold_run()
warm_runs()
"""


def _short(frame: str) -> str:
    return re.sub(r" \(/[^ ]*/(site-packages|main|lib/python3\.\d+)/", " (", frame)


def summarize(raw: Path, within: str = "Engine.run (", top: int = 25) -> str:
    self_t: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        hit = [i for i, f in enumerate(frames) if within in f]
        if not hit:
            continue
        frames = [_short(f) for f in frames[hit[0]:]]
        total += int(n)
        self_t[frames[-1]] += int(n)
        for f in set(frames):
            incl[f] += int(n)
    out = [f"samples inside {within!r}: {total}", "", "self time:"]
    total = total or 1
    out += [f"{c / total * 100:5.1f}%  {f}" for f, c in self_t.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"{c / total * 100:5.1f}%  {f}" for f, c in incl.most_common(top + 10)]
    return "\n".join(out)


PHASES = (  # (label, substring of some frame in the sample's stack), first match wins
    ("result: BacktestResult._from_run", "_from_run ("),
    ("strategy: data.history_array", "history_array ("),
    ("strategy: broker.order_target / order", "Broker.order"),
    ("strategy: broker.order_target / order", "broker.pyx"),       # the compiled fast path
    ("strategy: broker.order_target / order", "BrokerCore"),
    ("strategy: broker.position(s)", "Broker.position"),
    ("strategy: own code in on_bar", ".on_bar ("),
    ("engine: _Run.next_session (calendar lookups)", "next_session ("),
    ("core: per-batch validation (numpy diff/min/max)", "diff ("),
    ("core: per-batch validation (numpy diff/min/max)", "_amin ("),
    ("core: per-batch validation (numpy diff/min/max)", "_amax ("),
    ("core: matching", "matching.pyx"),
    ("core: accounting (ledger)", "Ledger_"),
    ("core: accounting (ledger)", "accounting.pyx"),
    ("core: clock loop (bar/history writes, slices)", "clock.pyx"),
)


def phases(raw: Path, within: str = "Engine.run (") -> str:
    """Samples inside ``within`` grouped into engine phases (see PHASES)."""
    tot: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not any(within in f for f in frames):
            continue
        label = "other (setup, Python glue)"
        for name, key in PHASES:
            if any(key in f for f in frames):
                label = name
                break
        tot[label] += int(n)
    total = sum(tot.values()) or 1
    return f"({sum(tot.values())} samples)\n" + "\n".join(f"{c / total * 100:5.1f}%  {k}" for k, c in tot.most_common())


def main(argv: list[str]) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(WORKLOADS))
    p.add_argument("--reps", type=int, default=12)
    p.add_argument("--rate", type=int, default=250)
    a = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("py-spy is not installed (pip install py-spy); use "
                 "`python -m benchmarks.bench_noop --profile` for cProfile output instead")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for key in a.only.split(","):
        module, na, nb = WORKLOADS[key]
        raw = RESULTS / f"pyspy_{key}.raw"
        subprocess.run([spy, "record", "--native", "--rate", str(a.rate), "--format", "raw",
                        "-o", str(raw), "--", PY, "-c", DRIVER, module, str(na), str(nb),
                        str(a.reps)], cwd=ROOT, check=True, capture_output=True,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        text = ("warm runs, phases:\n" + phases(raw, "warm_runs (") + "\n\nfirst (cold) run "
                "in the process, phases:\n" + phases(raw, "cold_run (") + "\n\nwarm runs, "
                + summarize(raw, "warm_runs ("))
        (RESULTS / f"pyspy_{key}.txt").write_text(text + "\n")
        print(f"## {key}: {module} {na} x {nb}\n{text}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
