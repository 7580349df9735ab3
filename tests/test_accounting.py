"""Accounting rules of ml4t/_core/accounting.pyx: cash, positions, FIFO P&L, trades, buying power.

Direct ``Ledger`` calls check the arithmetic; backtests check the same rules end to end
(trades table, rejections, ``on_insufficient="partial"``).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import day_ts, final, flat_bars, frame, order_rows, run
from ml4t._core.accounting import Ledger
from ml4t._core.enums import Reason
from ml4t.models import FixedCommission, PercentCommission

TS = day_ts(6)


# ------------------------------------------------------------------------ Ledger direct
class TestLedgerBasics:
    def test_buy_moves_cash_and_position(self):
        led = Ledger(1, 10_000.0)
        realized = led.apply_fill_py(0, 1, 0, 100, 10.0, 1.0)
        # cash 10000 - 100 * 10 - 1 commission = 8999
        assert realized == 0.0
        assert led.cash == pytest.approx(8_999.0)
        assert led.position(0) == 100
        assert led.avg_cost(0) == pytest.approx(10.0)
        # valued at the fill price until marked: nav = 8999 + 100 * 10 = 9999
        assert led.nav == pytest.approx(9_999.0)
        led.mark_prices(np.array([12.0]))
        # nav = 8999 + 100 * 12 = 10199
        assert led.nav == pytest.approx(10_199.0)
        assert led.unrealized == pytest.approx(200.0)   # 100 * (12 - 10)

    def test_partial_sell_realises_pnl_on_sold_part(self):
        led = Ledger(1, 10_000.0)
        led.apply_fill_py(0, 1, 0, 100, 10.0, 0.0)
        realized = led.apply_fill_py(1, 2, 0, -40, 12.0, 0.0)
        # 40 * (12 - 10) = 80; cash 10000 - 1000 + 480 = 9480; 60 left at cost 10
        assert realized == pytest.approx(80.0)
        assert led.cash == pytest.approx(9_480.0)
        assert led.position(0) == 60
        assert led.avg_cost(0) == pytest.approx(10.0)
        assert led.realized_total == pytest.approx(80.0)

    def test_fifo_over_two_lots(self):
        led = Ledger(1, 10_000.0)
        led.apply_fill_py(0, 1, 0, 100, 10.0, 0.0)   # lot 1: 100 @ 10
        led.apply_fill_py(1, 2, 0, 100, 12.0, 0.0)   # lot 2: 100 @ 12
        # average cost of both lots: (1000 + 1200) / 200 = 11
        assert led.avg_cost(0) == pytest.approx(11.0)
        realized = led.apply_fill_py(2, 3, 0, -150, 13.0, 0.0)
        # FIFO: 100 from lot 1 -> 100 * (13 - 10) = 300; 50 from lot 2 -> 50 * 1 = 50
        assert realized == pytest.approx(350.0)
        # the 50 left are lot 2's: cost 12 (an average-cost book would say 11)
        assert led.position(0) == 50
        assert led.avg_cost(0) == pytest.approx(12.0)

    def test_short_sale_credits_cash_and_nav_counts_it_once(self):
        led = Ledger(1, 10_000.0, True, True)
        led.apply_fill_py(0, 1, 0, -100, 50.0, 0.0)
        # proceeds credited: cash 10000 + 5000 = 15000; position -100
        assert led.cash == pytest.approx(15_000.0)
        assert led.position(0) == -100
        assert led.avg_cost(0) == pytest.approx(50.0)
        # nav = cash + qty * price = 15000 - 100 * 50 = 10000
        assert led.nav == pytest.approx(10_000.0)
        led.mark_prices(np.array([40.0]))
        # price falls to 40: nav = 15000 - 4000 = 11000 (the short gained 1000)
        assert led.nav == pytest.approx(11_000.0)
        realized = led.apply_fill_py(1, 2, 0, 100, 40.0, 0.0)
        # covering realises 100 * (50 - 40) = 1000; cash 15000 - 4000 = 11000, flat
        assert realized == pytest.approx(1_000.0)
        assert led.cash == pytest.approx(11_000.0) and led.position(0) == 0
        assert math.isnan(led.avg_cost(0))

    def test_nav_identity_with_long_and_short(self):
        led = Ledger(2, 10_000.0, True, True)
        led.apply_fill_py(0, 1, 0, 100, 10.0, 0.0)    # long A: cash -1000
        led.apply_fill_py(0, 2, 1, -50, 20.0, 0.0)    # short B: cash +1000
        led.mark_prices(np.array([11.0, 18.0]))
        # nav = 10000 + 100 * 11 - 50 * 18 = 10200
        assert led.cash == pytest.approx(10_000.0)
        assert led.nav == pytest.approx(10_200.0)
        assert led.gross_mv == pytest.approx(1_100.0 + 900.0)
        assert led.net_mv == pytest.approx(1_100.0 - 900.0)

    def test_reversal_realises_only_the_closed_leg(self):
        led = Ledger(1, 10_000.0, True, True)
        led.apply_fill_py(0, 1, 0, 100, 10.0, 0.0)
        realized = led.apply_fill_py(1, 2, 0, -200, 12.0, 0.0)
        # closing leg 100 * (12 - 10) = 200; opening leg: short 100 at 12
        assert realized == pytest.approx(200.0)
        assert led.position(0) == -100
        assert led.avg_cost(0) == pytest.approx(12.0)


class TestBuyingPowerDirect:
    def test_cash_account_rejects_fill_that_takes_cash_below_zero(self):
        led = Ledger(1, 1_000.0)
        # 100 * 10 + 1 = 1001 > 1000
        assert led.check_fill(0, 100, 10.0, 1.0) == Reason.INSUFFICIENT_CASH
        # exactly 1000 leaves cash at 0: allowed
        assert led.check_fill(0, 100, 10.0, 0.0) == 0

    def test_cash_account_short_needs_allow_short(self):
        assert Ledger(1, 1_000.0).check_fill(0, -1, 10.0, 0.0) == Reason.SHORT_NOT_ALLOWED
        assert Ledger(1, 1_000.0, False, True).check_fill(0, -1, 10.0, 0.0) == 0

    def test_cash_account_sell_of_holding_is_allowed_at_zero_cash(self):
        led = Ledger(1, 1_000.0)
        led.apply_fill_py(0, 1, 0, 100, 10.0, 0.0)       # cash 0
        # selling 50 @ 5 with 1 commission: cash 0 + 250 - 1 = 249 >= 0
        assert led.check_fill(0, -50, 5.0, 1.0) == 0
        # selling 101 would go short by 1
        assert led.check_fill(0, -101, 5.0, 0.0) == Reason.SHORT_NOT_ALLOWED

    def test_reg_t_margin_allows_2x_and_rejects_beyond(self):
        led = Ledger(1, 10_000.0, True, True, 0.5)
        # 2000 @ 10: gross 20000, 50% = 10000 <= nav 10000 -> allowed
        assert led.check_fill(0, 2_000, 10.0, 0.0) == 0
        # 2001 @ 10: 50% of 20010 = 10005 > nav 10000 -> insufficient margin
        assert led.check_fill(0, 2_001, 10.0, 0.0) == Reason.INSUFFICIENT_MARGIN
        # a short is held to the same rule
        assert led.check_fill(0, -2_001, 10.0, 0.0) == Reason.INSUFFICIENT_MARGIN

    def test_max_leverage_cap(self):
        led = Ledger(1, 10_000.0, True, True, 0.5, 1.5)
        # 1500 @ 10: gross 15000 = 1.5 * nav -> allowed (margin 7500 <= 10000 too)
        assert led.check_fill(0, 1_500, 10.0, 0.0) == 0
        # 1501 @ 10: margin 7505 fits, but gross 15010 > 1.5 * 10000
        assert led.check_fill(0, 1_501, 10.0, 0.0) == Reason.MAX_LEVERAGE

    def test_position_reducing_fill_allowed_even_when_under_margin(self):
        led = Ledger(1, 10_000.0, True, True, 0.5)
        led.apply_fill_py(0, 1, 0, 2_000, 10.0, 0.0)     # cash -10000
        led.mark_prices(np.array([6.0]))
        # nav = -10000 + 2000 * 6 = 2000; gross 12000 -> needs 6000 > 2000 (breach)
        assert led.nav == pytest.approx(2_000.0)
        assert led.check_fill(0, 100, 6.0, 0.0) == Reason.INSUFFICIENT_MARGIN
        assert led.check_fill(0, -100, 6.0, 0.0) == 0
        assert led.check_fill(0, -2_000, 6.0, 0.0) == 0


# --------------------------------------------------------------------- through the engine
class TestTradesEndToEnd:
    def test_reversal_booked_as_two_trades_with_split_commission(self):
        # opens: bar 1 10, bar 2 12, bar 3 11 (closes = opens)
        df = frame({"X": flat_bars([10.0, 10.0, 12.0, 11.0, 11.0])})
        plan = {0: [("X", 100, {})], 1: [("X", -200, {})], 2: [("X", 100, {})]}
        r = run(plan, df, cash=10_000, account="margin", commission=FixedCommission(10))
        # fills: +100 @ 10 (bar 1), -200 @ 12 (bar 2), +100 @ 11 (bar 3); $10 per order
        assert list(r.fills["qty"]) == [100, -200, 100]
        assert list(r.fills["price"]) == [10.0, 12.0, 11.0]
        # the reversal fill realises the long leg: 100 * (12 - 10) = 200
        assert r.fills["realized_pnl"].iloc[1] == pytest.approx(200.0)
        t = r.trades
        assert len(t) == 2
        long_, short = t.iloc[0], t.iloc[1]
        assert (long_["direction"], long_["entry_price"], long_["exit_price"], long_["qty"]) \
            == ("long", 10.0, 12.0, 100)
        assert (long_["entry_ts"], long_["exit_ts"]) == (TS[1], TS[2])
        # long trade: pnl 200; commission 10 (entry) + 5 (its half of the reversal's 10)
        assert long_["pnl"] == pytest.approx(200.0)
        assert long_["commission"] == pytest.approx(15.0)
        assert long_["pnl_net"] == pytest.approx(185.0)
        assert long_["bars"] == 1
        # short trade: 100 @ 12 -> 11: pnl 100; commission 5 + 10 (exit) = 15
        assert (short["direction"], short["entry_price"], short["exit_price"], short["qty"]) \
            == ("short", 12.0, 11.0, 100)
        assert (short["entry_ts"], short["exit_ts"]) == (TS[2], TS[3])
        assert short["pnl"] == pytest.approx(100.0)
        assert short["commission"] == pytest.approx(15.0)
        # cash: 10000 - 1000 - 10 + 2400 - 10 - 1100 - 10 = 10270 = 10000 + 200 + 100 - 30
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(10_270.0)
        assert r.portfolio["nav"].iloc[-1] == pytest.approx(10_270.0)
        # between bar 2 and 3 the book holds the short: -100 at cost 12
        pos = r.positions[r.positions["ts"] == TS[2]].iloc[0]
        assert pos["qty"] == -100 and pos["avg_cost"] == pytest.approx(12.0)

    def test_trade_entry_and_exit_prices_are_vwaps(self):
        # opens: bar 1 10, bar 2 12, bar 3 13, bar 4 14
        df = frame({"X": flat_bars([10.0, 10.0, 12.0, 13.0, 14.0, 14.0])})
        plan = {0: [("X", 100, {})], 1: [("X", 100, {})], 2: [("X", -50, {})],
                3: [("X", -150, {})]}
        r = run(plan, df, cash=10_000)
        assert len(r.trades) == 1
        t = r.trades.iloc[0]
        # entry (100 * 10 + 100 * 12) / 200 = 11; exit (50 * 13 + 150 * 14) / 200 = 13.75
        assert t["entry_price"] == pytest.approx(11.0)
        assert t["exit_price"] == pytest.approx(13.75)
        assert t["qty"] == 200
        # FIFO: 50 @ 13 from lot 10 -> 150; 50 @ 14 from lot 10 -> 200, 100 @ 14 from lot
        # 12 -> 200: fills realise 150 and 400; trade pnl 550 = 200 * (13.75 - 11)
        assert list(r.fills["realized_pnl"]) == pytest.approx([0.0, 0.0, 150.0, 400.0])
        assert t["pnl"] == pytest.approx(550.0)
        assert (t["entry_ts"], t["exit_ts"], t["bars"]) == (TS[1], TS[4], 3)

    def test_open_position_is_not_a_trade(self):
        df = frame({"X": flat_bars([10.0, 10.0, 12.0])})
        r = run({0: [("X", 10, {})]}, df, cash=1_000)
        assert r.trades.empty
        assert r.positions["qty"].iloc[-1] == 10


class TestBuyingPowerEndToEnd:
    def test_cash_account_rejects_insufficient_cash(self):
        df = frame({"X": flat_bars([10.0, 10.0, 10.0])})
        # 101 @ 10 = 1010 > 1000
        r = run({0: [("X", 101, {})]}, df, cash=1_000)
        last = final(r, 1)
        assert (last["status"], last["reason"], last["ts"]) == ("rejected",
                                                                "insufficient_cash", TS[1])
        assert r.fills.empty
        assert r.portfolio["cash"].iloc[-1] == 1_000.0

    def test_partial_fills_largest_whole_quantity_including_commission(self):
        df = frame({"X": flat_bars([10.0, 10.0, 10.0])})
        # 1% commission: each share costs 10 * 1.01 = 10.10. Without commission 100 would
        # fit; with it, 99 * 10.10 = 999.90 <= 1000 but 100 * 10.10 = 1010 > 1000 -> 99
        r = run({0: [("X", 150, {})]}, df, cash=1_000, on_insufficient="partial",
                commission=PercentCommission(0.01))
        f = r.fills.iloc[0]
        assert len(r.fills) == 1
        assert f["qty"] == 99
        assert f["commission"] == pytest.approx(9.9)       # 1% of 990
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(0.1)   # 1000 - 990 - 9.9
        rows = order_rows(r, 1)
        assert list(rows["status"]) == ["submitted", "accepted", "partially_filled",
                                        "canceled"]
        assert rows["reason"].iloc[-1] == "insufficient_cash"
        assert rows["filled"].iloc[-1] == 99

    def test_short_rejected_in_cash_account(self):
        df = frame({"X": flat_bars([10.0, 10.0, 10.0, 10.0])})
        # order 1 sells with no holding; order 2 (after buying 10) sells 15 -> 5 short
        plan = {0: [("X", -5, {}), ("X", 10, {})], 1: [("X", -15, {})]}
        r = run(plan, df, cash=1_000)
        for oid in (1, 3):
            last = final(r, oid)
            assert (last["status"], last["reason"]) == ("rejected", "short_not_allowed")
        assert list(r.fills["order_id"]) == [2]
        assert r.positions["qty"].iloc[-1] == 10

    def test_cash_account_with_allow_short_can_short(self):
        df = frame({"X": flat_bars([10.0, 10.0, 10.0])})
        r = run({0: [("X", -5, {})]}, df, cash=1_000, allow_short=True)
        # proceeds 5 * 10 = 50 credited
        assert list(r.fills["qty"]) == [-5]
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(1_050.0)

    def test_margin_account_reaches_2x_then_rejects_then_allows_reduction(self):
        df = frame({"X": flat_bars([10.0] * 5)})
        plan = {0: [("X", 2_000, {})], 1: [("X", 1, {})], 2: [("X", -500, {})]}
        r = run(plan, df, cash=10_000, account="margin")
        # 2000 @ 10: cash -10000, gross 20000 = 2 x nav 10000 -> leverage 2
        assert final(r, 1)["status"] == "filled"
        assert r.portfolio.loc[TS[1], "leverage"] == pytest.approx(2.0)
        assert r.portfolio.loc[TS[1], "cash"] == pytest.approx(-10_000.0)
        # one more share would need 50% of 20010 = 10005 > 10000
        last = final(r, 2)
        assert (last["status"], last["reason"]) == ("rejected", "insufficient_margin")
        # selling 500 reduces exposure -> always allowed
        assert final(r, 3)["status"] == "filled"
        assert r.positions["qty"].iloc[-1] == 1_500

    def test_margin_account_rejects_beyond_2x_in_one_order(self):
        df = frame({"X": flat_bars([10.0] * 3)})
        r = run({0: [("X", 2_001, {})]}, df, cash=10_000, account="margin")
        assert final(r, 1)["reason"] == "insufficient_margin"
        assert r.fills.empty

    def test_max_leverage_reason(self):
        df = frame({"X": flat_bars([10.0] * 3)})
        r = run({0: [("X", 1_501, {}), ("X", 1_500, {})]}, df, cash=10_000,
                account="margin", max_leverage=1.5)
        # 1501 @ 10 = 15010 > 1.5 * 10000 (margin 7505 would fit) -> max_leverage;
        # then 1500 @ 10 = 15000 exactly at the cap -> filled
        last = final(r, 1)
        assert (last["status"], last["reason"]) == ("rejected", "max_leverage")
        assert final(r, 2)["status"] == "filled"
        assert r.portfolio.loc[TS[1], "leverage"] == pytest.approx(1.5)

    def test_reducing_fill_allowed_after_adverse_move_in_margin_account(self):
        # bar 1 open 10 (buy 2000), then the price halves: open/close 5 on bars 2-3
        df = frame({"X": flat_bars([10.0, 10.0, 5.0, 5.0, 5.0], pad=0.1)})
        plan = {0: [("X", 2_000, {})], 2: [("X", 10, {}), ("X", -1_000, {})]}
        # maintenance requirements off, so no margin call liquidates first: this test is
        # about the pre-fill buying-power rule alone
        r = run(plan, df, cash=10_000, account="margin", maintenance_margin=(0.0, 0.0))
        # at bar 2: nav = -10000 + 2000 * 5 = 0 -> buying more is refused, selling is not
        assert r.portfolio.loc[TS[2], "nav"] == pytest.approx(0.0)
        assert final(r, 2)["status"] == "rejected"
        assert final(r, 3)["status"] == "filled"
        # cash -10000 + 1000 * 5 = -5000
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(-5_000.0)


# -------------------------------------------------------------- settling outside the market
class _Settle:
    """Buys ``qty`` of X on the first bar; on the bar ``at`` settles X at ``price``."""

    @staticmethod
    def strategy(qty, at, price, seen):
        import ml4t

        class Settle(ml4t.Strategy):
            def on_start(self):
                self.n = 0

            def on_bar(self, bars):
                if self.n == 0:
                    self.broker.order("X", qty)
                if self.n == at:
                    seen["fill"] = self.broker.settle_position("X", price)
                    seen["cash"] = self.broker.cash
                    seen["again"] = self.broker.settle_position("X", price)
                self.n += 1

            def on_fill(self, fill):
                seen.setdefault("on_fill", []).append(fill.order_id)

        return Settle


class TestSettlePosition:
    DF = frame({"X": flat_bars([10.0, 11.0, 12.0, 13.0, 14.0])})

    def _run(self, qty, price):
        import ml4t

        seen = {}
        res = ml4t.run_backtest(_Settle.strategy(qty, 2, price, seen), self.DF, cash=1_000.0,
                                commission=FixedCommission(1.0), allow_short=True)
        return res, seen

    def test_a_long_is_paid_at_the_price_with_no_commission(self):
        res, seen = self._run(10, 12.5)
        # bought 10 @ 11.0 (bar 1 open) for 110 + 1; settled 10 @ 12.5 on bar 2: +125
        assert seen["cash"] == pytest.approx(1_000.0 - 111.0 + 125.0)
        f = seen["fill"]
        assert (f.order_id, f.asset, f.qty, f.price, f.commission) == (0, "X", -10.0, 12.5, 0.0)
        assert f.realized_pnl == pytest.approx(15.0)           # 10 x (12.5 - 11.0)
        assert seen["again"] is None                           # flat now
        assert seen["on_fill"] == [1]                          # only the order's own fill
        fills = res.fills
        assert fills["order_id"].tolist() == [1, 0]
        assert fills["commission"].tolist() == [1.0, 0.0]
        t = res.trades
        assert len(t) == 1 and t["exit_price"].iloc[0] == 12.5
        assert t["pnl"].iloc[0] == pytest.approx(15.0)
        assert t["bars"].iloc[0] == 1                          # entered bar 1, closed bar 2
        assert res.portfolio["nav"].iloc[-1] == pytest.approx(1_014.0)
        assert res.portfolio["cash"].iloc[-1] == pytest.approx(1_014.0)

    def test_a_short_pays_the_price(self):
        res, seen = self._run(-5, 12.0)
        # sold 5 @ 11.0: +55 - 1; bought back by settlement 5 @ 12.0: -60
        assert seen["cash"] == pytest.approx(1_000.0 + 54.0 - 60.0)
        assert seen["fill"].qty == 5.0
        assert seen["fill"].realized_pnl == pytest.approx(-5.0)
        assert res.trades["direction"].tolist() == ["short"]

    @pytest.mark.parametrize("asset,price,match", [
        ("Y", 10.0, "unknown asset 'Y'"), ("X", 0.0, "positive finite"),
        ("X", float("nan"), "positive finite"), ("X", -3.0, "positive finite"),
    ])
    def test_bad_requests_are_refused_and_change_nothing(self, asset, price, match):
        import ml4t
        from ml4t.errors import OrderError

        seen = {}

        class Bad(ml4t.Strategy):
            def on_bar(self, bars):
                if not self.broker.position("X"):
                    self.broker.order("X", 10)
                    return
                if "err" not in seen:
                    before = (self.broker.cash, self.broker.position("X").qty)
                    with pytest.raises(OrderError, match=match):
                        self.broker.settle_position(asset, price)
                    seen["err"] = before == (self.broker.cash, self.broker.position("X").qty)

        res = ml4t.run_backtest(Bad, self.DF, cash=1_000.0)
        assert seen["err"] is True
        assert res.fills["order_id"].tolist() == [1]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(qty=st.integers(-50, 50).filter(bool),
       closes=st.lists(st.floats(1.0, 500.0), min_size=4, max_size=8),
       at=st.integers(1, 3))
def test_settling_at_the_mark_leaves_the_value_unchanged(qty, closes, at):
    """Whatever was held, settling it at the last close moves its value into cash: NAV
    before = NAV after = cash after, and the position is flat."""
    import ml4t

    seen = {}

    class S(ml4t.Strategy):
        def on_start(self):
            self.n = 0

        def on_bar(self, bars):
            if self.n == 0:
                self.broker.order("X", qty)
            elif self.n == at:
                seen["before"] = self.broker.value
                self.broker.settle_position("X", self.data.current("X", "close"))
                seen["after"] = (self.broker.value, self.broker.cash,
                                 self.broker.position("X").qty)
            self.n += 1

    df = frame({"X": flat_bars(closes)})
    ml4t.run_backtest(S, df, cash=100_000.0, allow_short=True)
    nav, cash, q = seen["after"]
    assert q == 0.0
    assert nav == pytest.approx(seen["before"], rel=1e-12)
    assert cash == pytest.approx(nav, rel=1e-12)
