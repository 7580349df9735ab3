"""``ml4t replay``: re-run golden scenarios and compare their outputs byte for byte.

A golden scenario is a folder ``golden/<name>/`` holding

* ``scenario.toml``: data, strategy, engine settings and seed (format below);
* its input files: the bar data and the strategy file, inside the folder;
* ``inputs.sha256``: the SHA-256 of every input file (``sha256sum`` format,
  paths relative to the folder), checked *before* anything runs;
* ``expected/``: one CSV per table of the result (``portfolio.csv``,
  ``positions.csv``, ``orders.csv``, ``fills.csv``, ``trades.csv``,
  ``corporate_actions.csv``, i.e. ``ml4t.result.TABLES``) as written by
  ``BacktestResult.to_csv(dir, float_format=FLOAT_FORMAT)``;
* ``README.md``: the hand calculation of the key numbers.

``scenario.toml``::

    [scenario]
    name = "basics"                       # a title; the table shows the folder name
    description = "market, limit and stop orders on eight hand-made bars"

    [data]
    path = "bars.csv"                     # CSV/Parquet file or csvdir folder, in the folder
    calendar = "XNYS"                     # default "XNYS"; false = no calendar
    # start = "2013-05-15", end = "2013-08-07"   (optional, as in ml4t.Engine)

    [strategy]
    file = "strategy.py"
    class = "Basics"                      # optional when the file defines one Strategy
    params = { size = 100 }               # optional

    [engine]                              # keyword arguments of ml4t.Engine
    cash = 100000
    fill = "next_open"
    commission = { model = "PercentCommission", rate = 0.001 }
    slippage = { model = "FixedBpsSlippage", bps = 5 }
    seed = 0

Cost models are resolved from :mod:`ml4t.models` by name, the other keys of the
table being the model's keyword arguments. Unknown sections, keys and model
names raise and suggest the closest spelling.

``[strategy] kind`` selects how the strategy file is driven (default ``"native"``,
as above):

* ``kind = "backtrader"``: the file defines a ``bt.Strategy`` subclass of
  :mod:`ml4t.compat.backtrader` (``class`` names it; ``params`` go to
  ``cerebro.addstrategy``). ``[data] path`` is one CSV file read as a feed
  (``feed = "yahoo"`` (default, ``YahooFinanceCSVData``), ``"backtrader"`` or
  ``"generic"``; ``name`` names the feed, default the file stem; ``start``/``end``
  become ``fromdate``/``todate``; ``timeframe`` (a ``bt.TimeFrame`` name such as
  ``"Minutes"``) and ``compression`` describe intraday files; ``resample = {
  timeframe = "Minutes", compression = 15 }`` also adds the feed resampled, as
  ``cerebro.resampledata``, named ``name`` (default the feed's name + ``"_resampled"``),
  with ``bar2edge``/``adjbartime``/``rightedge``/``boundoff`` passed on).
  ``[engine]`` takes ``cash`` and ``commission``
  (``broker.setcommission(commission=...)``). Outputs: the native tables plus
  ``bt_orders.csv``, ``bt_trades.csv`` and ``bt_value.csv`` (see ``BT_FILES``; their
  ``date`` column holds the time too when the first feed is intraday).
* ``kind = "zipline"``: the file defines ``initialize``, ``handle_data`` and
  optionally ``before_trading_start`` and ``custom_loader`` (pipeline loaders, a mapping
  or a function of the bundle data; ``analyze`` is not called);
  ``ml4t.compat.zipline.run_algorithm`` runs them with ``[data] start``/``end``
  (required), the csvdir folder ``[data] path`` as bundle and ``[engine]
  capital_base``. Outputs: the native tables plus ``zl_perf.csv`` and
  ``zl_transactions.csv`` (see ``ZL_FILES``).

Each scenario runs in its own process (``python -m ml4t replay --one DIR --out
OUT``, an internal entry point), which writes the tables as CSV and Parquet and a
``run_manifest.json``. The parent compares each expected CSV with its fresh twin
byte for byte and prints one line per scenario (``ok``, ``differs``, ``error``
or ``refused``, runtime, rows compared) and, for a difference, the first
differing row with expected and actual values side by side. ``--update``
rewrites ``expected/`` and ``inputs.sha256`` and prints what changed; nothing
else ever writes to a scenario folder.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml4t.errors import Ml4tError, suggest
from ml4t.result import OPTIONAL_TABLES, TABLES

__all__ = ["Scenario", "ScenarioError", "load_scenario", "check_inputs", "compare_outputs",
           "replay", "add_parser"]

FLOAT_FORMAT = "%.10g"
"""Float format of every golden CSV: 10 significant digits, no trailing zeros.

Readable (``90040.05``, not ``90040.04999999999``) and exact enough for prices
and cash, while last-bit noise of the float arithmetic does not show.
"""

SCENARIO_FILE = "scenario.toml"
HASH_FILE = "inputs.sha256"
EXPECTED_DIR = "expected"
OUTPUT_FILES = tuple(f"{t}.csv" for t in TABLES)
"""Every table of a ``BacktestResult`` is compared; a new table needs ``--update``."""
OPTIONAL_FILES = tuple(f"{t}.csv" for t in OPTIONAL_TABLES)
"""Written only when they have rows (futures, currencies); compared when either side has one."""
BT_FILES = ("bt_orders.csv", "bt_trades.csv", "bt_value.csv")
"""Backtrader-shim outputs, beside the native tables of the run the shim drove.

``bt_orders.csv``: every ``notify_order`` (date of the bar before whose ``next()`` it
is delivered, ref, data, side, exectype, status, created size/price, executed
size/price/value/comm); ``bt_trades.csv``: every ``notify_trade`` (date, ref, data,
status, size, price, value, commission, pnl, pnlcomm, open and close dates);
``bt_value.csv``: ``broker.getcash()`` and ``getvalue()`` after every bar.
"""
ZL_FILES = ("zl_perf.csv", "zl_transactions.csv")
"""Zipline-shim outputs, beside the native tables: ``zl_perf.csv`` holds the perf
columns ``portfolio_value``, ``ending_cash``, ``returns`` and the recorded variables (in
the order first recorded) by session close (UTC);
``zl_transactions.csv`` one row per transaction (``dt, sid`` (symbol),
``amount, price, commission, order_id``)."""
KINDS = {"native": (), "backtrader": BT_FILES, "zipline": ZL_FILES}
SECTIONS = {
    "scenario": ("name", "description"),
    "data": ("path", "calendar", "start", "end"),
    "strategy": ("file", "class", "params", "kind"),
}
SHIM_DATA_KEYS = {"backtrader": ("path", "feed", "name", "start", "end", "timeframe",
                                  "compression", "resample"),
                  "zipline": ("path", "start", "end")}
SHIM_ENGINE_KEYS = {"backtrader": ("cash", "commission"), "zipline": ("capital_base",)}
BT_FEEDS = {"yahoo": "YahooFinanceCSVData", "backtrader": "BacktraderCSVData",
            "generic": "GenericCSVData"}
BT_TIMEFRAMES = ("Ticks", "MicroSeconds", "Seconds", "Minutes", "Days", "Weeks", "Months",
                 "Years")
BT_RESAMPLE_KEYS = ("timeframe", "compression", "name", "bar2edge", "adjbartime",
                    "rightedge", "boundoff")
MODEL_KEYS = {"commission": "CommissionModel", "slippage": "SlippageModel"}
TABLE_KEYS = ("funding", "fx", "corporate_actions")
"""Engine options that take a DataFrame: in ``[engine]`` a CSV file in the folder."""
CONTRACT_KINDS = ("ContractSpec", "Future", "ContinuousFuture")
SUBPROCESS_TIMEOUT = 600


class ScenarioError(Ml4tError, ValueError):
    """A scenario folder or its ``scenario.toml`` is malformed; names the file and key."""


class InputsRefused(Ml4tError):
    """The recorded input hashes do not match the files: replay refuses to compare.

    ``problems`` lists one sentence per file, each naming it.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


# --------------------------------------------------------------------------- scenario files
def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ScenarioError(f"{path}: reading scenario.toml needs Python 3.11+ (tomllib) "
                                "or the 'tomli' package") from None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None


def _check_keys(path: Path, section: str, table: Any, allowed) -> dict:
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: [{section}] must be a table, got {table!r}")
    for key in table:
        if key not in allowed:
            hint = suggest(key, allowed)
            raise ScenarioError(f"{path}: unknown key {key!r} in [{section}]"
                                + (f"; did you mean {hint!r}?" if hint else
                                   f" (known: {', '.join(allowed)})"))
    return table


def _inside(root: Path, rel: Any, path: Path, key: str) -> Path:
    if not isinstance(rel, str) or not rel:
        raise ScenarioError(f"{path}: {key} must be a relative path (a string), got {rel!r}")
    p = (root / rel).resolve()
    if not p.is_relative_to(root.resolve()):
        raise ScenarioError(f"{path}: {key} = {rel!r} points outside the scenario folder; "
                            "copy the input into the folder so its hash is recorded")
    return p


def _plain(value):
    """TOML dates/times as ISO strings (pandas reads them; the manifest stays JSON)."""
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return value


@dataclass
class Scenario:
    """One golden scenario, read from ``<folder>/scenario.toml``.

    Attributes
    ----------
    root : Path
        The scenario folder.
    name, description : str
    data_path : Path
        Bar data (file or csvdir folder) inside ``root``.
    calendar : str or None
    start, end : str or None
    strategy_file : Path
    strategy_class : str or None
    params : dict
    engine : dict
        ``[engine]`` as written (models still as tables).
    """

    root: Path
    name: str
    description: str
    data_path: Path
    calendar: str | None
    start: Any
    end: Any
    strategy_file: Path
    strategy_class: str | None
    params: dict = field(default_factory=dict)
    engine: dict = field(default_factory=dict)
    kind: str = "native"
    data: dict = field(default_factory=dict)

    @property
    def output_files(self) -> tuple[str, ...]:
        """The CSV files compared for this scenario: every native table plus the kind's."""
        return OUTPUT_FILES + KINDS[self.kind]

    @property
    def toml_path(self) -> Path:
        return self.root / SCENARIO_FILE

    def input_files(self) -> list[Path]:
        """Every input file: ``scenario.toml``, the strategy file and the data file(s)."""
        files = {self.toml_path.resolve(), self.strategy_file}
        files.update(self.table_paths().values())
        if self.data_path.is_dir():
            files.update(f for f in self.data_path.rglob("*") if f.is_file())
        else:
            files.add(self.data_path)
        return sorted(files)

    def rel(self, p: Path) -> str:
        return p.resolve().relative_to(self.root.resolve()).as_posix()

    def table_paths(self) -> dict[str, Path]:
        """CSV inputs of table-valued engine options (``funding = "funding.csv"``)."""
        out = {key: _inside(self.root, self.engine[key], self.toml_path, f"engine.{key}")
               for key in TABLE_KEYS if key in self.engine}
        for key, p in out.items():
            if not p.is_file():
                raise ScenarioError(f"{self.toml_path}: [engine] {key} = "
                                    f"{self.engine[key]!r}: no such file")
        return out

    def engine_kwargs(self) -> dict:
        """``[engine]`` resolved into keyword arguments of :class:`ml4t.Engine`.

        Raises
        ------
        ScenarioError
            Unknown engine key or cost model, or bad model arguments.
        """
        from ml4t import models
        from ml4t.engine import Engine

        allowed = [n for n, p in inspect.signature(Engine.__init__).parameters.items()
                   if p.kind is p.KEYWORD_ONLY and n not in ("calendar", "start", "end")]
        path = self.toml_path
        for key in ("calendar", "start", "end"):
            if key in self.engine:
                raise ScenarioError(f"{path}: set {key!r} in [data], not in [engine]")
        _check_keys(path, "engine", self.engine, allowed)
        kwargs = {}
        tables = self.table_paths()
        for key, value in self.engine.items():
            if key in MODEL_KEYS:
                value = _model(path, key, value, getattr(models, MODEL_KEYS[key]))
            elif key in tables:
                import pandas as pd
                kwargs[key] = pd.read_csv(tables[key])
                continue
            elif key == "contracts":
                kwargs[key] = _contracts(path, value)
                continue
            kwargs[key] = _plain(value)
        kwargs["calendar"] = self.calendar
        kwargs["start"] = self.start
        kwargs["end"] = self.end
        return kwargs

    def strategy(self):
        """The Strategy subclass named by ``[strategy]`` (the file is imported)."""
        from ml4t.cli import _find_strategy, _load_module

        return _find_strategy(_load_module(self.strategy_file), self.strategy_class)


def _check_bt_timeframes(path: Path, data: dict) -> None:
    """``[data] timeframe``/``compression`` and the ``resample`` table of a Backtrader
    scenario: known time-frame names, positive whole compressions, known keys."""
    def frame(where, table):
        tf = table.get("timeframe")
        if tf is not None and tf not in BT_TIMEFRAMES:
            hint = suggest(str(tf), list(BT_TIMEFRAMES))
            raise ScenarioError(f"{path}: {where} timeframe = {tf!r} is not a bt.TimeFrame "
                                "name" + (f"; did you mean {hint!r}?" if hint else
                                          f" (known: {', '.join(BT_TIMEFRAMES)})"))
        comp = table.get("compression", 1)
        if isinstance(comp, bool) or not isinstance(comp, int) or comp < 1:
            raise ScenarioError(f"{path}: {where} compression must be a positive integer, "
                                f"got {comp!r}")

    frame("[data]", data)
    resample = data.get("resample")
    if resample is not None:
        _check_keys(path, "data.resample", resample, BT_RESAMPLE_KEYS)
        if "timeframe" not in resample:
            raise ScenarioError(f"{path}: [data] resample needs 'timeframe'")
        frame("[data] resample", resample)


def _contracts(path: Path, value) -> dict:
    """``contracts = { ESH24 = { kind = "Future", root = "ES", ... }, ES = { kind =
    "ContinuousFuture", roll = "days", days = 1 } }`` into specification objects."""
    import ml4t

    if not isinstance(value, dict):
        raise ScenarioError(f"{path}: [engine] contracts must be a table of tables, got {value!r}")
    out = {}
    for name, spec in value.items():
        args = dict(spec) if isinstance(spec, dict) else {}
        kind = args.pop("kind", "ContractSpec")
        if kind not in CONTRACT_KINDS:
            hint = suggest(str(kind), CONTRACT_KINDS)
            raise ScenarioError(f"{path}: [engine] contracts.{name}: unknown kind {kind!r}"
                                + (f"; did you mean {hint!r}?" if hint else
                                   f" (known: {', '.join(CONTRACT_KINDS)})"))
        try:
            out[name] = getattr(ml4t, kind)(**args)
        except (TypeError, ValueError) as e:
            raise ScenarioError(f"{path}: [engine] contracts.{name}: {e}") from None
    return out


def _model(path: Path, key: str, value, base):
    from ml4t import models

    if isinstance(value, str):
        value = {"model": value}
    if not isinstance(value, dict) or "model" not in value:
        raise ScenarioError(f"{path}: [engine] {key} must be a model name or a table "
                            f"{{model = \"...\", ...}}, got {value!r}")
    args = dict(value)
    name = args.pop("model")
    known = sorted(n for n in models.__all__
                   if isinstance(getattr(models, n), type) and issubclass(getattr(models, n), base)
                   and getattr(models, n) is not base)
    if name not in known:
        hint = suggest(name, known)
        raise ScenarioError(f"{path}: [engine] {key}: unknown model {name!r}"
                            + (f"; did you mean {hint!r}?" if hint else
                               f" (known: {', '.join(known)})"))
    if name == "PerAssetCommission":               # its models are tables themselves
        table = args.get("models")
        if not isinstance(table, dict):
            raise ScenarioError(f"{path}: [engine] {key}: PerAssetCommission needs models = "
                                f"{{ ASSET = {{ model = \"...\", ... }}, ... }}, got {table!r}")
        args["models"] = {asset: _model(path, f"{key}.models.{asset}", v, base)
                          for asset, v in table.items()}
        if args.get("default") is not None:
            args["default"] = _model(path, f"{key}.default", args["default"], base)
    try:
        return getattr(models, name)(**args)
    except (TypeError, ValueError) as e:
        raise ScenarioError(f"{path}: [engine] {key} = {value!r}: {e}") from None


def load_scenario(folder) -> Scenario:
    """Read ``folder/scenario.toml``.

    Raises
    ------
    ScenarioError
        Missing file, invalid TOML, unknown section or key, a missing required key,
        or an input path outside the folder.
    """
    root = Path(folder)
    path = root / SCENARIO_FILE
    if not path.is_file():
        raise ScenarioError(f"{root}: not a golden scenario (no {SCENARIO_FILE})")
    doc = _read_toml(path)
    _check_keys(path, "top level", doc, list(SECTIONS) + ["engine"])
    sc = _check_keys(path, "scenario", doc.get("scenario", {}), SECTIONS["scenario"])
    strat = _check_keys(path, "strategy", doc.get("strategy", {}), SECTIONS["strategy"])
    kind = strat.get("kind", "native")
    if kind not in KINDS:
        hint = suggest(str(kind), list(KINDS))
        raise ScenarioError(f"{path}: [strategy] kind = {kind!r} is not a known kind"
                            + (f"; did you mean {hint!r}?" if hint else "")
                            + f" (known: {', '.join(KINDS)})")
    data = _check_keys(path, "data", doc.get("data", {}),
                       SHIM_DATA_KEYS.get(kind, SECTIONS["data"]))
    engine = doc.get("engine", {})
    if not isinstance(engine, dict):
        raise ScenarioError(f"{path}: [engine] must be a table")
    if kind != "native":
        _check_keys(path, "engine", engine, SHIM_ENGINE_KEYS[kind])
    if kind == "backtrader" and data.get("feed", "yahoo") not in BT_FEEDS:
        hint = suggest(str(data["feed"]), list(BT_FEEDS))
        raise ScenarioError(f"{path}: [data] feed = {data['feed']!r} is not a known feed"
                            + (f"; did you mean {hint!r}?" if hint else "")
                            + f" (known: {', '.join(BT_FEEDS)})")
    if kind == "backtrader":
        _check_bt_timeframes(path, data)
    if kind == "zipline":
        for key in ("start", "end"):
            if key not in data:
                raise ScenarioError(f"{path}: [data] needs {key!r} for kind = \"zipline\"")
        for key in ("class", "params"):
            if key in strat:
                raise ScenarioError(f"{path}: [strategy] {key} does not apply to kind = "
                                    "\"zipline\" (the file defines initialize/handle_data)")
    for section, table, key in (("data", data, "path"), ("strategy", strat, "file")):
        if key not in table:
            raise ScenarioError(f"{path}: [{section}] needs {key!r}")
    data_path = _inside(root, data["path"], path, "[data] path")
    strategy_file = _inside(root, strat["file"], path, "[strategy] file")
    for p, key in ((data_path, "[data] path"), (strategy_file, "[strategy] file")):
        if not p.exists():
            raise ScenarioError(f"{path}: {key}: {p.relative_to(root.resolve())} does not "
                                "exist (missing input)")
    calendar = data.get("calendar", "XNYS")
    if calendar is False:
        calendar = None
    elif not isinstance(calendar, str):
        raise ScenarioError(f"{path}: [data] calendar must be a calendar name or false, "
                            f"got {calendar!r}")
    params = strat.get("params", {})
    if not isinstance(params, dict):
        raise ScenarioError(f"{path}: [strategy] params must be a table, got {params!r}")
    return Scenario(root=root, name=str(sc.get("name", root.name)),
                    description=str(sc.get("description", "")), data_path=data_path,
                    calendar=calendar, start=_plain(data.get("start")),
                    end=_plain(data.get("end")), strategy_file=strategy_file,
                    strategy_class=strat.get("class"),
                    params={k: _plain(v) for k, v in params.items()}, engine=dict(engine),
                    kind=kind, data={k: _plain(v) for k, v in data.items()})


# ------------------------------------------------------------------------------ input hashes
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_hashes(folder) -> dict[str, str]:
    """``inputs.sha256`` as ``{relative path: hex digest}``.

    Raises
    ------
    ScenarioError
        A malformed line.
    """
    path = Path(folder) / HASH_FILE
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise ScenarioError(f"{path}, line {n}: expected '<sha256>  <relative path>', "
                                f"got {line!r}")
        out[name] = digest
    return out


def current_hashes(scenario: Scenario) -> dict[str, str]:
    """SHA-256 of every input file of ``scenario`` now, by relative path (sorted)."""
    return {scenario.rel(p): _sha256(p) for p in scenario.input_files()}


def write_hashes(folder, hashes: dict[str, str]) -> Path:
    path = Path(folder) / HASH_FILE
    path.write_text("".join(f"{h}  {name}\n" for name, h in sorted(hashes.items())))
    return path


def check_inputs(folder) -> Scenario:
    """Check every input of a scenario against ``inputs.sha256``; return the scenario.

    The recorded files are checked first (``scenario.toml`` among them), then the
    scenario is read and every input it uses must be recorded.

    Raises
    ------
    InputsRefused
        No ``inputs.sha256``, a recorded file missing or changed, or an input
        that is not recorded; one sentence per file, naming it.
    """
    root = Path(folder)
    if not (root / HASH_FILE).is_file():
        raise InputsRefused([f"{HASH_FILE} is missing, so the inputs cannot be verified "
                             f"(record them with `ml4t replay {root} --update`)"])
    recorded = read_hashes(root)
    problems = []
    for name, digest in sorted(recorded.items()):
        p = root / name
        if not p.is_file():
            problems.append(f"input {name} is missing")
        else:
            now = _sha256(p)
            if now != digest:
                problems.append(f"input {name} has changed (SHA-256 recorded "
                                f"{digest[:12]}..., now {now[:12]}...)")
    if problems:
        raise InputsRefused(problems)
    scenario = load_scenario(root)
    unrecorded = [scenario.rel(p) for p in scenario.input_files()
                  if scenario.rel(p) not in recorded]
    if unrecorded:
        raise InputsRefused([f"input {name} is not recorded in {HASH_FILE}"
                             for name in unrecorded])
    return scenario


# ------------------------------------------------------------------------ one run (child)
def run_scenario(folder, out) -> Path:
    """Run one scenario in this process and write its outputs into ``out``.

    Writes ``<table>.csv`` (``FLOAT_FORMAT``), ``<table>.parquet`` and
    ``run_manifest.json``. Used by the ``--one`` entry point; ``replay`` calls
    it in a child process so scenarios cannot affect each other.
    """
    from ml4t.engine import Engine
    from ml4t.manifest import RunClock, jsonable, write_manifest

    clock = RunClock()
    sys.dont_write_bytecode = True        # no __pycache__ inside a scenario folder
    scenario = load_scenario(folder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if scenario.kind == "backtrader":
        result, kwargs, cls_name = _run_backtrader(scenario, out)
    elif scenario.kind == "zipline":
        result, kwargs, cls_name = _run_zipline(scenario, out)
    else:
        kwargs = scenario.engine_kwargs()
        cls = scenario.strategy()
        result = Engine(**kwargs).run(cls, str(scenario.data_path), params=scenario.params)
        cls_name = cls.__name__
    result.to_csv(out, float_format=FLOAT_FORMAT)
    result.to_parquet(out)
    manifest = dict(result.manifest)
    manifest["timing"] = clock.finish()
    manifest["scenario"] = jsonable({
        "name": scenario.name, "folder": str(scenario.root.resolve()),
        "description": scenario.description,
        "data": {"path": scenario.rel(scenario.data_path), "calendar": scenario.calendar,
                 "start": scenario.start, "end": scenario.end},
        "strategy": {"file": scenario.rel(scenario.strategy_file), "kind": scenario.kind,
                     "class": cls_name, "params": scenario.params},
        "engine": kwargs,
        "float_format": FLOAT_FORMAT,
        "inputs_sha256": current_hashes(scenario),
    })
    write_manifest(out / "run_manifest.json", manifest)
    return out


def _write_csv(path: Path, columns: list[str], rows: list) -> None:
    import pandas as pd

    pd.DataFrame(rows, columns=columns).to_csv(path, index=False, float_format=FLOAT_FORMAT)


def _run_backtrader(scenario: Scenario, out: Path):
    """Run a ``kind = "backtrader"`` scenario through the shim's Cerebro; write BT_FILES."""
    import ml4t.compat.backtrader as bt
    from ml4t.cli import _load_module

    module = _load_module(scenario.strategy_file)
    found = {n: c for n, c in vars(module).items() if isinstance(c, type)
             and issubclass(c, bt.Strategy) and c is not bt.Strategy
             and c.__module__ == module.__name__}
    name = scenario.strategy_class
    if name is None:
        if len(found) != 1:
            raise ScenarioError(f"{scenario.toml_path}: [strategy] class is needed: "
                                f"{scenario.rel(scenario.strategy_file)} defines "
                                f"{len(found)} bt.Strategy subclasses ({', '.join(found)})")
        name = next(iter(found))
    if name not in found:
        hint = suggest(name, list(found))
        raise ScenarioError(f"{scenario.toml_path}: [strategy] class {name!r} is not a "
                            f"bt.Strategy subclass in {scenario.rel(scenario.strategy_file)}"
                            + (f"; did you mean {hint!r}?" if hint else ""))
    d = scenario.data
    feed_kw = {"dataname": str(scenario.data_path)}
    if d.get("start"):
        feed_kw["fromdate"] = _dt.datetime.fromisoformat(str(d["start"]))
    if d.get("end"):
        feed_kw["todate"] = _dt.datetime.fromisoformat(str(d["end"]))
    feed_name = d.get("feed", "yahoo")
    if feed_name == "generic":
        feed_kw["dtformat"] = "%Y-%m-%d"
    if d.get("timeframe"):
        feed_kw["timeframe"] = getattr(bt.TimeFrame, d["timeframe"])
        feed_kw["compression"] = d.get("compression", 1)
    feed = getattr(bt.feeds, BT_FEEDS[feed_name])(**feed_kw)
    intraday = feed_kw.get("timeframe", bt.TimeFrame.Days) < bt.TimeFrame.Days
    orders, trades, values = [], [], []

    class _Recorder(bt.Analyzer):
        def _date(self):
            clock = self.strategy.datas[0].datetime
            return (clock.datetime(0) if intraday else clock.date(0)).isoformat()

        def notify_order(self, o):
            orders.append([self._date(), o.ref, o.data._name, "buy" if o.isbuy() else "sell",
                           bt.Order.ExecTypes[o.exectype], o.getstatusname(),
                           o.created.size, o.created.price, o.executed.size,
                           o.executed.price, o.executed.value, o.executed.comm])

        def notify_trade(self, t):
            status = t.status_names[t.status].lower()
            trades.append([self._date(), t.ref, t.data._name, status, t.size, t.price, t.value,
                           t.commission, t.pnl, t.pnlcomm,
                           t.open_datetime().date().isoformat() if t.dtopen else "",
                           t.close_datetime().date().isoformat() if t.isclosed else ""])

        def next(self):
            b = self.strategy.broker
            values.append([self._date(), b.getcash(), b.getvalue()])

    cerebro = bt.Cerebro()
    feed_label = d.get("name", scenario.data_path.stem)
    cerebro.adddata(feed, name=feed_label)
    resample = dict(d.get("resample") or {})
    if resample:
        resample["timeframe"] = getattr(bt.TimeFrame, resample["timeframe"])
        cerebro.resampledata(feed, name=resample.pop("name", feed_label + "_resampled"),
                             **resample)
    cerebro.addstrategy(found[name], **scenario.params)
    engine = dict(scenario.engine)
    if "cash" in engine:
        cerebro.broker.setcash(engine["cash"])
    if "commission" in engine:
        cerebro.broker.setcommission(commission=engine["commission"])
    cerebro.addanalyzer(_Recorder, _name="ml4t_replay")
    cerebro.run()
    _write_csv(out / "bt_orders.csv", ["date", "ref", "data", "side", "exectype", "status",
                                        "created_size", "created_price", "executed_size",
                                        "executed_price", "executed_value", "executed_comm"],
               orders)
    _write_csv(out / "bt_trades.csv", ["date", "ref", "data", "status", "size", "price",
                                        "value", "commission", "pnl", "pnlcomm", "open_date",
                                        "close_date"], trades)
    _write_csv(out / "bt_value.csv", ["date", "cash", "value"], values)
    if d.get("resample"):
        feed_kw["resample"] = d["resample"]
    kwargs = {"feed": BT_FEEDS[feed_name], **{k: str(v) for k, v in feed_kw.items()},
              **engine}
    return cerebro.last_result, kwargs, name


def _run_zipline(scenario: Scenario, out: Path):
    """Run a ``kind = "zipline"`` scenario with ``run_algorithm``; write ZL_FILES."""
    import pandas as pd

    from ml4t.cli import _load_module
    from ml4t.compat.zipline import run_algorithm
    from ml4t.compat.zipline.algorithm import _CURRENT, loader_of_file

    module = _load_module(scenario.strategy_file)
    if not callable(getattr(module, "initialize", None)):
        raise ScenarioError(f"{scenario.toml_path}: {scenario.rel(scenario.strategy_file)} "
                            "defines no initialize(context) (kind = \"zipline\")")
    captured = {}

    def analyze(context, perf):           # the shim's algorithm is current during analyze
        captured["algo"] = _CURRENT.get()

    kwargs = {"start": str(scenario.data["start"]), "end": str(scenario.data["end"]),
              "capital_base": scenario.engine.get("capital_base", 100_000),
              "bundle": str(scenario.data_path)}
    perf = run_algorithm(start=pd.Timestamp(kwargs["start"]), end=pd.Timestamp(kwargs["end"]),
                         initialize=module.initialize,
                         handle_data=getattr(module, "handle_data", None),
                         before_trading_start=getattr(module, "before_trading_start", None),
                         analyze=analyze, capital_base=kwargs["capital_base"],
                         bundle=kwargs["bundle"],
                         custom_loader=loader_of_file(vars(module), kwargs["bundle"]))
    recorded = [c for c in captured["algo"]._recorded if c in perf.columns]
    frame = perf[["portfolio_value", "ending_cash", "returns"] + recorded].copy()
    frame.insert(0, "date", [str(ts) for ts in perf.index])
    frame.to_csv(out / "zl_perf.csv", index=False, float_format=FLOAT_FORMAT)
    rows = []
    for txns in perf["transactions"]:
        for t in txns:
            rows.append([str(pd.Timestamp(t["dt"])), getattr(t["sid"], "symbol", t["sid"]),
                         t["amount"], t["price"], t.get("commission"), t["order_id"]])
    _write_csv(out / "zl_transactions.csv",
               ["dt", "sid", "amount", "price", "commission", "order_id"], rows)
    return captured["algo"]._engine_result, kwargs, "initialize/handle_data"


# ------------------------------------------------------------------------------ comparison
@dataclass
class Difference:
    """The first difference between an expected and an actual output file."""

    file: str
    row: int | None = None            # 1-based data row (header excluded)
    line: int | None = None           # 1-based line in the file
    header: list[str] = field(default_factory=list)
    expected: list[str] | None = None
    actual: list[str] | None = None
    columns: list[str] = field(default_factory=list)
    note: str = ""

    def render(self, indent: str = "    ") -> str:
        if self.row is None:
            return f"{indent}{self.file}: {self.note}"
        where = (f"{self.file} header (line 1)" if self.row == 0
                 else f"{self.file} row {self.row} (line {self.line})")
        if self.columns:
            head = f"{where}, column {self.columns[0]!r}"
            if len(self.columns) > 1:
                head += f" (and {', '.join(repr(c) for c in self.columns[1:])})"
            head += f": expected {self._cell(self.expected, self.columns[0])}, " \
                    f"actual {self._cell(self.actual, self.columns[0])}"
        else:
            head = f"{where}: {self.note}"
        lines = [indent + head]
        names = self.header or [f"col{i + 1}" for i in range(max(
            len(self.expected or []), len(self.actual or [])))]
        exp = self.expected or []
        act = self.actual or []
        n = max(len(names), len(exp), len(act))
        rows = [(names[i] if i < len(names) else f"col{i + 1}",
                 exp[i] if i < len(exp) else ("(no row)" if self.expected is None else ""),
                 act[i] if i < len(act) else ("(no row)" if self.actual is None else ""))
                for i in range(n)]
        w0 = max(len("column"), *(len(r[0]) for r in rows))
        w1 = max(len("expected"), *(len(r[1]) for r in rows))
        lines.append(f"{indent}  {'column':<{w0}}  {'expected':<{w1}}  actual")
        for name, e, a in rows:
            mark = "*" if e != a else " "
            lines.append(f"{indent}{mark} {name:<{w0}}  {e:<{w1}}  {a}")
        return "\n".join(lines)

    def _cell(self, row, column):
        if row is None:
            return "(no row)"
        i = self.header.index(column) if column in self.header else -1
        return repr(row[i]) if 0 <= i < len(row) else "(no value)"


def _parse(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def first_difference(name: str, expected: bytes, actual: bytes) -> Difference | None:
    """The first differing row of two CSV files, or None when they are byte-identical."""
    if expected == actual:
        return None
    try:
        e_lines = expected.decode("utf-8").split("\n")
        a_lines = actual.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return Difference(name, note="files differ and are not UTF-8 text")
    e_head, a_head = _parse(e_lines[0]), _parse(a_lines[0])
    if e_lines[0] != a_lines[0]:
        return Difference(name, row=0, line=1, expected=e_head, actual=a_head,
                          note="the header differs")
    for i in range(1, max(len(e_lines), len(a_lines))):
        e = e_lines[i] if i < len(e_lines) else None
        a = a_lines[i] if i < len(a_lines) else None
        if e == a:
            continue
        if e == "" and a is None or a == "" and e is None:
            continue
        e_row = _parse(e) if e not in (None, "") else None
        a_row = _parse(a) if a not in (None, "") else None
        d = Difference(name, row=i, line=i + 1, header=e_head, expected=e_row, actual=a_row)
        if e_row is None:
            d.note = "an extra row in the actual output"
        elif a_row is None:
            d.note = "this expected row is missing from the actual output"
        else:
            d.columns = [e_head[j] if j < len(e_head) else f"col{j + 1}"
                         for j in range(max(len(e_row), len(a_row)))
                         if (e_row[j] if j < len(e_row) else None)
                         != (a_row[j] if j < len(a_row) else None)]
            if not d.columns:
                d.note = "same values, different bytes (quoting or whitespace)"
        return d
    return Difference(name, note="same rows, different bytes (line endings or trailing "
                                 "newline)")


def _rows(data: bytes) -> int:
    return max(0, data.count(b"\n") - 1)


def compare_outputs(expected_dir, actual_dir, files=OUTPUT_FILES) -> tuple[int, list[Difference]]:
    """Compare every golden CSV; return (data rows compared, first difference per file).

    ``files`` are the CSV names compared (``Scenario.output_files``; default the
    native tables).
    """
    expected_dir, actual_dir = Path(expected_dir), Path(actual_dir)
    rows, diffs = 0, []
    files = tuple(files) + tuple(f for f in OPTIONAL_FILES if f not in files and (
        (expected_dir / f).is_file() or (actual_dir / f).is_file()))
    for name in files:
        e_path, a_path = expected_dir / name, actual_dir / name
        if not e_path.is_file():
            diffs.append(Difference(f"{EXPECTED_DIR}/{name}", note="expected file is missing "
                                    "(create it with --update)"))
            continue
        if not a_path.is_file():
            diffs.append(Difference(name, note="the run wrote no such file"))
            continue
        e, a = e_path.read_bytes(), a_path.read_bytes()
        rows += _rows(e)
        d = first_difference(name, e, a)
        if d is not None:
            diffs.append(d)
    for stale in sorted(p.name for p in expected_dir.glob("*.csv")):
        if stale not in files:
            diffs.append(Difference(f"{EXPECTED_DIR}/{stale}", note="the result has no such "
                                    "table any more (remove it with --update)"))
    return rows, diffs


# ------------------------------------------------------------------------- replay (parent)
@dataclass
class Outcome:
    folder: Path
    status: str = "ok"                # ok | differs | error | refused | updated
    seconds: float = 0.0
    rows: int = 0
    details: list[str] = field(default_factory=list)


def _child(folder: Path, out: Path) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "ml4t", "replay", "--one", str(folder), "--out", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {SUBPROCESS_TIMEOUT} s"
    return proc.returncode, proc.stderr


def _prepare_out(base: Path | None, name: str) -> tuple[Path, bool]:
    """Output folder of one run and whether it is a temporary one."""
    if base is None:
        return Path(tempfile.mkdtemp(prefix=f"ml4t-replay-{name}-")), True
    out = base / name
    out.mkdir(parents=True, exist_ok=True)
    for t in TABLES + OPTIONAL_TABLES:
        for suffix in (".csv", ".parquet"):
            (out / f"{t}{suffix}").unlink(missing_ok=True)
    for extra in BT_FILES + ZL_FILES:
        (out / extra).unlink(missing_ok=True)
    (out / "run_manifest.json").unlink(missing_ok=True)
    return out, False


def _replay_one(folder: Path, update: bool, out_base: Path | None) -> Outcome:
    res = Outcome(folder)
    t0 = time.perf_counter()
    old_hashes = {}
    try:
        if update:
            scenario = load_scenario(folder)
            if (folder / HASH_FILE).is_file():
                old_hashes = read_hashes(folder)
        else:
            scenario = check_inputs(folder)
    except InputsRefused as e:
        res.status = "refused"
        res.details = [f"refusing to compare {folder}: {p}" for p in e.problems]
        res.details.append(f"if the change is intended, record it with "
                           f"`ml4t replay {folder} --update`")
        return res
    except ScenarioError as e:
        res.status = "error"
        res.details = [str(e)]
        return res
    out, temporary = _prepare_out(out_base, folder.name)
    code, stderr = _child(folder, out)
    res.seconds = time.perf_counter() - t0
    keep = False
    try:
        if code != 0:
            res.status = "error"
            tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-12:]
            res.details = [f"the run failed (exit {code}):"] + ["  " + ln for ln in tail]
            return res
        expected = folder / EXPECTED_DIR
        if update:
            res.details = _update(folder, scenario, out, old_hashes)
            res.status = "updated"
            res.rows = sum(_rows((expected / n).read_bytes()) for n in _written(scenario, out))
            return res
        res.rows, diffs = compare_outputs(expected, out, scenario.output_files)
        if diffs:
            res.status = "differs"
            res.details = [d.render() for d in diffs]
            keep = True
            res.details.append(f"    actual outputs: {out}")
        return res
    finally:
        if temporary and not keep:
            shutil.rmtree(out, ignore_errors=True)


def _written(scenario: Scenario, out: Path) -> tuple[str, ...]:
    """The scenario's compared files plus the optional tables this run wrote."""
    return scenario.output_files + tuple(f for f in OPTIONAL_FILES if (out / f).is_file())


def _update(folder: Path, scenario: Scenario, out: Path, old_hashes: dict) -> list[str]:
    """Rewrite ``expected/`` and ``inputs.sha256``; describe every change."""
    expected = folder / EXPECTED_DIR
    expected.mkdir(exist_ok=True)
    notes = []
    files = _written(scenario, out)
    for name in files:
        new = (out / name).read_bytes()
        path = expected / name
        if not path.is_file():
            notes.append(f"    {EXPECTED_DIR}/{name}: new ({_rows(new)} rows)")
        else:
            d = first_difference(name, path.read_bytes(), new)
            if d is None:
                continue
            old_rows, new_rows = _rows(path.read_bytes()), _rows(new)
            notes.append(f"    {EXPECTED_DIR}/{name}: changed ({old_rows} -> {new_rows} rows); "
                         "first change:")
            notes.append(d.render(indent="      "))
        path.write_bytes(new)
    for stale in sorted(expected.glob("*.csv")):
        if stale.name not in files:
            stale.unlink()
            notes.append(f"    {EXPECTED_DIR}/{stale.name}: removed (no such table any more)")
    new_hashes = current_hashes(scenario)
    for name in sorted(set(old_hashes) | set(new_hashes)):
        old, new = old_hashes.get(name), new_hashes.get(name)
        if old == new:
            continue
        if old is None:
            notes.append(f"    {HASH_FILE}: recorded {name} ({new[:12]}...)")
        elif new is None:
            notes.append(f"    {HASH_FILE}: dropped {name} (no longer an input)")
        else:
            notes.append(f"    {HASH_FILE}: {name} {old[:12]}... -> {new[:12]}...")
    write_hashes(folder, new_hashes)
    if not notes:
        notes.append("    nothing changed")
    return notes


def find_scenarios(root) -> list[Path]:
    """Every folder directly under ``root`` holding a ``scenario.toml``, sorted by name."""
    return sorted(p.parent for p in Path(root).glob(f"*/{SCENARIO_FILE}"))


def default_root() -> Path | None:
    """``./golden`` if it exists, else the ``golden/`` beside the ml4t package (a checkout)."""
    here = Path.cwd() / "golden"
    if here.is_dir():
        return here
    repo = Path(__file__).resolve().parents[1] / "golden"
    return repo if repo.is_dir() else None


def replay(folders, *, update: bool = False, out=None, jobs: int = 1, stream=None) -> int:
    """Replay (or with ``update`` re-record) scenarios; print a table; return the exit code.

    Returns 0 when every scenario is ``ok`` (or ``updated``), 1 otherwise.
    """
    stream = sys.stdout if stream is None else stream
    folders = [Path(f) for f in folders]
    out_base = Path(out) if out is not None else None
    width = max([len("scenario")] + [len(f.name) for f in folders])
    print(f"{'scenario':<{width}}  {'status':<8}  {'runtime':>8}  {'rows':>6}", file=stream)

    def row(o: Outcome):
        runtime = f"{o.seconds:.2f}s" if o.seconds else "-"
        print(f"{o.folder.name:<{width}}  {o.status:<8}  {runtime:>8}  {o.rows:>6}",
              file=stream, flush=True)

    outcomes = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for o in pool.map(lambda f: _replay_one(f, update, out_base), folders):
            row(o)
            outcomes.append(o)
    for o in outcomes:
        if o.details:
            print(f"\n{o.folder.name}: {o.status}", file=stream)
            for line in o.details:
                print(line, file=stream)
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    print(f"\n{len(outcomes)} scenario{'s' if len(outcomes) != 1 else ''}: {summary}",
          file=stream)
    return 0 if all(o.status in ("ok", "updated") for o in outcomes) else 1


# ------------------------------------------------------------------------------------ CLI
def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``replay`` subcommand to the ``ml4t`` command line."""
    p = sub.add_parser(
        "replay", help="re-run golden scenarios and compare their outputs byte for byte",
        description="Re-run golden scenarios (golden/<name>/scenario.toml), each in its own "
                    "process, and compare every expected CSV byte for byte. Inputs are checked "
                    "against inputs.sha256 first. Exit status 1 on any difference or error.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO_DIR",
                   help="scenario folders, e.g. golden/basics")
    p.add_argument("--all", action="store_true",
                   help="every scenario under --root")
    p.add_argument("--root", help="folder of scenarios for --all (default: ./golden, else the "
                   "golden/ of the ml4t checkout)")
    p.add_argument("--update", action="store_true",
                   help="rewrite expected/ and inputs.sha256 from a fresh run and print what "
                   "changed (nothing is compared)")
    p.add_argument("--out", help="keep each run's outputs (CSV, Parquet, run_manifest.json) "
                   "in OUT/<scenario>/ (default: a temporary folder, kept only on a difference)")
    p.add_argument("-j", "--jobs", type=int, default=1,
                   help="scenarios to run in parallel (default 1)")
    p.add_argument("--one", metavar="DIR", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_replay)
    return p


def cmd_replay(args) -> int:
    if args.one is not None:
        if args.out is None:
            raise SystemExit("ml4t replay --one needs --out")
        run_scenario(args.one, args.out)
        return 0
    folders = [Path(s) for s in args.scenarios]
    if args.all:
        root = Path(args.root) if args.root else default_root()
        if root is None or not root.is_dir():
            raise SystemExit(f"ml4t replay: no golden/ folder found in {Path.cwd()}; pass "
                             "--root")
        found = find_scenarios(root)
        if not found:
            raise SystemExit(f"ml4t replay: no scenarios (*/{SCENARIO_FILE}) under {root}")
        folders += [f for f in found if f not in folders]
    if not folders:
        raise SystemExit("ml4t replay: name scenario folders (e.g. golden/basics) or pass --all")
    for f in folders:
        if not (f / SCENARIO_FILE).is_file():
            raise SystemExit(f"ml4t replay: {f} is not a golden scenario (no {SCENARIO_FILE})")
    if args.jobs < 1:
        raise SystemExit(f"ml4t replay: --jobs must be >= 1, got {args.jobs}")
    return replay(folders, update=args.update, out=args.out, jobs=args.jobs)
