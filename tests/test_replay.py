"""Golden scenarios and ``ml4t replay``.

Every scenario under ``golden/`` must replay byte for byte; the harness must be
able to fail (a perturbed expected number is reported with file, row, column,
expected and actual values; a tampered or missing input is refused before
anything runs); two runs in separate processes write identical bytes.

The hand-computed numbers checked at the end are the ones each scenario's
README derives (``golden/<name>/README.md``), so ``--update`` cannot silently
accept an engine change that breaks them.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ml4t.result import TABLES

from ml4t.replay import (
    HASH_FILE,
    ScenarioError,
    find_scenarios,
    first_difference,
    load_scenario,
    read_hashes,
)

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "golden"
SCENARIOS = [p.name for p in find_scenarios(GOLDEN)]
TABLE_FILES = TABLES          # every table of a BacktestResult is a golden file


def ml4t(*args, env=None, cwd=ROOT):
    """Run ``python -m ml4t ARGS`` in a fresh process; return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ml4t", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=full_env, timeout=900)


def copy_scenario(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(GOLDEN / name, dst)
    return dst


def status_of(stdout: str, name: str) -> str | None:
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            return parts[1]
    return None


# ------------------------------------------------------------------------ the golden suite
def test_required_scenarios_exist():
    assert {"basics", "cash_rejection", "reversal", "raw_daily"} <= set(SCENARIOS)
    for name in SCENARIOS:
        folder = GOLDEN / name
        for f in ("scenario.toml", HASH_FILE, "README.md"):
            assert (folder / f).is_file(), f"{name}/{f}"
        for t in TABLE_FILES:
            assert (folder / "expected" / f"{t}.csv").is_file(), f"{name}/expected/{t}.csv"


def test_replay_all_passes():
    proc = ml4t("replay", "--all", "--root", GOLDEN, "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in SCENARIOS:
        assert status_of(proc.stdout, name) == "ok", proc.stdout
    assert f"{len(SCENARIOS)} scenarios: {len(SCENARIOS)} ok" in proc.stdout


# ------------------------------------------------------------------ the harness can fail
def test_perturbed_expected_number_is_reported(tmp_path):
    folder = copy_scenario("basics", tmp_path)
    path = folder / "expected" / "fills.csv"
    rows = list(csv.reader(path.read_text().splitlines()))
    col = rows[0].index("price")
    actual = rows[4][col]                        # data row 4: the sell stop's fill
    perturbed = f"{float(actual) + 0.01:.10g}"
    rows[4][col] = perturbed
    path.write_text("".join(",".join(r) + "\n" for r in rows))

    proc = ml4t("replay", folder, "--out", tmp_path / "out")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert status_of(proc.stdout, "basics") == "differs"
    assert "fills.csv row 4 (line 5), column 'price'" in proc.stdout
    assert f"expected {perturbed!r}, actual {actual!r}" in proc.stdout
    side_by_side = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("* price")]
    assert side_by_side and perturbed in side_by_side[0] and actual in side_by_side[0]
    assert "portfolio.csv" not in proc.stdout.split("basics: differs")[1]   # only fills differ


@pytest.mark.parametrize("damage", ["modify", "delete"])
def test_tampered_or_missing_input_is_refused(tmp_path, damage):
    folder = copy_scenario("basics", tmp_path)
    bars = folder / "bars.csv"
    if damage == "modify":
        bars.write_text(bars.read_text().replace("100.50,10000", "100.55,10000", 1))
    else:
        bars.unlink()
    out = tmp_path / "out"

    proc = ml4t("replay", folder, "--out", out)

    assert proc.returncode != 0
    assert status_of(proc.stdout, "basics") == "refused"
    expected = "input bars.csv has changed" if damage == "modify" else "input bars.csv is missing"
    assert expected in proc.stdout, proc.stdout
    assert "--update" in proc.stdout
    assert not out.exists()                      # refused before anything ran


def test_missing_hash_file_is_refused(tmp_path):
    folder = copy_scenario("reversal", tmp_path)
    (folder / HASH_FILE).unlink()
    proc = ml4t("replay", folder)
    assert proc.returncode != 0
    assert f"{HASH_FILE} is missing" in proc.stdout


def test_update_rewrites_expected_and_hashes(tmp_path):
    folder = copy_scenario("reversal", tmp_path)
    fills = folder / "expected" / "fills.csv"
    fills.write_text(fills.read_text().replace(",52,52,", ",52.5,52,", 1))
    strategy = folder / "strategy.py"
    strategy.write_text(strategy.read_text() + "\n# an edit that changes nothing\n")
    before = ml4t("replay", folder)
    assert status_of(before.stdout, "reversal") == "refused"

    proc = ml4t("replay", folder, "--update")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "expected/fills.csv: changed" in proc.stdout
    assert "inputs.sha256: strategy.py" in proc.stdout
    assert fills.read_bytes() == (GOLDEN / "reversal" / "expected" / "fills.csv").read_bytes()
    after = ml4t("replay", folder)
    assert after.returncode == 0 and status_of(after.stdout, "reversal") == "ok"


def test_no_scenario_named_is_an_error():
    proc = ml4t("replay")
    assert proc.returncode != 0
    assert "--all" in proc.stderr


# ------------------------------------------------------------------------- determinism
@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """raw_daily run twice through the internal entry, in two processes, different hash seeds."""
    base = tmp_path_factory.mktemp("determinism")
    outs = []
    for seed in ("1", "2"):
        out = base / f"run{seed}"
        proc = ml4t("replay", "--one", GOLDEN / "raw_daily", "--out", out,
                    env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    return outs


def test_two_processes_write_identical_bytes(two_runs):
    a, b = two_runs
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for t in TABLE_FILES:
        assert f"{t}.csv" in names and f"{t}.parquet" in names
    for name in names:
        if name == "run_manifest.json":
            continue
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((d / "run_manifest.json").read_text()) for d in two_runs)
    ma.pop("timing"), mb.pop("timing")
    ma["scenario"].pop("folder"), mb["scenario"].pop("folder")
    assert ma == mb                              # timestamps aside, the manifests agree


def test_run_manifest_records_config_seed_hashes_versions(two_runs):
    man = json.loads((two_runs[0] / "run_manifest.json").read_text())
    assert man["seed"] == 42 and man["config"]["seed"] == 42
    assert man["config"]["commission"] == "PercentCommission(0.001,)"
    assert man["scenario"]["inputs_sha256"] == read_hashes(GOLDEN / "raw_daily")
    assert set(man["scenario"]["inputs_sha256"]) == {"data/IBM.csv", "data/MSFT.csv",
                                                     "scenario.toml", "strategy.py"}
    for pkg in ("ml4t", "python", "numpy", "pandas", "pyarrow", "Cython",
                "exchange-calendars"):
        assert man["versions"][pkg] not in ("", "not installed"), pkg
    assert man["timing"]["started"] <= man["timing"]["finished"]
    assert man["scenario"]["float_format"] == "%.10g"


# ------------------------------------------------------------------- scenario parsing
def _toml(folder: Path, engine: str, data_path: str = "bars.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bars.csv").write_text("date,open,high,low,close\n2024-01-02,1,1,1,1\n")
    (folder / "strategy.py").write_text("from ml4t import Strategy\nclass S(Strategy):\n"
                                        "    pass\n")
    (folder / "scenario.toml").write_text(
        f'[data]\npath = "{data_path}"\n[strategy]\nfile = "strategy.py"\n[engine]\n{engine}\n')
    return folder


def test_unknown_engine_key_suggests_spelling(tmp_path):
    sc = load_scenario(_toml(tmp_path / "s", 'comission = 1'))
    with pytest.raises(ScenarioError, match="did you mean 'commission'"):
        sc.engine_kwargs()


def test_unknown_model_suggests_spelling(tmp_path):
    sc = load_scenario(_toml(tmp_path / "s", 'commission = { model = "PercentComission", '
                                             'rate = 0.001 }'))
    with pytest.raises(ScenarioError, match="did you mean 'PercentCommission'"):
        sc.engine_kwargs()


def test_models_resolve_from_tables(tmp_path):
    sc = load_scenario(_toml(tmp_path / "s", 'commission = { model = "PerShareCommission", '
                                             'rate = 0.01 }\nslippage = "NoSlippage"'))
    kw = sc.engine_kwargs()
    assert repr(kw["commission"]) == "PerShareCommission(0.01, 0.0, None)"
    assert type(kw["slippage"]).__name__ == "NoSlippage"


def test_input_outside_the_folder_is_rejected(tmp_path):
    with pytest.raises(ScenarioError, match="outside the scenario folder"):
        load_scenario(_toml(tmp_path / "s", "cash = 1000", data_path="../elsewhere.csv"))


def test_first_difference_finds_row_and_column():
    e = b"a,b\n1,2\n3,4\n"
    a = b"a,b\n1,2\n3,5\n"
    d = first_difference("x.csv", e, a)
    assert (d.row, d.line, d.columns) == (2, 3, ["b"])
    assert "expected '4', actual '5'" in d.render()
    assert first_difference("x.csv", e, e) is None
    short = first_difference("x.csv", e, b"a,b\n1,2\n")
    assert short.row == 2 and short.actual is None


# ---------------------------------------------- the READMEs' hand calculations, pinned
def expected(name: str, table: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / name / "expected" / f"{table}.csv", keep_default_na=False,
                       na_values=[""])


def test_basics_hand_calculation():
    fills = expected("basics", "fills")
    assert fills["order_id"].tolist() == [1, 2, 3, 4, 6, 7]
    assert fills["price"].tolist() == pytest.approx([100.80, 99.50, 102.00, 101.50, 100.00,
                                                     100.90])
    assert fills["commission"].tolist() == pytest.approx([10.08, 4.975, 5.10, 20.30, 10.00,
                                                          10.09])
    cash = expected("basics", "portfolio")["cash"].tolist()
    assert cash == pytest.approx([100000, 89909.92, 84929.945, 79824.845, 79824.845,
                                  100104.545, 90094.545, 100174.455, 100174.455])
    trades = expected("basics", "trades")
    assert trades["entry_price"].tolist() == pytest.approx([100.775, 100.00])
    assert trades["pnl"].tolist() == pytest.approx([145, 90])
    assert trades["commission"].tolist() == pytest.approx([40.455, 20.09])
    orders = expected("basics", "orders")
    final = orders.groupby("order_id").last()
    assert final.loc[5, "status"] == "canceled" and final.loc[5, "reason"] == "user_cancel"
    assert final.loc[8, "status"] == "expired" and final.loc[8, "reason"] == "day_expired"


def test_cash_rejection_hand_calculation():
    final = expected("cash_rejection", "orders").groupby("order_id").last()
    assert final["status"].tolist() == ["filled", "rejected", "rejected", "filled"]
    assert final.loc[2, "reason"] == "insufficient_cash"
    assert final.loc[3, "reason"] == "short_not_allowed"
    assert final.loc[2, "filled"] == 0 and final.loc[3, "filled"] == 0
    assert expected("cash_rejection", "portfolio")["cash"].tolist() == pytest.approx(
        [10000, 4995, 4995, 4995, 10089.90])


def test_cash_partial_hand_calculation():
    fills = expected("cash_partial", "fills")
    assert fills["qty"].tolist() == [50, 49, -99]
    assert fills["commission"].tolist() == pytest.approx([5.00, 4.949, 10.0287])
    final = expected("cash_partial", "orders").groupby("order_id").last()
    assert final.loc[2, "reason"] == "insufficient_cash" and final.loc[2, "filled"] == 49
    assert final.loc[3, "reason"] == "short_not_allowed" and final.loc[3, "filled"] == -99
    trades = expected("cash_partial", "trades")
    assert trades["pnl"].tolist() == pytest.approx([79.70])
    assert expected("cash_partial", "portfolio")["nav"].iloc[-1] == pytest.approx(10059.7223)


def test_reversal_hand_calculation():
    fills = expected("reversal", "fills")
    assert fills["qty"].tolist() == [100, -200, 100]           # one execution of -200
    assert fills["realized_pnl"].tolist() == pytest.approx([0, 200, 300])
    trades = expected("reversal", "trades")
    assert trades["direction"].tolist() == ["long", "short"]   # booked as two trades
    assert trades["entry_price"].tolist() == pytest.approx([50, 52])
    assert trades["exit_price"].tolist() == pytest.approx([52, 49])
    assert trades["commission"].tolist() == pytest.approx([2, 2])
    assert trades["exit_ts"].iloc[0] == trades["entry_ts"].iloc[1]
    assert expected("reversal", "portfolio")["nav"].tolist() == pytest.approx(
        [100000, 100079, 100217, 100447, 100496])


def test_raw_daily_hand_calculation():
    for name in ("IBM", "MSFT"):
        bars = pd.read_csv(GOLDEN / "raw_daily" / "data" / f"{name}.csv")
        assert (bars["dividend"] == 0).all() and (bars["split"] == 1).all()
    assert expected("raw_daily", "corporate_actions").empty      # none inside the window
    fills = expected("raw_daily", "fills")
    assert fills["asset"].tolist() == ["MSFT", "IBM", "MSFT"]
    assert fills["qty"].tolist() == [1296, 228, -1296]
    assert fills["price"].tolist() == pytest.approx([35.00 * 1.0005, 197.910004 * 1.0005,
                                                     31.91 * 0.9995])
    assert fills["realized_pnl"].iloc[2] == pytest.approx(1296 * (31.91 * 0.9995
                                                                  - 35.00 * 1.0005))
    last = expected("raw_daily", "portfolio").iloc[-1]
    assert last["cash"] == pytest.approx(50674.09626)
    assert last["nav"] == pytest.approx(50674.09626 + 228 * 190.990005)


def test_splits_dividends_hand_calculation():
    fills = expected("splits_dividends", "fills")
    assert fills["asset"].tolist() == ["AAPL", "KO", "AAPL"]
    assert fills["qty"].tolist() == [100, 400, -350]           # the -50 limit became -350
    assert fills["price"].tolist() == pytest.approx([594.879999, 78.89, 95.0])  # 665 / 7
    # 350 sold at 95 against the lot bought at 594.879999 / 7 = 84.982857
    assert fills["realized_pnl"].iloc[2] == pytest.approx(350 * (95 - 594.879999 / 7))
    acts = expected("splits_dividends", "corporate_actions")
    splits = acts[acts["action"] == "split"]
    assert splits["asset"].tolist() == ["KO", "AAPL"]
    assert splits["qty"].tolist() == [400, 100]                # positions the splits applied to
    divs = acts[acts["action"] == "dividend"]
    assert divs["cash"].sum() == pytest.approx(4135.985)
    orders = expected("splits_dividends", "orders")
    adj = orders[orders["reason"] == "corporate_action"].iloc[0]
    assert (adj["qty"], adj["limit_price"]) == (-350, 95)
    placed = orders[(orders["order_id"] == 3) & (orders["status"] == "submitted")].iloc[0]
    assert (placed["qty"], placed["limit_price"]) == (-50, 665)
    assert expected("splits_dividends", "portfolio")["nav"].iloc[-1] == pytest.approx(
        112755.4859)


def test_halt_early_close_hand_calculation():
    fills = expected("halt_early_close", "fills")
    assert fills["ts"].tolist() == ["2012-11-23 15:30:00+00:00", "2012-11-23 17:00:00+00:00",
                                    "2012-11-26 14:30:00+00:00"]
    assert fills["price"].tolist() == pytest.approx([50.55, 20.60, 49.50])
    orders = expected("halt_early_close", "orders")
    expired = orders[orders["status"] == "expired"].iloc[0]
    # the DAY limit expires at the 13:00 New York early close = 18:00 UTC
    assert (expired["reason"], expired["ts"]) == ("day_expired", "2012-11-23 18:00:00+00:00")
    assert fills["realized_pnl"].iloc[2] == pytest.approx(-105)


# ------------------------------------------ shim scenarios (kind = backtrader / zipline)
def test_bt_sma_cross_hand_calculation():
    assert load_scenario(GOLDEN / "bt_sma_cross").kind == "backtrader"
    orders = expected("bt_sma_cross", "bt_orders")
    first = orders.iloc[2]
    assert (first["status"], first["created_price"], first["executed_price"]) == (
        "Completed", pytest.approx(33.10), pytest.approx(33.07))
    assert first["executed_comm"] == pytest.approx(33.07)
    value = expected("bt_sma_cross", "bt_value").set_index("date")
    assert value.loc["2013-03-12", "cash"] == pytest.approx(66896.93)
    assert value.loc["2013-03-12", "value"] == pytest.approx(99576.93)
    assert value["value"].iloc[-1] == pytest.approx(100923.80)
    trades = expected("bt_sma_cross", "bt_trades")
    closed = trades[trades["status"] == "closed"]
    assert closed["pnl"].iloc[0] == pytest.approx(-4100)
    assert closed["pnlcomm"].iloc[0] == pytest.approx(-4162.04)
    assert expected("bt_sma_cross", "fills")["price"].iloc[0] == pytest.approx(33.07)


def test_zl_buy_and_hold_hand_calculation():
    assert load_scenario(GOLDEN / "zl_buy_and_hold").kind == "zipline"
    txn = expected("zl_buy_and_hold", "zl_transactions")
    assert txn["amount"].tolist() == [100]
    assert txn["price"].tolist() == pytest.approx([542.821275])
    perf = expected("zl_buy_and_hold", "zl_perf")
    assert perf["ending_cash"].iloc[1:].tolist() == pytest.approx(
        [45717.7725] * (len(perf) - 1))                       # the dividend is never paid
    by_day = perf.set_index(perf["date"].str[:10])
    assert by_day.loc["2014-04-02", "portfolio_value"] == pytest.approx(99972.7725)
    assert by_day.loc["2014-06-06", "portfolio_value"] == pytest.approx(110274.7725)
    assert by_day.loc["2014-06-09", "portfolio_value"] == pytest.approx(111307.7725)
    assert perf["portfolio_value"].iloc[-1] == pytest.approx(112637.7725)
    ca = expected("zl_buy_and_hold", "corporate_actions")
    assert ca["action"].tolist() == ["split"] and ca["value"].tolist() == [7]


def test_zl_delisting_hand_calculation():
    txn = expected("zl_delisting", "zl_transactions")
    assert txn["sid"].tolist() == ["IBM", "IBM", "KO"]
    assert txn["amount"].tolist() == [50, -50, 100]
    assert txn["price"].tolist() == pytest.approx([184.462185, 182.56, 41.710845])
    assert txn["order_id"].isna().tolist() == [False, True, False]    # the close-out
    perf = expected("zl_delisting", "zl_perf")
    by_day = perf.set_index(perf["date"].str[:10])
    assert by_day.loc["2014-06-13", "ending_cash"] == pytest.approx(90776.84075)
    assert by_day.loc["2014-06-13", "portfolio_value"] == pytest.approx(99904.84075)
    for day in ("2014-06-16", "2014-06-17", "2014-06-18", "2014-06-19"):   # no bars at all
        assert by_day.loc[day, "ending_cash"] == pytest.approx(99904.84075)
        assert by_day.loc[day, "returns"] == 0
    assert by_day.loc["2014-06-20", "ending_cash"] == pytest.approx(95733.65625)
    assert perf["portfolio_value"].iloc[-1] == pytest.approx(99969.65625)
    fills = expected("zl_delisting", "fills")
    assert fills["order_id"].tolist() == [1, 0, 2]
    assert fills["realized_pnl"].iloc[1] == pytest.approx(50 * (182.56 - 184.462185))


def test_per_asset_commission_hand_calculation():
    fills = expected("per_asset_commission", "fills")
    assert fills["asset"].tolist() == ["XYZ", "ABC", "DEF", "ABC", "DEF"]
    assert fills["commission"].tolist() == pytest.approx([5.10, 1.50, 2.00, 1.00, 2.00])
    assert fills["realized_pnl"].tolist() == pytest.approx([0, 0, 0, 100, 5])
    port = expected("per_asset_commission", "portfolio")
    assert port["cash"].tolist() == pytest.approx([100000, 88486.40, 90793.40])
    assert port["nav"].iloc[-1] == pytest.approx(100483.40)


def test_per_asset_commission_resolves_from_nested_tables(tmp_path):
    sc = load_scenario(_toml(tmp_path / "s", 'commission = { model = "PerAssetCommission", '
                                             'models = { A = { model = "PercentCommission", '
                                             'rate = 0.001 } }, default = "NoCommission" }'))
    kw = sc.engine_kwargs()
    assert repr(kw["commission"].models["A"]) == "PercentCommission(0.001,)"
    assert type(kw["commission"].default).__name__ == "NoCommission"
    bad = load_scenario(_toml(tmp_path / "t", 'commission = { model = "PerAssetCommission", '
                                              'models = { A = { model = "PercentComision", '
                                              'rate = 0.001 } } }'))
    with pytest.raises(ScenarioError, match="commission.models.A: unknown model "
                                            "'PercentComision'; did you mean"):
        bad.engine_kwargs()


def test_bt_intraday_resample_hand_calculation():
    orders = expected("bt_intraday_resample", "bt_orders")
    done = orders[orders["status"] == "Completed"]
    assert done["date"].tolist() == [
        "2006-01-02T09:20:00", "2006-01-02T09:35:00", "2006-01-02T09:55:00",
        "2006-01-02T10:05:00", "2006-01-02T10:40:00", "2006-01-02T11:05:00",
        "2006-01-03T09:20:00"]
    assert done["executed_price"].tolist() == pytest.approx(
        [3591.42, 3591.40, 3602.61, 3600.28, 3601.15, 3601.26, 3617.24])
    trades = expected("bt_intraday_resample", "bt_trades")
    closed = trades[trades["status"] == "closed"]
    assert closed["pnl"].tolist() == pytest.approx([-0.20, -23.30, 1.10])
    value = expected("bt_intraday_resample", "bt_value")
    assert value["cash"].iloc[-1] == pytest.approx(63553.1464)
    assert value["value"].iloc[-1] == pytest.approx(99793.0464)


def test_backtrader_timeframes_are_checked(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "x.txt").write_text("")
    (folder / "s.py").write_text("")
    for data, message in (('timeframe = "Minute"', "did you mean 'Minutes'"),
                          ('compression = 0', "compression must be a positive integer"),
                          ('resample = { compression = 15 }', "resample needs 'timeframe'"),
                          ('resample = { timeframe = "Minutes", every = 2 }',
                           "unknown key 'every'")):
        (folder / "scenario.toml").write_text(
            f'[data]\npath = "x.txt"\n{data}\n[strategy]\nkind = "backtrader"\n'
            'file = "s.py"\n')
        with pytest.raises(ScenarioError, match=message):
            load_scenario(folder)


def test_cash_flows_hand_calculation():
    port = expected("cash_flows", "portfolio")
    assert port["nav"].tolist() == pytest.approx([10_000, 10_500, 12_050, 11_550])
    assert port["cash_flow"].tolist() == [0, 0, 1_000, -500]
    assert port["returns"].tolist() == pytest.approx([0, 0.05, 11_050 / 10_500 - 1, 0])
    flows = expected("cash_flows", "cash_flows")
    assert flows["amount"].tolist() == [1_000, -500]
    assert flows["cash"].tolist() == [6_000, 5_500]


def test_zl_pipeline_hand_calculation():
    perf = expected("zl_pipeline", "zl_perf").set_index("date")
    day = perf.loc["2014-06-09 20:00:00+00:00"]
    assert day["aapl_close"] == pytest.approx(645.57 / 7)
    assert day["aapl_ret3"] == pytest.approx((645.57 - 644.82) / 644.82)
    assert day["ko_ret3"] == pytest.approx((40.99 - 40.79) / 40.79) and day["aapl_best"] == 0
    assert perf.loc["2014-06-10 20:00:00+00:00", "aapl_ret3"] == pytest.approx(
        (93.70 - 647.35 / 7) / (647.35 / 7))
    assert perf.loc["2014-06-12 20:00:00+00:00", "ko_close"] == pytest.approx(40.555)
    assert perf.loc["2014-06-12 20:00:00+00:00", "ko_ret3"] == pytest.approx(
        (40.86 - 40.91) / 40.91)
    txn = expected("zl_pipeline", "zl_transactions")
    assert txn["sid"].tolist() == ["AAPL"] and txn["price"].tolist() == pytest.approx(
        [93.86 * 1.0005])
    assert perf.loc["2014-06-11 20:00:00+00:00", "ending_cash"] == pytest.approx(90_609.207)


def test_unknown_kind_suggests_spelling(tmp_path):
    folder = _toml(tmp_path / "s", "cash = 1000")
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text().replace('[strategy]\n', '[strategy]\nkind = "backtrade"\n'))
    with pytest.raises(ScenarioError, match="did you mean 'backtrader'"):
        load_scenario(folder)
