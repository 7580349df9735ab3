"""Command line twin of ``zipline run``::

    python -m ml4t.compat.zipline run -f algo.py --start 2012-01-03 --end 2014-12-31 \\
        -b data/raw --capital-base 100000 -o perf.pickle

``-b/--bundle`` is a csvdir folder or a bundle name registered by ``--extension`` files
(``ml4t.compat.zipline.data.bundles.register``); ``csvdir`` reads ``$CSVDIR``. The
algorithm file defines ``initialize`` and optionally ``handle_data``,
``before_trading_start`` and ``analyze``, importing the API from
``ml4t.compat.zipline.api``. ``-o`` writes the perf DataFrame: ``.pickle`` as is,
``.parquet``/``.csv`` with the ``orders``, ``transactions`` and ``positions`` columns as
JSON text (assets by symbol); ``-`` prints it.
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import sys

__all__ = ["main", "cli", "build_parser", "write_perf"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml4t.compat.zipline",
                                     description="Run Zipline algorithms on the ml4t engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a Zipline algorithm file")
    run.add_argument("-f", "--algofile", required=True, help="the algorithm's Python file")
    run.add_argument("-s", "--start", required=True, help="first session (YYYY-MM-DD)")
    run.add_argument("-e", "--end", required=True, help="last session (YYYY-MM-DD)")
    run.add_argument("-b", "--bundle", default="csvdir",
                     help="csvdir folder or registered bundle name (default: csvdir = $CSVDIR)")
    run.add_argument("--capital-base", type=float, default=10_000_000.0)
    run.add_argument("-o", "--output", default="-",
                     help="out.pickle, out.parquet, out.csv or - to print (default)")
    run.add_argument("--data-frequency", default="daily", choices=["daily"])
    run.add_argument("--metrics-set", default="default", choices=["default", "none", "classic"])
    run.add_argument("--benchmark-file", help="CSV with date,return columns")
    run.add_argument("--benchmark-symbol", help="use this asset's returns as benchmark")
    run.add_argument("--no-benchmark", action="store_true", help="zero benchmark (default)")
    run.add_argument("--price-adjustment", default="detect",
                     choices=["detect", "raw", "split_adjusted"],
                     help="how to read prices next to a split column of a csvdir folder")
    run.add_argument("-x", "--extension", action="append", default=[],
                     help="Python file(s) to run first, e.g. to register bundles")
    run.add_argument("-D", "--define", action="append", default=[],
                     help="name=value, evaluated into the algorithm's namespace")
    run.add_argument("--trading-calendar", default=None)
    return parser


def _jsonable(value):
    from ml4t.compat.zipline.assets import Asset
    if isinstance(value, Asset):
        return value.symbol
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return str(value)


def _flatten(perf):
    out = perf.copy()
    for col in ("orders", "transactions", "positions"):
        if col in out.columns:
            out[col] = [json.dumps([{k: _jsonable(v) for k, v in d.items()} for d in items])
                        for items in out[col]]
    for col in out.columns:
        if out[col].dtype == object and col not in ("orders", "transactions", "positions"):
            out[col] = out[col].map(lambda v: v if isinstance(v, str) or v is None else
                                    _jsonable(v))
    return out


def write_perf(perf, path: str) -> None:
    """Write the perf frame to ``path`` (``.pickle``, ``.parquet``, ``.csv``) or print it."""
    if path == "-":
        import pandas as pd
        with pd.option_context("display.width", 200, "display.max_columns", 12):
            print(perf[["portfolio_value", "ending_cash", "returns", "pnl"]])
        return
    lower = path.lower()
    if lower.endswith((".pickle", ".pkl")):
        perf.to_pickle(path)
    elif lower.endswith((".parquet", ".pq")):
        _flatten(perf).to_parquet(path)
    elif lower.endswith(".csv"):
        _flatten(perf).to_csv(path)
    else:
        raise SystemExit(f"unknown output format for {path!r}: use .pickle, .parquet or .csv")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import pandas as pd

    from ml4t.compat.zipline import run_algorithm
    from ml4t.compat.zipline.algorithm import loader_of_file
    from ml4t.compat.zipline.data import bundles
    from ml4t.compat.zipline.data.bundles.csvdir import csvdir_equities

    for ext in args.extension:
        runpy.run_path(ext, run_name="__zipline_extension__")
    bundle = args.bundle
    if os.path.isdir(bundle) and bundle not in bundles.bundles:
        name = f"csvdir:{os.path.abspath(bundle)}:{args.price_adjustment}"
        if name not in bundles.bundles:
            bundles.register(name, csvdir_equities(["daily"], bundle,
                                                   price_adjustment=args.price_adjustment),
                             calendar_name=args.trading_calendar or "XNYS")
        bundle = name
    namespace: dict = {}
    for assign in args.define:
        name, sep, value = assign.partition("=")
        if not sep:
            raise SystemExit(f"invalid define {assign!r}: use name=value")
        namespace[name] = eval(value, namespace)  # noqa: S307 - the user's own expression
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.algofile)))
    namespace = runpy.run_path(args.algofile, init_globals=namespace,
                               run_name="__zipline_algorithm__")
    if "initialize" not in namespace:
        raise SystemExit(f"{args.algofile} defines no initialize(context)")
    benchmark = None
    if args.benchmark_file:
        frame = pd.read_csv(args.benchmark_file, index_col=0, parse_dates=True)
        benchmark = frame.iloc[:, 0]
    user_init = namespace["initialize"]
    initialize = user_init
    if args.benchmark_symbol and not args.no_benchmark:
        def initialize(context, _init=user_init, _sym=args.benchmark_symbol):
            from ml4t.compat.zipline.api import set_benchmark, symbol
            set_benchmark(symbol(_sym))
            _init(context)
    perf = run_algorithm(start=pd.Timestamp(args.start), end=pd.Timestamp(args.end),
                         initialize=initialize, handle_data=namespace.get("handle_data"),
                         before_trading_start=namespace.get("before_trading_start"),
                         analyze=namespace.get("analyze"), capital_base=args.capital_base,
                         data_frequency=args.data_frequency, bundle=bundle,
                         metrics_set=args.metrics_set, benchmark_returns=benchmark,
                         custom_loader=loader_of_file(namespace, bundle))
    write_perf(perf, args.output)
    return 0


def cli(argv=None) -> int:
    """``main`` for command lines: known errors become one line on stderr and exit code 2."""
    from ml4t.compat.zipline.errors import ZiplineError
    from ml4t.errors import Ml4tError
    try:
        return main(argv)
    except (Ml4tError, ZiplineError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
