"""Command line: ``ml4t run STRATEGY.py`` and ``ml4t replay``.

``ml4t run`` loads a strategy file (a module defining one ``Strategy``
subclass, or name it with ``--strategy``), runs it on ``--data`` (default: the
bundled AAPL/IBM/KO/MSFT 2012-2014 daily data), prints a summary and writes
the result tables, metrics, tearsheet and ``run_manifest.json`` to ``--out``.
A strategy file may define ``ENGINE = {...}`` (keyword arguments of
``ml4t.Engine``) and ``PARAMS = {...}`` (strategy parameters); command-line
options override them.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from ml4t.replay import add_parser as add_replay


def _load_module(path: Path):
    if not path.is_file():
        raise SystemExit(f"ml4t: strategy file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"ml4t_user_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _find_strategy(module, name: str | None):
    from ml4t import Strategy

    found = {k: v for k, v in vars(module).items()
             if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
             and v.__module__ == module.__name__}
    if name is not None:
        if name not in found:
            from ml4t.errors import suggest
            hint = suggest(name, list(found))
            raise SystemExit(f"ml4t: no Strategy named {name!r} in {module.__file__}"
                             + (f"; did you mean {hint!r}?" if hint else
                                f" (found: {', '.join(sorted(found)) or 'none'})"))
        return found[name]
    if len(found) != 1:
        raise SystemExit(f"ml4t: {module.__file__} defines {len(found)} Strategy subclasses "
                         f"({', '.join(sorted(found)) or 'none'}); pick one with --strategy")
    return next(iter(found.values()))


def cmd_run(args) -> int:
    from ml4t import Engine
    from ml4t.models import PercentCommission

    path = Path(args.strategy_file)
    module = _load_module(path)
    cls = _find_strategy(module, args.strategy)
    config = dict(getattr(module, "ENGINE", {}))
    params = dict(getattr(module, "PARAMS", {}))
    if args.cash is not None:
        config["cash"] = args.cash
    if args.fill is not None:
        config["fill"] = args.fill
    if args.commission_pct is not None:
        config["commission"] = PercentCommission(args.commission_pct)
    if args.start is not None:
        config["start"] = args.start
    if args.end is not None:
        config["end"] = args.end
    for kv in args.param or []:
        if "=" not in kv:
            raise SystemExit(f"ml4t: --param expects NAME=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        params[k] = _literal(v)
    if args.data is None:
        from ml4t.datasets import data_dir
        data = data_dir()
    else:
        data = args.data
    out = Path(args.out) if args.out else Path("results") / path.stem
    result = Engine(**config).run(cls, data, params=params, out=out)
    print(f"{cls.__name__} on {data}")
    print(result.summary())
    print(f"results written to {out}/ (tables as Parquet, metrics.json, tearsheet.png, "
          f"run_manifest.json)")
    return 0


def cmd_zipline(args) -> int:
    from ml4t.compat.zipline.__main__ import cli
    return cli(list(args.args))


def _literal(v: str):
    import ast
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ml4t", description="ml4t: event-driven backtesting "
                                "with a compiled core.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run a strategy file and write its results")
    r.add_argument("strategy_file", help="Python file defining a ml4t.Strategy subclass")
    r.add_argument("--strategy", help="name of the Strategy class (if the file has several)")
    r.add_argument("--data", help="CSV/Parquet file or csvdir folder (default: bundled "
                   "AAPL/IBM/KO/MSFT 2012-2014 daily data)")
    r.add_argument("--cash", type=float, help="starting cash")
    r.add_argument("--fill", choices=["next_open", "next_close", "same_close"])
    r.add_argument("--commission-pct", type=float, help="commission as a fraction of notional")
    r.add_argument("--start", help="first timestamp to use")
    r.add_argument("--end", help="last timestamp to use")
    r.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="strategy parameter (repeatable)")
    r.add_argument("--out", help="output directory (default: results/<file stem>)")
    r.set_defaults(func=cmd_run)
    add_replay(sub)
    z = sub.add_parser("zipline", help="run a Zipline algorithm file through the Zipline "
                       "compatibility shim: ml4t zipline run -f algo.py --start ... --end ...",
                       add_help=False)
    z.add_argument("args", nargs=argparse.REMAINDER)
    z.set_defaults(func=cmd_zipline)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
