"""Shared plumbing of the benchmarks: subprocess timing, peak RSS, Backtrader feeds, profiles.

Every measurement runs in a fresh Python process (``python -m benchmarks.<script> --worker ...``)
so that imports, caches and peak RSS belong to one workload only. The parent measures the
worker's wall-clock time from spawn to exit ("whole process"); the worker prints one JSON
line with its own inner timings and its peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``
just before it exits).

Nothing here imports ml4t or backtrader at module level: a worker imports only the engine it
times.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PY = os.environ.get("ML4T_BENCH_PYTHON", sys.executable)


# ------------------------------------------------------------------ worker side
def now() -> float:
    return time.perf_counter()


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(payload: dict) -> None:
    """Print the worker's result as the last line of stdout."""
    payload.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    payload.setdefault("cpu_s", ru.ru_utime + ru.ru_stime)
    sys.stdout.write("@@RESULT " + json.dumps(payload) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------ parent side
def run_worker(module: str, args: list[str], timeout: float = 1800.0) -> dict:
    """Run ``python -m module args`` in a fresh process; return its JSON plus wall time/RSS.

    ``wall_s`` is spawn-to-exit wall-clock time (Python start, imports, data load, run,
    result); ``peak_rss_mb`` comes from the worker itself.
    """
    cmd = [PY, "-m", module, *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({proc.returncode}): {' '.join(cmd)}\n{err[-4000:]}")
    line = [x for x in out.splitlines() if x.startswith("@@RESULT ")]
    if not line:
        raise RuntimeError(f"worker printed no result: {' '.join(cmd)}\n{out[-2000:]}\n{err[-2000:]}")
    res = json.loads(line[-1][len("@@RESULT "):])
    res["wall_s"] = wall
    return res


def pyc_cache() -> str:
    """Switch bytecode caching on for the workers, in a tree outside the repository.

    Without it (``PYTHONDONTWRITEBYTECODE=1``) every worker recompiles the repository's own
    modules while the reference engine's installed modules load from their ``.pyc``: a cost
    of the test set-up, not of either engine. Returns the cache directory.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ml4t-bench-pycache")
    os.environ["PYTHONPYCACHEPREFIX"] = path
    return path


def repeat_worker(module: str, args: list[str], n: int, label: str = "") -> list[dict]:
    out = []
    for i in range(n):
        r = run_worker(module, args)
        out.append(r)
        if label:
            print(f"  {label} run {i + 1}/{n}: wall {r['wall_s']:.3f} s, cpu {r['cpu_s']:.3f} s, "
                  f"rss {r['peak_rss_mb']:.0f} MiB", file=sys.stderr, flush=True)
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs: list[dict], keys: tuple[str, ...]) -> dict:
    """Median of each key over runs, plus min/max of wall time and the run count."""
    out = {"n": len(runs)}
    for k in keys:
        vals = [r.get(k) for r in runs]
        out[k] = median(vals)
    if runs:
        walls = [r["wall_s"] for r in runs]
        out["wall_min"] = min(walls)
        out["wall_max"] = max(walls)
    # counts and values must be identical across runs (determinism)
    for k in ("fills", "final_value", "rejected", "orders", "reject_reasons", "commission"):
        vals = {json.dumps(r.get(k)) for r in runs}
        if k in runs[0]:
            out[k] = runs[0][k]
            if len(vals) > 1:
                out[k + "_varies"] = sorted(vals)
    return out


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    p = RESULTS / f"{name}.json"
    p.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return p


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    vers = {}
    code = ("import json, numpy, pandas, importlib.metadata as m\n"
            "d = {'numpy': numpy.__version__, 'pandas': pandas.__version__}\n"
            "for p in ('backtrader', 'exchange_calendars', 'pyarrow', 'Cython', 'ml4t'):\n"
            "    try: d[p] = m.version(p)\n"
            "    except Exception: d[p] = 'not installed'\n"
            "print(json.dumps(d))")
    try:
        vers = json.loads(subprocess.run([PY, "-c", code], capture_output=True, text=True,
                                         cwd=ROOT).stdout)
    except Exception:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": mem, "ml4t_code": code_hash(),
            "python": platform.python_version(), **vers}


def code_hash() -> str:
    """Short SHA-256 over the Python and Cython sources of ml4t and its shims (`compat/`)."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted([*(ROOT / "ml4t").rglob("*"), *(ROOT / "compat").rglob("*")]):
        if f.suffix in (".py", ".pyx", ".pxd") and f.is_file():
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def python_floor(n: int = 5) -> float:
    """Median wall time of ``python -c 'import numpy, pandas'`` (the floor of any engine)."""
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", "import numpy, pandas"], check=True, cwd=ROOT)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


# ------------------------------------------------------------------ Backtrader
def bt_counting_strategy():
    """A ``bt.Strategy`` base that counts fills, orders placed, commission and the orders
    that ended without a fill (by status), for the side-by-side checks."""
    import backtrader as bt

    class Counting(bt.Strategy):
        def __init__(self):
            self.n_fills = 0
            self.n_orders = 0
            self.bad = {}
            self.commission = 0.0

        def notify_order(self, order):
            if order.status == order.Completed:
                self.n_fills += 1
                self.commission += order.executed.comm
            elif order.status in (order.Margin, order.Rejected, order.Canceled, order.Expired):
                name = order.getstatusname()
                self.bad[name] = self.bad.get(name, 0) + 1

    return Counting


def bt_outcome(strategy, cerebro) -> dict:
    """What a ``bt_counting_strategy`` run did: fills, value, orders, rejections, commission."""
    return dict(fills=strategy.n_fills, final_value=float(cerebro.broker.getvalue()),
                orders=strategy.n_orders, rejected=sum(strategy.bad.values()),
                reject_reasons=strategy.bad, commission=strategy.commission)


def bt_feeds(bt, df):
    """One ``PandasData`` feed per asset, ``[(name, feed), ...]``, from a dense long frame.

    The long frame is sorted by (ts, asset) and holds every asset on every session (as
    ``benchmarks.data.make_bars`` produces), so it reshapes to (bars, assets) without a
    per-asset filter. Bars are stamped at midnight of the session date (PandasData's usual
    daily stamping). ``bt`` is the Backtrader module (real, or the ml4t shim).
    """
    import numpy as np
    import pandas as pd

    names = sorted(set(df["asset"].unique().tolist()))
    na = len(names)
    nb = len(df) // na
    if nb * na != len(df):
        raise ValueError("bt_feeds needs a dense panel (every asset on every session)")
    # take the column's own datetime64 values: to_numpy() on a tz-aware column would build
    # one Timestamp object per row, a setup cost that has nothing to do with Backtrader
    ts = pd.DatetimeIndex(df["ts"].iloc[::na])
    if ts.tz is not None:
        ts = ts.tz_convert(None)
    idx = ts.normalize()
    cols = {f: df[f].to_numpy(dtype=np.float64).reshape(nb, na)
            for f in ("open", "high", "low", "close", "volume")}
    return [(name, bt.feeds.PandasData(
        dataname=pd.DataFrame({k: v[:, j] for k, v in cols.items()}, index=idx),
        openinterest=None)) for j, name in enumerate(names)]


def bt_cerebro(df, *, cash: float, commission: float | None = None):
    """A Cerebro with one PandasData feed per asset (``bt_feeds``).

    Cheat-on-open is off, ``checksubmit`` stays on (Backtrader's default), and the default
    observers are off (``stdstats=False``) -- ml4t records its portfolio history anyway, but
    neither engine draws plots here.
    """
    import backtrader as bt

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    feeds = bt_feeds(bt, df)
    for name, feed in feeds:
        cerebro.adddata(feed, name=name)
    cerebro.broker.setcash(cash)
    if commission is not None:
        cerebro.broker.setcommission(commission=commission)
    return cerebro, [name for name, _ in feeds]


# ------------------------------------------------------------------ profiles
def profile_to_file(fn, path: Path, top: int = 35):
    """Run ``fn()`` under cProfile; write the top functions by tottime and cumtime to path."""
    import cProfile
    import io
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    pr.disable()
    buf = io.StringIO()
    buf.write(f"# wall under profiler: {dt:.3f} s\n")
    st = pstats.Stats(pr, stream=buf)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue())
    return out


# ------------------------------------------------------------------ generic workers
#
# A benchmark module ("spec") defines:
#   ml4t_strategy(n_assets, n_bars) -> ml4t Strategy subclass
#   ml4t_config() -> dict of run_backtest / Engine keyword arguments
#   ml4t_outcome(result) -> dict (fills, final_value, rejected, ...)
#   bt_strategy(n_assets, n_bars) -> backtrader Strategy subclass
#   bt_config() -> dict(cash=..., commission=...)
#   bt_outcome(strategy, cerebro) -> dict (fills, final_value, rejected, ...)
# and calls worker_main(spec) under ``if __name__ == "__main__"`` when ``--worker`` is given.

def _ml4t_whole(spec, na: int, nb: int) -> None:
    t0 = now()
    import pandas as pd
    from ml4t import run_backtest
    t1 = now()
    from benchmarks.data import bars_parquet
    df = pd.read_parquet(bars_parquet(na, nb))
    t2 = now()
    res = run_backtest(spec.ml4t_strategy(na, nb), df, **spec.ml4t_config())
    t3 = now()
    emit(dict(engine="ml4t", mode="whole", import_s=t1 - t0, read_s=t2 - t1,
              run_backtest_s=t3 - t2, rows=na * nb, **spec.ml4t_outcome(res)))


def _phases(engine, strategy_cls, bd) -> dict | None:
    """Split one warm ``engine.run`` into setup / loop / result through the public API only.

    The strategy is subclassed so that its ``on_bar`` stamps the clock at the first call and
    after the last one: setup = start to first bar callback, loop = first to last bar
    callback (the compiled ``Simulator.run`` plus the strategy's own work), result = last
    callback to return (end-of-data cancels and ``BacktestResult`` building). The stamping
    costs two ``perf_counter`` calls per slice.
    """
    stamps: list[float] = []
    base_on_bar = strategy_cls.on_bar

    class Timed(strategy_cls):
        def on_bar(self, bars):
            if not stamps:
                stamps.append(now())
            base_on_bar(self, bars)
            if len(stamps) == 2:
                stamps[1] = now()
            else:
                stamps.append(now())

    Timed.__name__ = strategy_cls.__name__
    t0 = now()
    engine.run(Timed, bd)
    t1 = now()
    if len(stamps) != 2:
        return None
    return {"setup_s": stamps[0] - t0, "loop_s": stamps[1] - stamps[0],
            "result_s": t1 - stamps[1], "total_s": t1 - t0}


def _ml4t_engine(spec, na: int, nb: int, reps: int) -> None:
    import gc

    t0 = now()
    import pandas as pd
    from ml4t import Engine, run_backtest
    from ml4t.data import load_bars
    t1 = now()
    from benchmarks.data import bars_parquet
    df = pd.read_parquet(bars_parquet(na, nb))
    t2 = now()
    cfg = spec.ml4t_config()
    bd = load_bars(df, calendar=cfg.get("calendar", "XNYS"))
    t3 = now()
    strat = spec.ml4t_strategy(na, nb)

    cpu_warm: list[float] = []

    def engine_run():
        e = Engine(**cfg)
        a, c = now(), time.process_time()
        r = e.run(strat, bd)
        cpu_warm.append(time.process_time() - c)
        return now() - a, r

    cold, res = engine_run()
    cold_cpu = cpu_warm.pop()
    outcome = spec.ml4t_outcome(res)
    del res
    gc.collect()
    warm = []
    for _ in range(reps):
        dt, r = engine_run()
        warm.append(dt)
        del r
        gc.collect()
    parts = []
    for _ in range(reps):
        parts.append(_phases(Engine(**cfg), strat, bd))
        gc.collect()
    rb = []
    for _ in range(reps):
        a = now()
        r = run_backtest(strat, df, **cfg)
        rb.append(now() - a)
        del r
        gc.collect()
    parts = [p for p in parts if p]
    emit(dict(engine="ml4t", mode="engine", import_s=t1 - t0, read_s=t2 - t1,
              load_bars_s=t3 - t2, engine_run_cold_s=cold, engine_run_warm_s=warm,
              engine_run_warm_median_s=median(warm), engine_run_cold_cpu_s=cold_cpu,
              engine_run_warm_cpu_median_s=median(cpu_warm), run_backtest_warm_s=rb,
              run_backtest_warm_median_s=median(rb),
              setup_median_s=median([p["setup_s"] for p in parts]) if parts else None,
              loop_median_s=median([p["loop_s"] for p in parts]) if parts else None,
              result_median_s=median([p["result_s"] for p in parts]) if parts else None,
              rows=na * nb, **outcome))


def _ml4t_profile(spec, na: int, nb: int, name: str) -> None:
    import pandas as pd
    from ml4t import Engine
    from ml4t.data import load_bars
    from benchmarks.data import bars_parquet
    df = pd.read_parquet(bars_parquet(na, nb))
    cfg = spec.ml4t_config()
    bd = load_bars(df, calendar=cfg.get("calendar", "XNYS"))
    strat = spec.ml4t_strategy(na, nb)
    profile_to_file(lambda: Engine(**cfg).run(strat, bd), RESULTS / f"profile_{name}_cold.txt")
    profile_to_file(lambda: Engine(**cfg).run(strat, bd), RESULTS / f"profile_{name}_warm.txt")
    emit(dict(engine="ml4t", mode="profile"))


def _bt(spec, na: int, nb: int) -> None:
    t0 = now()
    import pandas as pd
    import backtrader  # noqa: F401
    t1 = now()
    from benchmarks.data import bars_parquet
    df = pd.read_parquet(bars_parquet(na, nb))
    t2 = now()
    cerebro, _ = bt_cerebro(df, **spec.bt_config())
    cerebro.addstrategy(spec.bt_strategy(na, nb))
    t3 = now()
    strats = cerebro.run()
    t4 = now()
    emit(dict(engine="backtrader", mode="whole", import_s=t1 - t0, read_s=t2 - t1,
              feeds_s=t3 - t2, run_s=t4 - t3, rows=na * nb,
              **spec.bt_outcome(strats[0], cerebro)))


def worker_main(spec, argv: list[str]) -> None:
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--worker", required=True,
                   choices=["ml4t-whole", "ml4t-engine", "ml4t-profile", "bt"])
    p.add_argument("--assets", type=int, required=True)
    p.add_argument("--bars", type=int, required=True)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--name", default="run")
    a = p.parse_args(argv)
    if a.worker == "ml4t-whole":
        _ml4t_whole(spec, a.assets, a.bars)
    elif a.worker == "ml4t-engine":
        _ml4t_engine(spec, a.assets, a.bars, a.reps)
    elif a.worker == "ml4t-profile":
        _ml4t_profile(spec, a.assets, a.bars, a.name)
    else:
        _bt(spec, a.assets, a.bars)


def measure(module: str, name: str, na: int, nb: int, *, runs: int = 5, bt_runs: int = 0,
            engine: bool = True, profile: bool = False) -> dict:
    """All measurements of one workload; each in fresh processes. Returns a JSON-able dict."""
    from benchmarks.data import bars_parquet

    bars_parquet(na, nb)  # make sure the cache exists before any timed process starts
    geo = ["--assets", str(na), "--bars", str(nb)]
    out: dict = {"workload": name, "assets": na, "bars": nb, "rows": na * nb,
                 "loadavg_before": os.getloadavg()[0]}
    if runs:
        whole = repeat_worker(module, ["--worker", "ml4t-whole", *geo], runs, f"{name} ml4t whole")
        out["ml4t_whole"] = summarize(whole, ("wall_s", "cpu_s", "peak_rss_mb", "import_s",
                                              "read_s", "run_backtest_s"))
        out["ml4t_whole"]["peak_rss_max_mb"] = max(r["peak_rss_mb"] for r in whole)
    if engine:
        e = run_worker(module, ["--worker", "ml4t-engine", *geo, "--reps", str(max(runs, 1))])
        print(f"  {name} ml4t engine: cold {e['engine_run_cold_s']:.3f} s, warm "
              f"{e['engine_run_warm_median_s']:.3f} s", file=sys.stderr, flush=True)
        out["ml4t_engine"] = e
    if profile:
        run_worker(module, ["--worker", "ml4t-profile", *geo, "--name", name])
    if bt_runs:
        bts = repeat_worker(module, ["--worker", "bt", *geo], bt_runs, f"{name} backtrader")
        out["bt"] = summarize(bts, ("wall_s", "cpu_s", "peak_rss_mb", "import_s", "read_s",
                                    "feeds_s", "run_s"))
        out["bt"]["peak_rss_max_mb"] = max(r["peak_rss_mb"] for r in bts)
    out["loadavg_after"] = os.getloadavg()[0]
    return out


def fmt_s(x) -> str:
    return "-" if x is None else (f"{x:.3f} s" if x < 10 else f"{x:.1f} s")


def report(results: list[dict]) -> str:
    """A markdown table of whole-process and engine-only times with ratios vs Backtrader."""
    lines = ["| workload | ml4t whole | BT whole | BT/ml4t | ml4t engine cold | ml4t engine warm "
             "| BT cerebro.run | BT/ml4t (engine, warm) | ml4t RSS | BT RSS | fills ml4t / BT "
             "| final value ml4t / BT |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        w = r.get("ml4t_whole", {})
        e = r.get("ml4t_engine", {})
        b = r.get("bt", {})
        ratio = (b["wall_s"] / w["wall_s"]) if b and w else None
        eng_ratio = (b["run_s"] / e["engine_run_warm_median_s"]) if b and e else None
        fills = f"{w.get('fills', e.get('fills', '-'))} / {b.get('fills', '-')}"
        fv_m = w.get("final_value", e.get("final_value"))
        fv_b = b.get("final_value")
        fv = (f"{fv_m:,.2f}" if fv_m is not None else "-") + " / " + \
             (f"{fv_b:,.2f}" if fv_b is not None else "-")
        lines.append(
            f"| {r['workload']} | {fmt_s(w.get('wall_s'))} | {fmt_s(b.get('wall_s'))} | "
            f"{'-' if ratio is None else f'{ratio:.1f}x'} | "
            f"{fmt_s(e.get('engine_run_cold_s'))} | {fmt_s(e.get('engine_run_warm_median_s'))} | "
            f"{fmt_s(b.get('run_s'))} | {'-' if eng_ratio is None else f'{eng_ratio:.0f}x'} | "
            f"{w.get('peak_rss_mb', 0):.0f} MiB | "
            f"{(str(round(b['peak_rss_mb'])) + ' MiB') if b else '-'} | {fills} | {fv} |")
    return "\n".join(lines)
