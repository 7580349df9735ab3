"""W1 memory: peak RSS of a no-op run over bars generated straight into ml4t's columnar form.

The other W1 numbers (``bench_noop.py``) go through pandas and Parquet, whose copies dominate
the process's peak memory. This workload builds the same kind of synthetic random-walk bars
(`benchmarks.data.make_panel`, same seed) directly as the engine's validated columns
(``ml4t.data.BarBatch``: a (ts, asset)-sorted long layout is a row-major ravel of the
(bars, assets) panel), so its peak RSS is the data plus the engine. Each size runs in a fresh
process.

    python -m benchmarks.bench_memory                 # 100 x 2,520 and 1,000 x 2,520
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _worker(n_assets: int, n_bars: int) -> dict:
    import gc

    import numpy as np

    from benchmarks.data import asset_names, make_panel, sessions
    from ml4t import Engine, Strategy
    from ml4t.data import BarBatch, BarData

    def rss_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rss_imports = rss_mib()
    t0 = time.perf_counter()
    panel = make_panel(n_assets, n_bars)
    closes = sessions(n_bars)                       # session closes, UTC
    close_ns = closes.as_unit("ns").asi8
    local_days = (closes.tz_convert("America/New_York").tz_localize(None).normalize()
                  .as_unit("ns").asi8 // 86_400_000_000_000)
    cols = {}
    for name in ("open", "high", "low", "close", "volume"):
        cols[name] = np.ascontiguousarray(panel.pop(name), dtype=np.float64).ravel()
        gc.collect()
    del panel
    gc.collect()
    ts = np.repeat(close_ns, n_assets)
    days = np.repeat(local_days, n_assets)
    asset = np.tile(np.arange(n_assets, dtype=np.int32), n_bars)
    batch = BarBatch(ts=ts, asset=asset, session=days, **cols)
    data = BarData(assets=tuple(asset_names(n_assets)), source="<generated>", calendar="XNYS",
                   extra={}, n_rows=len(ts), batch_rows=None, bars=batch)
    gen_s = time.perf_counter() - t0
    rss_data = rss_mib()

    class Noop(Strategy):
        def on_bar(self, bars):
            pass

    t1 = time.perf_counter()
    result = Engine().run(Noop, data)
    run_s = time.perf_counter() - t1
    assert len(result.portfolio) == n_bars and result.fills.empty
    return dict(assets=n_assets, bars=n_bars, rows=n_assets * n_bars, generate_s=gen_s,
                run_s=run_s, bar_events_per_s=n_assets * n_bars / run_s,
                rss_after_imports_mib=rss_imports, rss_after_data_mib=rss_data,
                peak_rss_mib=rss_mib())


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100x2520,1000x2520")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        na, nb = map(int, args.worker.split("x"))
        print(json.dumps(_worker(na, nb)))
        return []
    out = []
    print("| workload | run (s) | bar-events/s | RSS after imports | RSS with data | peak RSS |")
    print("|---|--:|--:|--:|--:|--:|")
    for size in args.sizes.split(","):
        proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory", "--worker",
                               size], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        out.append(r)
        print(f"| W1 no-op {r['assets']:,} x {r['bars']:,} | {r['run_s']:.3f} | "
              f"{r['bar_events_per_s'] / 1e6:.1f} M | {r['rss_after_imports_mib']:.0f} MiB | "
              f"{r['rss_after_data_mib']:.0f} MiB | {r['peak_rss_mib']:.0f} MiB |")
    return out


if __name__ == "__main__":
    main()
