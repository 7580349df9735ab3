"""The Zipline shim against real zipline-reloaded, side by side, as whole processes.

Workloads (``benchmarks/zl/algos.py``):

* the parity algorithms of ``tests/test_zipline_parity.py`` (same sources, date ranges and
  capital) on the csvdir bundle over ``data/raw`` (AAPL, IBM, KO, MSFT, 2012-2014);
* ``momentum 500 x 2,520``: 500 synthetic assets x 2,520 XNYS sessions from 2010-01-04
  (``benchmarks.data.make_panel``, written as a csvdir folder by ``benchmarks/zl/universe.py``),
  a monthly rebalance (``schedule_function`` at ``month_start``) ranking every asset by its
  60-session return from ``data.history`` and holding the top 50 with
  ``order_target_percent``; it runs from the 61st session (the first full history window)
  to the last.

Every run is a fresh ``python -m benchmarks.bench_zipline --worker {zipline,shim} ...``
process, timed from spawn to exit. Real Zipline runs ``zipline.run_algorithm`` on bundles
ingested beforehand into a temporary ``ZIPLINE_ROOT`` (the ingest is not timed); the shim
runs ``ml4t.compat.zipline.run_algorithm``, which reads the csvdir folders directly. Each
worker reports its final ``portfolio_value`` and cash, its transaction and order counts,
the shares and dollars traded and a digest of every transaction (session, symbol, amount in
order), so the table shows both engines did the same work (values equal within 1e-9
relative, counts and digest exactly). Bytecode caching is on for both engines
(``common.pyc_cache``: ``PYTHONDONTWRITEBYTECODE`` removed, a ``PYTHONPYCACHEPREFIX`` outside
the repository) and one untimed run per engine and workload fills that cache first.

Needs an interpreter with zipline-reloaded (pandas < 3) and ml4t installed::

    /work/zlvenv/bin/python -m benchmarks.bench_zipline                    # ~10 min
    /work/zlvenv/bin/python -m benchmarks.bench_zipline --zl-runs 1 --shim-runs 1 --only momentum
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import common
from benchmarks.common import emit, now

MODULE = "benchmarks.bench_zipline"
SYN_ASSETS, SYN_BARS, LOOKBACK = 500, 2520, 60
PIPE_LOOKBACK = 260              # the pipeline's windows (126 + 126 sessions) fit in the data
SECTION = Path(__file__).resolve().parent / "README.zipline-section.md"


# ------------------------------------------------------------------ workloads
def workloads(n_assets: int = SYN_ASSETS, n_bars: int = SYN_BARS) -> dict:
    """name -> dict(label, bundle, start, end, capital, source-spec)."""
    from benchmarks.zl.algos import PARITY, RAW_BUNDLE, SYN_BUNDLE

    out = {}
    for name, (const, start, end, capital) in PARITY.items():
        out[name] = dict(label=f"{name}: `{const}`, 4 assets, {start} to {end}",
                         bundle=RAW_BUNDLE, start=start, end=end, capital=capital, const=const)
    out["momentum"] = dict(label=f"momentum: {n_assets} assets x {n_bars:,} sessions "
                                 f"(runs the last {n_bars - LOOKBACK:,})", bundle=SYN_BUNDLE,
                           start=None, end=None, capital=10_000_000.0, const=None,
                           assets=n_assets, bars=n_bars)
    out["pipeline"] = dict(label=f"pipeline: {n_assets} assets x {n_bars:,} sessions, a Pipeline "
                                 f"every session (runs the last {n_bars - PIPE_LOOKBACK:,})",
                           bundle=SYN_BUNDLE, start=None, end=None, capital=10_000_000.0,
                           const=None, assets=n_assets, bars=n_bars, pipeline=True)
    return out


def _bundle_folder(spec: dict) -> Path:
    from benchmarks.zl.algos import RAW

    if spec["const"] is not None:
        return RAW
    from benchmarks.zl.universe import csvdir
    return csvdir(spec["assets"], spec["bars"])


def _dates(spec: dict) -> tuple[str, str]:
    if spec["const"] is not None:
        return spec["start"], spec["end"]
    from benchmarks.zl.universe import session_dates
    days = session_dates(_bundle_folder(spec))
    return days[PIPE_LOOKBACK if spec.get("pipeline") else LOOKBACK], days[-1]


def _register_zipline(spec: dict) -> None:
    import pandas as pd
    from zipline.data import bundles as zb
    from zipline.data.bundles.csvdir import csvdir_equities

    folder = _bundle_folder(spec)
    if spec["const"] is not None:
        first, last = "2012-01-03", "2014-12-31"
    else:
        from benchmarks.zl.universe import session_dates
        days = session_dates(folder)
        first, last = days[0], days[-1]
    from tests.zipline_support import us_exchange
    zb.register(spec["bundle"], us_exchange(csvdir_equities(["daily"], str(folder))),
                calendar_name="XNYS", start_session=pd.Timestamp(first),
                end_session=pd.Timestamp(last))



# ------------------------------------------------------------------ worker side
def _outcome(perf) -> dict:
    """What the run did: final value, counts, shares traded, a digest of the transactions."""
    txns = [t for day in perf["transactions"] for t in day]
    order_ids = {o["id"] for day in perf["orders"] for o in day}
    h = hashlib.sha256()
    for t in txns:
        h.update(f"{t['dt'].date()}|{t['sid'].symbol}|{int(t['amount'])}\n".encode())
    return dict(final_value=float(perf["portfolio_value"].iloc[-1]),
                ending_cash=float(perf["ending_cash"].iloc[-1]),
                transactions=len(txns), orders=len(order_ids),
                shares=int(sum(abs(t["amount"]) for t in txns)),
                traded_value=float(sum(abs(t["amount"]) * t["price"] for t in txns)),
                sessions=len(perf), txn_digest=h.hexdigest()[:12])


def _worker(engine: str, name: str, zroot: str, n_assets: int, n_bars: int) -> None:
    t0 = now()
    os.environ["ZIPLINE_ROOT"] = zroot
    import pandas as pd
    from benchmarks.zl.algos import PIPELINE, momentum_source, namespace, parity_source

    spec = workloads(n_assets, n_bars)[name]
    shim = engine.startswith("shim")
    if engine == "shim_cached":       # the shim's optional bundle cache, filled by the warm-up
        os.environ["ML4T_BUNDLE_CACHE"] = os.path.join(zroot, "ml4t-bundle-cache")
    if shim:
        import ml4t.compat.zipline as zl
        from ml4t.compat.zipline.data import bundles as sb
        from ml4t.compat.zipline.data.bundles.csvdir import csvdir_equities
        sb.register(spec["bundle"], csvdir_equities(["daily"], str(_bundle_folder(spec))),
                    calendar_name="XNYS")
    else:
        import zipline as zl
        _register_zipline(spec)
    t1 = now()
    if spec["const"]:
        src = parity_source(spec["const"])
    else:
        src = PIPELINE if spec.get("pipeline") else momentum_source(n_assets)
    ns = namespace(src, shim)
    start, end = _dates(spec)
    perf = zl.run_algorithm(start=pd.Timestamp(start), end=pd.Timestamp(end),
                            initialize=ns["initialize"], handle_data=ns.get("handle_data"),
                            before_trading_start=ns.get("before_trading_start"),
                            capital_base=spec["capital"], bundle=spec["bundle"],
                            data_frequency="daily")
    t2 = now()
    out = _outcome(perf)
    print(f"{engine} {name}: final portfolio_value {out['final_value']:,.2f}, "
          f"{out['transactions']} transactions, {out['orders']} orders, digest "
          f"{out['txn_digest']}", flush=True)
    emit(dict(engine=engine, workload=name, import_s=t1 - t0, run_s=t2 - t1, **out))


def _ingest(zroot: str, names: list[str], n_assets: int, n_bars: int) -> None:
    """Ingest the Zipline bundles the workloads need into ``zroot`` (not timed)."""
    os.environ["ZIPLINE_ROOT"] = zroot
    from zipline.data import bundles as zb

    specs = workloads(n_assets, n_bars)
    done = set()
    for name in names:
        spec = specs[name]
        if spec["bundle"] in done:
            continue
        _register_zipline(spec)
        t0 = now()
        zb.ingest(spec["bundle"], show_progress=False)
        print(f"ingested {spec['bundle']} in {now() - t0:.1f} s", file=sys.stderr, flush=True)
        done.add(spec["bundle"])
    emit(dict(engine="zipline", mode="ingest"))


# ------------------------------------------------------------------ parent side
AGREE = ("final_value", "ending_cash", "traded_value", "transactions", "orders", "shares",
         "sessions", "txn_digest")
FLOATS = ("final_value", "ending_cash", "traded_value")     # equal within 1e-9 relative


def _same(k, a, b) -> bool:
    if k in FLOATS:
        import math
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def measure(name: str, spec: dict, zroot: str, zl_runs: int, shim_runs: int,
            geo: list[str]) -> dict:
    args = ["--workload", name, "--zroot", zroot, *geo]
    out = {"workload": name, "label": spec["label"], "loadavg_before": os.getloadavg()[0]}
    for engine, n in (("shim", shim_runs), ("shim_cached", shim_runs), ("zipline", zl_runs)):
        if n <= 0:
            continue
        common.run_worker(MODULE, ["--worker", engine, *args])    # untimed: fills the pyc cache
        runs = common.repeat_worker(MODULE, ["--worker", engine, *args], n, f"{name} {engine}")
        s = common.summarize(runs, ("wall_s", "cpu_s", "peak_rss_mb", "import_s", "run_s"))
        s["cpu_min"] = min(r["cpu_s"] for r in runs)
        s["cpu_max"] = max(r["cpu_s"] for r in runs)
        s["walls"] = [r["wall_s"] for r in runs]
        for k in AGREE:
            vals = {json.dumps(r[k]) for r in runs}
            s[k] = runs[0][k]
            if len(vals) > 1:
                s[k + "_varies"] = sorted(vals)
        out[engine] = s
    out["loadavg_after"] = os.getloadavg()[0]
    z = out.get("zipline")
    for engine, suffix in (("shim", ""), ("shim_cached", "_cached")):
        s = out.get(engine)
        if z and s:
            out["agree" + suffix] = {k: _same(k, z[k], s[k]) for k in AGREE}
            out["ratio_wall" + suffix] = z["wall_s"] / s["wall_s"]
            out["ratio_cpu" + suffix] = z["cpu_s"] / s["cpu_s"]
            out["ratio_run" + suffix] = z["run_s"] / s["run_s"]
    return out


def _fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f} s"


def table(results: list[dict]) -> str:
    lines = [
        "| workload | zipline wall | shim wall (ratio) | shim + cache wall (ratio) "
        "| zipline CPU | shim CPU (ratio) | shim + cache CPU (ratio) "
        "| run_algorithm zipline / shim / + cache | peak RSS zipline / shim / + cache |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]

    def wall(d):
        return "-" if not d else f"{d['wall_s']:.2f} s ({d['wall_min']:.2f}-{d['wall_max']:.2f})"

    def ratio(r, key):
        return f" ({r[key]:.1f}x)" if key in r else ""

    for r in results:
        z, s, c = (r.get(k, {}) for k in ("zipline", "shim", "shim_cached"))
        cpu = ["-" if not d else f"{d['cpu_s']:.2f} s" for d in (z, s, c)]
        runs = " / ".join(_fmt(d.get("run_s")) for d in (z, s, c))
        rss = " / ".join("-" if not d else f"{d['peak_rss_mb']:.0f}" for d in (z, s, c))
        lines.append(f"| {r['label']} | {wall(z)} | {wall(s)}{ratio(r, 'ratio_wall')} "
                     f"| {wall(c)}{ratio(r, 'ratio_wall_cached')} | {cpu[0]} "
                     f"| {cpu[1]}{ratio(r, 'ratio_cpu')} | {cpu[2]}{ratio(r, 'ratio_cpu_cached')} "
                     f"| {runs} | {rss} MiB |")
    lines += ["", "Same work (zipline / shim / shim + cache; every run of an engine gave the "
              "same values):", "",
              "| workload | final portfolio_value | transactions | orders | shares traded "
              "| transaction digest | all equal |",
              "|---|--:|--:|--:|--:|--:|:-:|"]
    for r in results:
        ds = [r.get(k, {}) for k in ("zipline", "shim", "shim_cached")]

        def triple(k, f="{}"):
            return " / ".join(f.format(d[k]) if k in d else "-" for d in ds)
        checks = [r[k] for k in ("agree", "agree_cached") if k in r]
        bad = sorted({k for a in checks for k, v in a.items() if not v})
        ok = "-" if not checks else ("yes" if not bad else "NO: " + ", ".join(bad))
        varies = [k for d in ds for k in d if k.endswith("_varies")]
        if varies:
            ok += f" (varies between runs: {', '.join(sorted(set(varies)))})"
        lines.append(f"| {r['label']} | {triple('final_value', '{:,.2f}')} | "
                     f"{triple('transactions', '{:,}')} | {triple('orders', '{:,}')} | "
                     f"{triple('shares', '{:,}')} | {triple('txn_digest')} | {ok} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", choices=["zipline", "shim", "shim_cached"])
    p.add_argument("--ingest", action="store_true")
    p.add_argument("--workload")
    p.add_argument("--zroot")
    p.add_argument("--assets", type=int, default=SYN_ASSETS)
    p.add_argument("--bars", type=int, default=SYN_BARS)
    p.add_argument("--zl-runs", type=int, default=3, help="runs of real zipline (default 3)")
    p.add_argument("--shim-runs", type=int, default=5, help="runs of the shim (default 5)")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--python", default=os.environ.get("ML4T_BENCH_PYTHON", sys.executable),
                   help="interpreter of the workers (needs zipline-reloaded and ml4t)")
    p.add_argument("--keep-root", default="", help="use/keep this ZIPLINE_ROOT (ingest once)")
    p.add_argument("--no-pyc-cache", action="store_true",
                   help="keep the environment as it is (e.g. PYTHONDONTWRITEBYTECODE=1, "
                        "which recompiles the repository's modules in every worker)")
    p.add_argument("--no-section", action="store_true", help="do not rewrite "
                   "README.zipline-section.md")
    a = p.parse_args(argv)
    geo = ["--assets", str(a.assets), "--bars", str(a.bars)]
    if a.worker:
        _worker(a.worker, a.workload, a.zroot, a.assets, a.bars)
        return
    specs = workloads(a.assets, a.bars)
    names = [n for n in a.only.split(",") if n] or list(specs)
    unknown = sorted(set(names) - set(specs))
    if unknown:
        p.error(f"unknown workload(s) {unknown}; choose from {sorted(specs)}")
    if a.ingest:
        _ingest(a.zroot, names, a.assets, a.bars)
        return
    common.PY = a.python
    pyc = None if a.no_pyc_cache else common.pyc_cache()
    for n in names:                       # write the synthetic csvdir (not timed)
        _bundle_folder(specs[n])
    zroot = a.keep_root or tempfile.mkdtemp(prefix="ml4t-bench-zipline-root-")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        if a.zl_runs > 0:
            t0 = now()
            common.run_worker(MODULE, ["--ingest", "--zroot", zroot, "--only", ",".join(names),
                                       *geo])
            print(f"zipline ingest (not timed below): {now() - t0:.1f} s", file=sys.stderr)
        floor = common.python_floor()
        results = [measure(n, specs[n], zroot, a.zl_runs, a.shim_runs, geo) for n in names]
    finally:
        if not a.keep_root:
            shutil.rmtree(zroot, ignore_errors=True)
    mach = common.machine()
    try:
        zv = subprocess.run([a.python, "-c", "import importlib.metadata as m;"
                             "print(m.version('zipline-reloaded'))"],
                            capture_output=True, text=True).stdout.strip()
    except OSError:
        zv = "?"
    payload = dict(started=started, machine=mach, zipline=zv, python_floor_s=floor, pyc_cache=pyc,
                   argv=argv, results=results)
    common.save("zipline", payload)
    text = table(results)
    print(text)
    if not a.no_section:
        SECTION.write_text(section(payload, text, a))
        print(f"wrote {SECTION}", file=sys.stderr)


def section(payload: dict, text: str, a) -> str:
    m = payload["machine"]
    loads = [r["loadavg_before"] for r in payload["results"]] + \
        [r["loadavg_after"] for r in payload["results"]]
    cmd = "python -m benchmarks.bench_zipline" + (" " + " ".join(payload["argv"])
                                                 if payload["argv"] else "")
    return f"""## Zipline shim vs zipline-reloaded (`bench_zipline.py`)

<!-- generated by {cmd}; the lead merges this file into README.md -->

File table row:

| file | what it does |
|---|---|
| `bench_zipline.py` | `ml4t.compat.zipline` vs real zipline-reloaded as whole processes: the parity algorithms of `tests/test_zipline_parity.py` on `data/raw`, and a monthly momentum rebalance on a 500 x 2,520 synthetic csvdir universe (`zl/`); ingest excluded; checks both did the same trades |

```bash
{cmd}        # in a virtualenv with zipline-reloaded (pandas < 3) and ml4t
```

Started {payload['started']}; {m.get('nproc')} cores ({m.get('cpu')}), {m.get('ram_gib')} GiB,
Python {m.get('python')}, pandas {m.get('pandas')}, numpy {m.get('numpy')}, zipline-reloaded
{payload['zipline']}, ml4t source hash `{m.get('ml4t_code')}`. 1-minute load average
{min(loads):.1f}-{max(loads):.1f} during the runs (the machine is shared);
`python -c "import numpy, pandas"` took {payload['python_floor_s']:.2f} s (median of 5).

Whole process (spawn to exit), median (min-max) of {a.zl_runs} zipline and {a.shim_runs} shim
runs; CPU = user + sys of the worker; `run_algorithm` = the call alone, inside the worker.
Zipline reads bundles ingested beforehand (ingest not timed); "shim" reads the csvdir
folders on every run; "shim + cache" reads the optional bundle cache
(`ML4T_BUNDLE_CACHE`, filled by the untimed warm-up run, the shim's counterpart of the
ingest). Ratio = zipline / shim.

{text}
"""


if __name__ == "__main__":
    main(sys.argv[1:])
