"""Multi-currency accounting: foreign assets, exchange rates, cash books, FX P&L.

A USD account trades SAP (in EUR) and AAPL (in USD) on four daily bars (conftest's
calendar: 2024-01-02 .. 2024-01-05 at 21:00 UTC), filling at the close
(``fill="same_close"``). EURUSD is 1.10, 1.15, 1.20, 1.20 (stamped at midnight, so each
day's rate applies to that day's bar). Numbers are worked out in the comments.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ml4t
from ml4t.errors import ConfigError, DataError
from ml4t.models import PerShareCommission
from conftest import day_ts, frame, scripted

DAYS = day_ts(4)
SAP = [100.0, 104.0, 110.0, 110.0]
AAPL = [50.0, 50.0, 50.0, 50.0]
EURUSD = [1.10, 1.15, 1.20, 1.20]


def _flat(closes):
    return [(c, c, c, c, 1e6) for c in closes]


def bars(sap=SAP):
    return frame({"SAP": _flat(sap), "AAPL": _flat(AAPL)})


def fx_table(rates=EURUSD, days=DAYS):
    return pd.DataFrame({"ts": [d.normalize() for d in days], "currency": "EUR",
                         "rate": rates})


def run(plan, df=None, fx=None, **config):
    cfg = dict(cash=100_000, fill="same_close", currency={"SAP": "EUR"},
               fx=fx_table() if fx is None else fx)
    cfg.update(config)
    return ml4t.run_backtest(scripted(plan), bars() if df is None else df, **cfg)


def test_round_trip_splits_into_asset_pnl_and_fx_pnl():
    # buy 100 SAP @ 100 EUR at 1.10: 11,000 USD.  Sell @ 110 EUR at 1.20: 13,200 USD.
    # Total 2,200 = asset 100 * (110 - 100) * 1.20 = 1,200 + FX 100 * 100 * (1.20 - 1.10)
    # = 1,000.
    r = run({0: [("SAP", 100, {})], 2: [("SAP", -100, {})]})
    p = r.portfolio
    assert p["nav"].iloc[-1] == pytest.approx(102_200, abs=1e-9)
    assert p["cash"].iloc[-1] == pytest.approx(102_200, abs=1e-9)
    f = r.fills
    assert f["realized_pnl"].tolist() == pytest.approx([0, 2_200])
    assert f["fx_pnl"].tolist() == pytest.approx([0, 1_000])
    assert p["fx_pnl"].iloc[-1] == pytest.approx(1_000)
    t = r.trades.iloc[0]
    assert (t["entry_price"], t["exit_price"], t["pnl"]) == (100, 110, pytest.approx(2_200))
    # day 2, open: 100 * 104 * 1.15 = 11,960 held; FX so far 100 * 100 * 0.05 = 500,
    # asset 100 * 4 * 1.15 = 460
    assert p["nav"].iloc[1] == pytest.approx(89_000 + 11_960)
    assert p["fx_pnl"].iloc[1] == pytest.approx(500)
    assert p["unrealized_pnl"].iloc[1] == pytest.approx(960)
    assert r.positions.iloc[1]["market_value"] == pytest.approx(11_960)
    conv = r.conversions
    assert conv["amount"].tolist() == pytest.approx([-10_000, 11_000])
    assert conv["base_amount"].tolist() == pytest.approx([-11_000, 13_200])


def test_spread_is_paid_on_each_conversion_and_reported():
    # 10 bp: buying costs 11,000 * 1.001 = 11,011; selling yields 13,200 * 0.999 = 13,186.8
    r = run({0: [("SAP", 100, {})], 2: [("SAP", -100, {})]}, fx_spread=0.001)
    assert r.portfolio["nav"].iloc[-1] == pytest.approx(100_000 - 11_011 + 13_186.8)
    assert r.conversions["cost"].sum() == pytest.approx(11 + 13.2)


def test_commission_in_the_asset_currency_is_converted():
    # 1 EUR per share on 100 shares at 1.10: 110 USD
    r = run({0: [("SAP", 100, {})]}, commission=PerShareCommission(1.0))
    assert r.portfolio["cash"].iloc[0] == pytest.approx(100_000 - 11_000 - 110)
    assert r.fills["commission"].iloc[0] == 100          # in EUR, as the fill's currency


def test_hold_mode_keeps_a_euro_book_and_values_it_at_the_rate():
    # start with 10,000 EUR (cost 11,000 USD at 1.10); buy 50 SAP @ 100 = 5,000 EUR.
    # day 2: EUR book 5,000 * 1.15 = 5,750; SAP 50 * 104 * 1.15 = 5,980; USD 100,000.
    # NAV = 111,730; FX P&L: book 5,000 * 0.05 = 250, position 50 * 100 * 0.05 = 250.
    r = run({0: [("SAP", 50, {})]}, cash={"USD": 100_000, "EUR": 10_000},
            fx_conversion="hold")
    p = r.portfolio
    assert p["cash"].tolist() == [100_000] * 4                # USD never touched
    assert p["fx_cash"].iloc[1] == pytest.approx(5_750)
    assert p["nav"].iloc[1] == pytest.approx(111_730)
    assert p["fx_pnl"].iloc[1] == pytest.approx(500)
    assert r.conversions.empty


def test_hold_mode_cash_account_needs_the_foreign_balance():
    # no EUR at all: a cash account cannot pay for SAP even with plenty of USD
    r = run({0: [("SAP", 10, {})]}, fx_conversion="hold")
    assert r.fills.empty
    assert r.orders.iloc[-1]["reason"] == "insufficient_cash"


def test_convert_pays_the_spread_and_feeds_the_book():
    def conv(s, bars):
        return s.broker.convert("USD", "EUR", 11_000)

    # 11,000 USD * (1 - 0.001) / 1.10 = 9,990 EUR; then buy 99 SAP @ 100 = 9,900 EUR
    r = run({0: [conv, ("SAP", 99, {})]}, fx_conversion="hold", fx_spread=0.001)
    st = r.strategy
    assert st.returned[0] == pytest.approx(9_990)
    assert st.broker.balances()["EUR"] == pytest.approx(90)
    assert st.broker.balances()["USD"] == pytest.approx(89_000)
    assert r.fills["qty"].tolist() == [99]


def test_nav_equals_the_sum_of_the_converted_books():
    r = run({0: [("SAP", 100, {}), ("AAPL", 100, {})]}, cash={"USD": 100_000, "EUR": 1_000},
            fx_conversion="hold", account="margin")
    books = r.strategy.broker._ledger.currency_books()
    total = sum((cash + pos) * rate for cash, pos, rate in books)
    assert total == pytest.approx(r.portfolio["nav"].iloc[-1])
    # EUR: 1,000 - 10,000 cash + 100 * 110 held; USD: 100,000 - 5,000 + 5,000
    assert books[1][0] == pytest.approx(-9_000) and books[1][1] == pytest.approx(11_000)


def test_an_order_before_the_first_rate_is_rejected_with_a_reason():
    fx = fx_table(EURUSD[1:], DAYS[1:])          # no rate on day 1
    r = run({0: [("SAP", 10, {})], 1: [("SAP", 10, {})]}, fx=fx)
    first = r.orders[r.orders["order_id"] == 1].iloc[-1]
    assert (first["status"], first["reason"]) == ("rejected", "no_fx_rate")
    assert r.fills["qty"].tolist() == [10]


def test_a_gap_in_the_rates_while_holding_stops_the_run_naming_currency_and_day():
    fx = fx_table([1.10, 1.20, 1.20], DAYS[[0, 2, 3]])     # 2024-01-03 missing
    with pytest.raises(DataError, match=r"EUR.*2024-01-03") as e:
        run({0: [("SAP", 10, {})]}, fx=fx)
    assert e.value.column == "EUR" and e.value.rule == "fx_gap"
    # without a position in EUR the gap does not matter
    r = run({2: [("SAP", 10, {})]}, fx=fx)
    assert r.fills["qty"].tolist() == [10]


def test_wide_fx_table_is_accepted():
    wide = pd.DataFrame({"EUR": EURUSD}, index=[d.normalize() for d in DAYS])
    a = run({0: [("SAP", 100, {})], 2: [("SAP", -100, {})]}, fx=wide)
    assert a.portfolio["nav"].iloc[-1] == pytest.approx(102_200)


def test_foreign_currency_without_rates_is_refused():
    with pytest.raises(ConfigError, match=r"fx.*EUR against USD"):
        ml4t.run_backtest(scripted({}), bars(), currency={"SAP": "EUR"})


@pytest.mark.parametrize("config, param", [
    (dict(fx_spread=-0.1), "fx_spread"),
    (dict(fx_conversion="later"), "fx_conversion"),
    (dict(currency={"SAP": 3}), "currency"),
    (dict(cash={"EUR": 100.0}), "cash"),
    (dict(cash={"USD": 100.0, "EUR": math.nan}), "cash"),
])
def test_bad_fx_config_names_the_parameter(config, param):
    with pytest.raises(ConfigError, match=param):
        run({}, **config)


def test_bad_rates_name_row_and_column():
    fx = fx_table([1.10, -1.0, 1.2, 1.2])
    with pytest.raises(DataError) as e:
        run({}, fx=fx)
    assert e.value.row == 1 and e.value.column == "rate"
    with pytest.raises(ConfigError, match="GBP"):
        run({}, currency={"SAP": "GBP"})
    with pytest.raises(ConfigError, match="NOPE"):
        run({}, currency={"NOPE": "EUR"})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rates=st.lists(st.floats(0.8, 1.5), min_size=4, max_size=4),
       prices=st.lists(st.floats(50, 150), min_size=4, max_size=4),
       trades=st.lists(st.integers(-50, 50), min_size=4, max_size=4),
       hold=st.booleans())
def test_pnl_attribution_adds_up_and_books_sum_to_nav(rates, prices, trades, hold):
    """NAV - start = asset P&L + FX P&L (no costs), and NAV equals the per-currency
    books converted at the rates, every day, in both conversion modes."""
    plan = {i: [("SAP", q, {})] for i, q in enumerate(trades) if q}
    r = run(plan, df=bars(prices), fx=fx_table(rates), account="margin",
            fx_conversion="hold" if hold else "auto")
    p = r.portfolio
    pnl = p["nav"] - 100_000
    assert np.allclose(pnl, p["realized_pnl"] + p["unrealized_pnl"], atol=1e-6)
    books = r.strategy.broker._ledger.currency_books()
    assert sum((c + v) * rt for c, v, rt in books) == pytest.approx(p["nav"].iloc[-1], abs=1e-6)


GOLDEN = __import__("pathlib").Path(__file__).resolve().parents[1] / "golden"


def test_golden_fx_round_trip_hand_calculation():
    def expected(table):
        return pd.read_csv(GOLDEN / "fx_round_trip" / "expected" / f"{table}.csv")
    p = expected("portfolio")
    assert p["cash"].iloc[0] == pytest.approx(88_989)
    assert p["nav"].tolist()[:3] == pytest.approx([99_989, 100_949, 102_175.8])
    assert p["fx_pnl"].tolist()[:3] == pytest.approx([0, 500, 1_000])
    f = expected("fills").iloc[1]
    assert (f["realized_pnl"], f["fx_pnl"]) == (pytest.approx(2_200), pytest.approx(1_000))
    assert expected("conversions")["cost"].sum() == pytest.approx(24.2)
