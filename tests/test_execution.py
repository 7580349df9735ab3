"""Advanced orders, liquidity and contract rules of ml4t/_core/matching.pyx and costs.pyx.

Every number is worked out by hand from the rules in the module docstrings: trailing
stops (percent and amount; ``trail_source`` "close" vs "high_low"), brackets and OCO
groups (``intrabar_policy``), cancel/replace, volume-capped partial fills per time in
force, ``ContractSpec`` tick/lot rounding, ``VolumeShareSlippage`` and
``SquareRootImpact``. The last section holds hypothesis invariants over random streams
of these orders.

Bars are (open, high, low, close[, volume]) tuples stamped on consecutive XNYS sessions
(``conftest.day_ts``). With the default ``fill="next_open"`` an order placed in
``on_bar`` of bar k is matched from bar k+1 on.
"""
from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import day_ts, final, frame, intraday_ts, order_rows, run
from ml4t import ContractSpec, Strategy, run_backtest
from ml4t.models import SquareRootImpact, VolumeShareSlippage

TERMINAL = {"filled", "canceled", "rejected", "expired"}


def statuses(result, order_id):
    return list(order_rows(result, order_id)["status"])


def fills_of(result, order_id):
    return result.fills[result.fills["order_id"] == order_id].reset_index(drop=True)


# ============================================================================ trailing stops
class Trail(Strategy):
    """Long (or short) 10 X at bar 0's open, then a trailing stop placed at bar 0's close."""

    side = 1                    # +1: long, exit with a sell trail; -1: short, buy trail
    trail = {}

    def on_start(self):
        self.k = 0
        self.broker.order("X", 10 * self.side)          # fills at bar 0's open

    def on_bar(self, bars):
        if self.k == 0:
            self.stop = self.broker.order("X", -10 * self.side, **self.trail)
        self.k += 1


# A rising then falling path. Bar 0 closes at 100, where the trail starts.
UP_THEN_DOWN = [
    (100.0, 101.0, 99.0, 100.0),   # bar 0: entry at open 100; trail placed at close 100
    (101.0, 106.0, 100.0, 105.0),  # bar 1
    (108.0, 112.0, 107.0, 110.0),  # bar 2: the best close (110) and the best high (112)
    (104.0, 105.0, 100.0, 101.0),  # bar 3
    (100.0, 101.0, 97.0, 98.0),    # bar 4
    (98.0, 99.0, 96.0, 97.0),      # bar 5
]
DOWN_THEN_UP = [
    (100.0, 101.0, 99.0, 100.0),   # bar 0: short entry at 100; trail placed at close 100
    (99.0, 100.0, 94.0, 95.0),     # bar 1
    (93.0, 94.0, 89.0, 90.0),      # bar 2: the lowest close (90) and the lowest low (89)
    (92.0, 96.0, 91.0, 94.0),      # bar 3
    (95.0, 99.0, 94.0, 98.0),      # bar 4
]


def trail_exit(bars, trail, trail_source, side=1):
    r = run_backtest(Trail, frame({"X": bars}), params={"trail": trail, "side": side},
                     trail_source=trail_source, account="margin" if side < 0 else "cash")
    exits = fills_of(r, 2)
    assert len(exits) == 1, r.fills
    assert final(r, 2)["status"] == "filled"
    return exits.iloc[0], r


class TestTrailingStop:
    TS = day_ts(6)

    def test_percent_trail_following_closes(self):
        # stop = best close x 0.9: bar 0 100 -> 90; checked against bar 1 (low 100 > 90),
        # then close 105 -> 94.5; bar 2 (low 107 > 94.5), close 110 -> 99.0; bar 3 low
        # 100 > 99 (close 101 < 110: the stop stays 99); bar 4 low 97 <= 99 -> fills at
        # min(open 100, 99) = 99.0
        f, r = trail_exit(UP_THEN_DOWN, {"trail_percent": 0.10}, "close")
        assert f["ts"] == self.TS[4]
        assert f["ref_price"] == pytest.approx(99.0) and f["qty"] == -10
        assert final(r, 2)["stop_price"] == pytest.approx(99.0)

    def test_percent_trail_following_highs(self):
        # stop = best high x 0.9, starting from bar 0's close 100 -> 90; bar 1 high 106 ->
        # 95.4; bar 2 (low 107 > 95.4), high 112 -> 100.8; bar 3 low 100 <= 100.8 -> fills
        # at min(open 104, 100.8) = 100.8, one bar earlier than the close-based trail
        f, _ = trail_exit(UP_THEN_DOWN, {"trail_percent": 0.10}, "high_low")
        assert f["ts"] == self.TS[3]
        assert f["ref_price"] == pytest.approx(100.8)

    def test_amount_trail_following_closes(self):
        # stop = best close - 8: 92; bar 1 close 105 -> 97; bar 2 close 110 -> 102; bar 3
        # low 100 <= 102 -> fills at min(open 104, 102) = 102.0
        f, _ = trail_exit(UP_THEN_DOWN, {"trail_amount": 8.0}, "close")
        assert f["ts"] == self.TS[3]
        assert f["ref_price"] == 102.0

    def test_amount_trail_following_highs(self):
        # stop = best high - 8: 92; bar 1 high 106 -> 98; bar 2 high 112 -> 104; bar 3
        # opens at 104 <= 104 -> fills at min(open 104, 104) = 104.0
        f, _ = trail_exit(UP_THEN_DOWN, {"trail_amount": 8.0}, "high_low")
        assert f["ts"] == self.TS[3]
        assert f["ref_price"] == 104.0

    def test_the_bar_is_checked_against_the_stop_as_it_stood(self):
        # trail_amount 3 on highs: 97 before bar 1. Bar 1's own high 106 would make it 103,
        # above bar 1's low 100 -- but bar 1 is checked against 97 (low 100 > 97: no fill)
        # and only then moves the stop to 103. Bar 2: low 107 > 103; high 112 -> 109.
        # Bar 3: low 100 <= 109, open 104 below the stop -> fills at the worse open 104
        f, _ = trail_exit(UP_THEN_DOWN, {"trail_amount": 3.0}, "high_low")
        assert f["ts"] == self.TS[3] and f["ref_price"] == 104.0

    def test_buy_trail_covers_a_short_following_closes(self):
        # short 10 at 100; buy stop = lowest close + 5: 105; bar 1 close 95 -> 100; bar 2
        # (high 94 < 100) close 90 -> 95; bar 3 high 96 >= 95 -> fills at max(open 92, 95)
        f, _ = trail_exit(DOWN_THEN_UP, {"trail_amount": 5.0}, "close", side=-1)
        assert f["ts"] == self.TS[3]
        assert f["ref_price"] == 95.0 and f["qty"] == 10

    def test_buy_trail_covers_a_short_following_lows(self):
        # buy stop = lowest low + 5: 105 (from the close 100); bar 1 low 94 -> 99; bar 2
        # (high 94 < 99) low 89 -> 94; bar 3 high 96 >= 94 -> fills at max(open 92, 94) = 94
        f, _ = trail_exit(DOWN_THEN_UP, {"trail_amount": 5.0}, "high_low", side=-1)
        assert f["ts"] == self.TS[3]
        assert f["ref_price"] == 94.0


    def test_a_canceled_trail_stops_moving(self):
        class TrailAndLimit(Strategy):
            def on_start(self):
                self.k = 0
                self.broker.order("X", 10)                       # 1: fills at bar 0's open

            def on_bar(self, bars):
                if self.k == 0:
                    self.trail = self.broker.order("X", -10, trail_amount=3.0)      # 2
                    self.broker.order("X", -10, limit_price=104.0, oco=self.trail)  # 3
                if self.k == 3:
                    self.seen = self.broker.get_order(self.trail.id)
                self.k += 1

        bars = [(100.0, 100.5, 99.5, 100.0),   # bar 0: trail from close 100 -> stop 97
                (101.0, 102.0, 100.0, 101.5),  # bar 1: low 100 > 97; close 101.5 -> 98.5
                (102.0, 105.0, 101.5, 104.5),  # bar 2: high 105 >= 104: the limit fills
                (100.0, 100.5, 95.0, 96.0)]    # bar 3: low 95 would trigger a live trail
        r = run_backtest(TrailAndLimit, frame({"X": bars}))
        # the limit fills at max(102, 104) = 104 on bar 2 and cancels the trail, whose stop
        # was 98.5 then. A canceled order no longer trails: bar 2's close 104.5 must not
        # move it to 101.5, and it never fills
        assert r.fills[["order_id", "price"]].values.tolist() == [[1, 100.0], [3, 104.0]]
        assert (final(r, 2)["status"], final(r, 2)["reason"]) == ("canceled", "oco_canceled")
        assert r.strategy.seen.status == "canceled"
        assert r.strategy.seen.stop_price == 98.5
        assert final(r, 2)["stop_price"] == 98.5


# ============================================================================ brackets
class Bracket(Strategy):
    """A bracket placed at bar 0's close; ``kw`` goes to ``broker.bracket``."""

    kw = {}
    qty = 10

    def on_start(self):
        self.k = 0
        self.snapshots = {}

    def on_bar(self, bars):
        if self.k == 0:
            self.legs = self.broker.bracket("X", self.qty, **self.kw)
        self.snapshots[self.k] = {o.id: o for o in self.broker.get_open_orders()}
        self.k += 1


def bracket(bars, kw, qty=10, ts=None, **config):
    return run_backtest(Bracket, frame({"X": bars}, ts), params={"kw": kw, "qty": qty},
                        **config)


BOTH_TOUCHED = [
    (100.0, 100.5, 99.5, 100.0),   # bar 0: bracket placed (market entry)
    (100.0, 101.0, 99.0, 100.0),   # bar 1: entry fills at the open 100; exits start next bar
    (100.0, 112.0, 94.0, 100.0),   # bar 2: high 112 >= TP 110 and low 94 <= SL 95
    (100.0, 101.0, 99.0, 100.0),   # bar 3
]
TP_SL = {"take_profit": 110.0, "stop_loss": 95.0}


class TestBracket:
    TS = day_ts(4)

    def test_both_legs_touched_stop_wins_by_default(self):
        r = bracket(BOTH_TOUCHED, TP_SL)
        # entry (order 1) at bar 1's open 100; bar 2 touches both exits; stop_first: the
        # stop (order 3) fills at min(open 100, 95) = 95, the limit (2) is canceled
        assert list(r.fills["order_id"]) == [1, 3]
        assert r.fills["price"].tolist() == [100.0, 95.0]
        assert r.fills["ts"].tolist() == [self.TS[1], self.TS[2]]
        assert (final(r, 2)["status"], final(r, 2)["reason"]) == ("canceled", "oco_canceled")
        assert final(r, 2)["filled"] == 0
        # the round trip lost 10 x (95 - 100) = -50
        assert r.trades["pnl"].tolist() == [-50.0]

    def test_both_legs_touched_limit_first(self):
        r = bracket(BOTH_TOUCHED, TP_SL, intrabar_policy="limit_first")
        # the take-profit (order 2) fills at max(open 100, 110) = 110; the stop is canceled
        assert list(r.fills["order_id"]) == [1, 2]
        assert r.fills["price"].tolist() == [100.0, 110.0]
        assert (final(r, 3)["status"], final(r, 3)["reason"]) == ("canceled", "oco_canceled")
        assert r.trades["pnl"].tolist() == [100.0]             # 10 x (110 - 100)

    def test_both_legs_touched_nearest_open_picks_the_stop(self):
        # open 100: the stop's price 95 is 5 away, the limit's 110 is 10 away -> stop at 95
        r = bracket(BOTH_TOUCHED, TP_SL, intrabar_policy="nearest_open")
        assert list(r.fills["order_id"]) == [1, 3]
        assert r.fills["price"].iloc[1] == 95.0

    def test_both_legs_touched_nearest_open_picks_the_limit(self):
        bars = list(BOTH_TOUCHED)
        bars[2] = (108.0, 112.0, 94.0, 100.0)
        # open 108: the limit 110 is 2 away, the stop 95 is 13 away -> the limit fills at
        # max(108, 110) = 110 (stop_first would have filled the stop at min(108, 95) = 95)
        r = bracket(bars, TP_SL, intrabar_policy="nearest_open")
        assert list(r.fills["order_id"]) == [1, 2]
        assert r.fills["price"].iloc[1] == 110.0
        r2 = bracket(bars, TP_SL)
        assert list(r2.fills["order_id"]) == [1, 3] and r2.fills["price"].iloc[1] == 95.0

    def test_exits_are_held_until_the_entry_fills(self):
        bars = [
            (100.0, 100.5, 99.5, 100.0),   # bar 0: bracket with a buy limit entry at 98
            (100.0, 111.0, 99.0, 100.0),   # bar 1: low 99 > 98: no entry; high 111 >= TP
            (99.0, 99.5, 97.0, 99.0),      # bar 2: low 97 <= 98: entry at min(99, 98) = 98
            (101.0, 111.0, 100.0, 110.0),  # bar 3: high 111 >= 110: TP at max(101, 110)
        ]
        r = bracket(bars, dict(TP_SL, limit_price=98.0))
        # the TP is not live on bar 1 although bar 1 reaches 111: it waits for the entry
        assert list(r.fills["order_id"]) == [1, 2]
        assert r.fills["price"].tolist() == [98.0, 110.0]
        assert r.fills["ts"].tolist() == [day_ts(4)[2], day_ts(4)[3]]
        # while held, the exits show as 'submitted' in get_open_orders
        held = r.strategy.snapshots[1]
        assert held[2].status == "submitted" and held[3].status == "submitted"
        assert held[1].status == "accepted"
        # accepted (for the entry's filled quantity, -10) on the bar the entry filled
        rows = order_rows(r, 2)
        assert list(rows["status"]) == ["submitted", "accepted", "filled"]
        assert rows["ts"].iloc[1] == day_ts(4)[2]
        assert final(r, 3)["reason"] == "oco_canceled"

    def test_exits_are_canceled_when_the_entry_expires_unfilled(self):
        bars = [(100.0, 100.5, 99.5, 100.0), (100.0, 101.0, 99.0, 100.0),
                (100.0, 101.0, 99.0, 100.0)]
        # DAY buy limit 90 never fills (lows 99) and expires at the end of bar 1's session
        r = bracket(bars, dict(TP_SL, limit_price=90.0, time_in_force="DAY"))
        assert r.fills.empty
        assert (final(r, 1)["status"], final(r, 1)["reason"]) == ("expired", "day_expired")
        for oid in (2, 3):
            last = final(r, oid)
            assert (last["status"], last["reason"]) == ("canceled", "parent_canceled")
            assert last["ts"] == day_ts(3)[1]
            assert statuses(r, oid) == ["submitted", "canceled"]      # never accepted

    def test_a_partial_exit_shrinks_the_other_leg(self):
        bars = [
            (100.0, 100.5, 99.5, 100.0, 10_000),  # bar 0: bracket, entry 100 shares
            (100.0, 101.0, 99.0, 100.0, 10_000),  # bar 1: entry 100 @ 100 (cap 500)
            (100.0, 111.0, 99.0, 100.0, 1_000),   # bar 2: TP touched, cap 5% x 1000 = 50
            (99.0, 100.0, 94.0, 96.0, 10_000),    # bar 3: stop 95 touched, high < TP
            (96.0, 97.0, 95.5, 96.0, 10_000),     # bar 4
        ]
        r = bracket(bars, TP_SL, qty=100, volume_limit=0.05)
        ts = day_ts(5)
        # TP (2) sells 50 of 100 at 110 on bar 2; the stop (3) shrinks to -50 and sells
        # those 50 at min(open 99, 95) = 95 on bar 3; the TP's remaining 50 is canceled
        assert r.fills[["order_id", "qty", "price"]].values.tolist() == [
            [1, 100, 100.0], [2, -50, 110.0], [3, -50, 95.0]]
        open_after_tp = r.strategy.snapshots[2]
        assert open_after_tp[3].qty == -50 and open_after_tp[2].remaining == -50
        assert (final(r, 3)["status"], final(r, 3)["qty"]) == ("filled", -50)
        tp = final(r, 2)
        assert (tp["status"], tp["reason"], tp["filled"]) == ("canceled", "oco_canceled", -50)
        assert tp["ts"] == ts[3]
        # flat: realised 50 x 10 + 50 x (-5) = 250
        assert r.portfolio["realized_pnl"].iloc[-1] == pytest.approx(250.0)
        assert r.positions[r.positions["ts"] == ts[4]].empty


# ============================================================================ OCO groups
class Oco(Strategy):
    """Long 10 at bar 0's open; at bar 0's close a sell limit 110 and a sell stop 95 in one
    OCO group; ``cancel_at`` cancels the limit in on_bar of that bar."""

    cancel_at = -1

    def on_start(self):
        self.k = 0
        self.broker.order("X", 10)

    def on_bar(self, bars):
        if self.k == 0:
            self.tp = self.broker.order("X", -10, limit_price=110.0)
            self.sl = self.broker.order("X", -10, stop_price=95.0, oco=self.tp)
        if self.k == self.cancel_at:
            self.canceled = self.broker.cancel(self.tp)
        self.k += 1


class TestOco:
    TS = day_ts(4)

    def test_first_fill_cancels_the_sibling(self):
        bars = [(100.0, 101.0, 99.0, 100.0), (101.0, 111.0, 100.0, 108.0),
                (100.0, 101.0, 90.0, 92.0), (92.0, 93.0, 91.0, 92.0)]
        r = run_backtest(Oco, frame({"X": bars}))
        # bar 1: high 111 >= 110 -> the limit (2) fills at max(101, 110) = 110; the stop (3)
        # is canceled at once, so bar 2's low 90 (<= 95) fills nothing
        assert r.fills[["order_id", "price"]].values.tolist() == [[1, 100.0], [2, 110.0]]
        last = final(r, 3)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "oco_canceled",
                                                                self.TS[1])

    def test_canceling_one_cancels_the_sibling(self):
        bars = [(100.0, 101.0, 99.0, 100.0), (100.0, 101.0, 99.0, 100.0),
                (100.0, 101.0, 90.0, 92.0), (92.0, 93.0, 91.0, 92.0)]
        r = run_backtest(Oco, frame({"X": bars}), params={"cancel_at": 1})
        assert r.strategy.canceled is True
        assert (final(r, 2)["status"], final(r, 2)["reason"]) == ("canceled", "user_cancel")
        last = final(r, 3)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "oco_canceled",
                                                                self.TS[1])
        # bar 2's low 90 would have triggered the stop: only the entry filled
        assert list(r.fills["order_id"]) == [1]

    def test_both_touched_in_one_bar_only_one_fills(self):
        bars = [(100.0, 101.0, 99.0, 100.0), (100.0, 111.0, 94.0, 100.0),
                (100.0, 101.0, 99.0, 100.0)]
        r = run_backtest(Oco, frame({"X": bars}))
        # stop_first: the stop (3) at min(100, 95) = 95; the limit (2) canceled
        assert r.fills[["order_id", "price"]].values.tolist() == [[1, 100.0], [3, 95.0]]
        assert final(r, 2)["reason"] == "oco_canceled"
        r = run_backtest(Oco, frame({"X": bars}), intrabar_policy="limit_first")
        assert r.fills[["order_id", "price"]].values.tolist() == [[1, 100.0], [2, 110.0]]
        assert final(r, 3)["reason"] == "oco_canceled"

    def test_a_member_canceled_by_its_sibling_ends_once(self):
        class IocPair(Strategy):
            def on_start(self):
                self.k = 0
                self.broker.order("X", 10)

            def on_bar(self, bars):
                if self.k == 0:
                    tp = self.broker.order("X", -10, limit_price=110.0, time_in_force="IOC")
                    self.broker.order("X", -10, stop_price=90.0, time_in_force="IOC", oco=tp)
                self.k += 1

        bars = [(100.0, 101.0, 99.0, 100.0)] * 3
        r = run_backtest(IocPair, frame({"X": bars}))
        # bar 1 (high 101 < 110, low 99 > 90) fills neither IOC: the limit (2) is canceled
        # ioc_unfilled, which cancels its sibling (3) oco_canceled -- and that is final:
        # order 3 must not get a second terminal row (canceled -> canceled)
        assert statuses(r, 2) == ["submitted", "accepted", "canceled"]
        assert final(r, 2)["reason"] == "ioc_unfilled"
        assert statuses(r, 3) == ["submitted", "accepted", "canceled"]
        assert final(r, 3)["reason"] == "oco_canceled"


# ============================================================================ cancel/replace
class Replace(Strategy):
    def on_start(self):
        self.k = 0

    def on_bar(self, bars):
        if self.k == 0:
            self.first = self.broker.order("X", 10, limit_price=95.0)
        elif self.k == 1:
            self.second = self.broker.replace(self.first, qty=20, limit_price=98.5)
        self.k += 1


class TestReplace:
    def test_replace_keeps_the_id_logs_replaced_and_the_new_price_fills(self):
        bars = [(100.0, 101.0, 99.0, 100.0), (100.0, 101.0, 98.0, 100.0),
                (100.0, 101.0, 98.0, 100.0), (100.0, 101.0, 98.0, 100.0)]
        r = run_backtest(Replace, frame({"X": bars}))
        ts = day_ts(4)
        s = r.strategy
        assert s.second.id == s.first.id == 1
        assert (s.second.limit_price, s.second.qty) == (98.5, 20)
        rows = order_rows(r, 1)
        # bar 1 (low 98 > 95): no fill at the old limit; replaced at bar 1's close
        assert list(rows["status"]) == ["submitted", "accepted", "accepted", "filled"]
        assert list(rows["reason"]) == ["", "", "replaced", ""]
        assert rows["ts"].iloc[2] == ts[1]
        # bar 2: low 98 <= 98.5 -> 20 at min(open 100, 98.5) = 98.5
        assert r.fills[["order_id", "qty", "price", "ts"]].values.tolist() == [
            [1, 20, 98.5, ts[2]]]
        assert len(r.orders[r.orders["order_id"] != 1]) == 0      # no new order was made


# ============================================================================ volume caps
# 1000 shares trade in every bar, so volume_limit=0.025 lets an asset take 25 a bar.
VOL = [(100.0 + i, 101.0 + i, 99.0 + i, 100.0 + i, 1_000) for i in range(5)]


class TestPartialFills:
    TS = day_ts(5)

    def test_gtc_spreads_over_three_bars(self):
        r = run({0: [("X", 75, {})]}, frame({"X": VOL}), volume_limit=0.025)
        # 0.025 x 1000 = 25 per bar: bars 1, 2, 3 at their opens 101, 102, 103
        assert r.fills[["qty", "price"]].values.tolist() == [[25, 101.0], [25, 102.0],
                                                              [25, 103.0]]
        assert r.fills["ts"].tolist() == list(self.TS[1:4])
        assert r.fills["qty"].sum() == 75
        rows = order_rows(r, 1)
        assert list(rows["status"]) == ["submitted", "accepted", "partially_filled",
                                        "partially_filled", "filled"]
        assert list(rows["filled"]) == [0, 0, 25, 50, 75]

    def test_ioc_is_canceled_after_a_partial_fill(self):
        r = run({0: [("X", 75, {"time_in_force": "IOC"})]}, frame({"X": VOL}),
                volume_limit=0.025)
        # 25 at bar 1's open 101, the other 50 canceled at once
        assert r.fills[["qty", "price"]].values.tolist() == [[25, 101.0]]
        last = final(r, 1)
        assert (last["status"], last["reason"], last["filled"], last["ts"]) == (
            "canceled", "ioc_unfilled", 25, self.TS[1])

    def test_day_order_expires_partially_filled(self):
        ts = intraday_ts(2, 3)        # two sessions of three hourly bars
        bars = [(100.0, 101.0, 99.0, 100.0, 1_000)] * 6
        r = run({0: [("X", 75, {"time_in_force": "DAY"})]}, frame({"X": bars}, ts),
                volume_limit=0.025)
        # 25 at bar 1 and 25 at bar 2 (same session), then expires at the session end;
        # nothing fills in the second session
        assert r.fills["qty"].tolist() == [25, 25]
        assert r.fills["ts"].tolist() == [ts[1], ts[2]]
        last = final(r, 1)
        assert (last["status"], last["reason"], last["filled"], last["ts"]) == (
            "expired", "day_expired", 50, ts[2])

    def test_fok_is_canceled_when_volume_is_short(self):
        r = run({0: [("X", 75, {"time_in_force": "FOK"}), ("X", 20, {"time_in_force": "FOK"})]},
                frame({"X": VOL}), volume_limit=0.025)
        # 75 > 25 available: canceled, nothing filled; the second FOK (20 <= 25) fills whole
        last = final(r, 1)
        assert (last["status"], last["reason"], last["filled"]) == ("canceled",
                                                                    "fok_unfilled", 0)
        assert r.fills[["order_id", "qty", "price"]].values.tolist() == [[2, 20, 101.0]]

    def test_zero_volume_under_a_cap_means_no_fill(self):
        bars = list(VOL)
        bars[1] = (101.0, 102.0, 100.0, 101.0, 0)
        r = run({0: [("X", 10, {})]}, frame({"X": bars}), volume_limit=0.025)
        # bar 1 traded nothing -> no fill; bar 2 -> 10 at its open 102
        assert r.fills[["qty", "price", "ts"]].values.tolist() == [[10, 102.0, self.TS[2]]]
        # without a cap the same order fills at bar 1's open regardless of volume
        r0 = run({0: [("X", 10, {})]}, frame({"X": bars}))
        assert r0.fills["price"].tolist() == [101.0]

    def test_zero_volume_skip_waits_for_a_bar_that_traded(self):
        bars = list(VOL)
        bars[1] = (101.0, 102.0, 100.0, 101.0, 0)
        # no cap, zero_volume="skip": bar 1 traded nothing -> the market order waits for
        # bar 2's open 102; an IOC placed for bar 1 ends unfilled
        r = run({0: [("X", 10, {}), ("X", 5, {"time_in_force": "IOC"})]}, frame({"X": bars}),
                zero_volume="skip")
        assert r.fills[["order_id", "qty", "price", "ts"]].values.tolist() == [
            [1, 10, 102.0, self.TS[2]]]
        last = final(r, 2)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "ioc_unfilled",
                                                               self.TS[1])
        from ml4t.errors import ConfigError
        with pytest.raises(ConfigError, match="zero_volume"):
            run({}, frame({"X": bars}), zero_volume="never")

    def test_orders_of_one_asset_share_the_cap_in_sequence(self):
        r = run({0: [("X", 20, {}), ("X", 20, {})]}, frame({"X": VOL}), volume_limit=0.025)
        # bar 1: order 1 takes 20 of 25, order 2 the other 5; bar 2: order 2's last 15
        assert r.fills[["order_id", "qty", "ts"]].values.tolist() == [
            [1, 20, self.TS[1]], [2, 5, self.TS[1]], [2, 15, self.TS[2]]]


# ============================================================================ contracts
class TestContractSpec:
    SPEC = {"X": ContractSpec(tick_size=0.25, lot_size=10, min_qty=20)}
    BARS = [(100.0, 100.5, 99.5, 100.0)] * 3

    def test_prices_round_to_the_tick_never_worse(self):
        plan = {0: [("X", 30, {"limit_price": 100.13}),    # buy limit: down to 100.00
                    ("X", -30, {"limit_price": 100.13}),   # sell limit: up to 100.25
                    ("X", 30, {"stop_price": 100.13}),     # buy stop: up to 100.25
                    ("X", -30, {"stop_price": 100.13})]}   # sell stop: down to 100.00
        # 100.13 / 0.25 = 400.52 ticks: floor 400 -> 100.00, ceil 401 -> 100.25
        r = run(plan, frame({"X": self.BARS}), contracts=self.SPEC, account="margin")
        assert [final(r, i)["limit_price"] for i in (1, 2)] == [100.0, 100.25]
        assert [final(r, i)["stop_price"] for i in (3, 4)] == [100.25, 100.0]

    def test_quantities_round_toward_zero_to_the_lot(self):
        r = run({0: [("X", 37, {"limit_price": 90.0}), ("X", -37, {"limit_price": 110.0}),
                     ("X", 25, {"limit_price": 90.0})]},
                frame({"X": self.BARS}), contracts=self.SPEC, account="margin")
        # 37 -> 30 and -37 -> -30 (3 lots of 10), 25 -> 20 (= min_qty: accepted)
        assert [final(r, i)["qty"] for i in (1, 2, 3)] == [30, -30, 20]
        assert all(statuses(r, i)[:2] == ["submitted", "accepted"] for i in (1, 2, 3))

    def test_below_min_qty_is_rejected(self):
        r = run({0: [("X", 15, {})]}, frame({"X": self.BARS}), contracts=self.SPEC)
        # 15 -> 10 (one lot) < min_qty 20 -> rejected below_min_qty, never filled
        assert statuses(r, 1) == ["submitted", "rejected"]
        assert final(r, 1)["reason"] == "below_min_qty"
        assert r.strategy.placed[0].status == "rejected"
        assert r.fills.empty

    def test_a_filled_quantity_is_a_whole_number_of_lots_under_a_cap(self):
        # volume 1000 x 0.025 = 25 available -> rounded toward zero to the lot: 20 a bar
        bars = [(100.0, 100.5, 99.5, 100.0, 1_000)] * 4
        r = run({0: [("X", 40, {})]}, frame({"X": bars}), contracts=self.SPEC,
                volume_limit=0.025)
        assert r.fills["qty"].tolist() == [20, 20]


# ============================================================================ impact models
FLAT = [(100.0, 100.5, 99.5, 100.0, 1_000)] * 6


class TestVolumeShareSlippage:
    def test_small_buy_and_sell(self):
        # buy 10 of volume 1000: share 0.01 -> 100 x (1 + 0.1 x 0.01^2) = 100.001
        r = run({0: [("X", 10, {})], 2: [("X", -10, {})]}, frame({"X": FLAT}),
                slippage=VolumeShareSlippage(volume_limit=0.025, price_impact=0.1))
        assert r.fills["ref_price"].tolist() == [100.0, 100.0]
        assert r.fills["price"].iloc[0] == pytest.approx(100.001, rel=1e-12)
        # sell 10: 100 x (1 - 0.1 x 0.0001) = 99.999
        assert r.fills["price"].iloc[1] == pytest.approx(99.999, rel=1e-12)

    def test_large_order_is_capped_and_priced_at_the_capped_share(self):
        r = run({0: [("X", 60, {})]}, frame({"X": FLAT}),
                slippage=VolumeShareSlippage(volume_limit=0.025, price_impact=0.1))
        # 0.025 x 1000 = 25 a bar: 25, 25, 10; share 0.025 -> 100 x (1 + 0.1 x 0.000625)
        # = 100.00625; the last 10: share 0.01 -> 100.001
        assert r.fills["qty"].tolist() == [25, 25, 10]
        assert r.fills["price"].tolist() == pytest.approx([100.00625, 100.00625, 100.001],
                                                          rel=1e-12)

    def test_share_is_capped_at_the_volume_limit(self):
        m = VolumeShareSlippage(volume_limit=0.025, price_impact=0.1)
        # 50 / 1000 = 0.05 is capped at 0.025 -> 100 x (1 + 0.1 x 0.025^2) = 100.00625
        assert m.fill_price(100.0, 50.0, 1_000.0) == pytest.approx(100.00625, rel=1e-12)
        assert m.fill_price(100.0, -50.0, 1_000.0) == pytest.approx(99.99375, rel=1e-12)

    def test_the_tighter_of_engine_and_model_caps_wins(self):
        r = run({0: [("X", 60, {})]}, frame({"X": FLAT}), volume_limit=0.05,
                slippage=VolumeShareSlippage(volume_limit=0.025, price_impact=0.1))
        # engine 5% (50) vs model 2.5% (25): 25 a bar
        assert r.fills["qty"].tolist() == [25, 25, 10]


class TestSquareRootImpact:
    # closes 100, 110, 99, 108.9: returns +10%, -10%, +10%; volumes 1000, 2000, 3000
    BARS = [
        (100.0, 101.0, 99.0, 100.0, 50_000),     # bar 0: base close only (volume unused)
        (110.0, 111.0, 109.0, 110.0, 1_000),     # bar 1: +10%
        (99.0, 100.0, 98.0, 99.0, 2_000),        # bar 2: -10%
        (108.9, 109.0, 108.0, 108.9, 3_000),     # bar 3: +10%; the order is placed here
        (100.0, 160.0, 99.0, 150.0, 900_000),    # bar 4: fill bar (its return and volume
    ]                                            #        must not count)

    def test_impact_from_the_window_before_the_fill_bar(self):
        r = run({3: [("X", 500, {})]}, frame({"X": self.BARS}), cash=1e6,
                slippage=SquareRootImpact(coefficient=1.0, window=3))
        # mean return 0.1/3; deviations 2/30, -4/30, 2/30; sample variance
        # (4 + 16 + 4) / 900 / 2 = 0.04/3 -> sigma = 0.2 / sqrt(3) = 0.1154700538
        # adv = (1000 + 2000 + 3000) / 3 = 2000; sqrt(500 / 2000) = 0.5
        # impact = 1.0 x 0.11547 x 0.5 = 0.0577350269 -> 100 x 1.0577350269 = 105.77350269
        sigma = statistics.stdev([110 / 100 - 1, 99 / 110 - 1, 108.9 / 99 - 1])
        assert sigma == pytest.approx(0.2 / math.sqrt(3), rel=1e-9)
        f = r.fills.iloc[0]
        assert f["ref_price"] == 100.0
        assert f["price"] == pytest.approx(100.0 * (1 + 0.1 / math.sqrt(3)), rel=1e-9)
        assert f["price"] == pytest.approx(105.7735027, rel=1e-9)

    def test_sell_and_coefficient(self):
        # sell 500 short with coefficient 2: impact 2 x 0.0577350269 = 0.1154700538
        # -> 100 x (1 - 0.11547) = 88.45299462
        r = run({3: [("X", -500, {})]}, frame({"X": self.BARS}), account="margin",
                slippage=SquareRootImpact(coefficient=2.0, window=3))
        assert r.fills["price"].iloc[0] == pytest.approx(88.45299462, rel=1e-9)

    def test_no_impact_with_fewer_than_two_returns(self):
        # filled on bar 1: one bar (bar 0) before it, no return at all -> the open 110
        r = run({0: [("X", 500, {})]}, frame({"X": self.BARS}), cash=1e6,
                slippage=SquareRootImpact(coefficient=1.0, window=3))
        assert r.fills["price"].iloc[0] == 110.0


# ============================================================================ invariants
PROPS = settings(max_examples=50, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def paths(draw):
    n = draw(st.integers(3, 10))
    close = draw(st.floats(20.0, 200.0))
    rows = []
    for t in day_ts(n):
        o = close * (1 + draw(st.floats(-0.04, 0.04)))
        close = o * (1 + draw(st.floats(-0.08, 0.08)))
        h = max(o, close) * (1 + draw(st.floats(0.0, 0.04)))
        lo = min(o, close) * (1 - draw(st.floats(0.0, 0.04)))
        v = draw(st.sampled_from([0.0, 200.0, 1_000.0, 5_000.0]))
        rows.append({"ts": t, "asset": "X", "open": o, "high": h, "low": lo, "close": close,
                     "volume": v})
    return pd.DataFrame(rows), n


ACTIONS = st.tuples(
    st.integers(0, 9),                                             # bar
    st.sampled_from(["market", "limit", "stop", "trail", "oco", "bracket", "cancel",
                     "replace"]),
    st.integers(1, 80).flatmap(lambda q: st.sampled_from([q, -q])),
    st.floats(-0.06, 0.06),                                        # price offset
    st.sampled_from(["GTC", "GTC", "DAY", "IOC", "FOK"]),
)


class RandomAdvanced(Strategy):
    actions = ()

    def on_start(self):
        self.k = 0
        self.oco_pairs = []
        self.brackets = []

    def on_bar(self, bars):
        b = self.broker
        px = self.data.current("X")
        for bar, kind, qty, off, tif in self.actions:
            if bar != self.k:
                continue
            if kind == "cancel" or kind == "replace":
                live = [o for o in b.get_open_orders() if o.type in ("limit", "stop")]
                if live:
                    o = live[0]
                    if kind == "cancel":
                        b.cancel(o)
                    elif o.type == "limit":
                        b.replace(o, limit_price=px * (1 + off))
                    else:
                        b.replace(o, stop_price=px * (1 + off))
            elif kind == "market":
                b.order("X", qty, time_in_force=tif)
            elif kind == "limit":
                b.order("X", qty, limit_price=px * (1 - abs(off) * math.copysign(1, qty)),
                        time_in_force=tif)
            elif kind == "stop":
                b.order("X", qty, stop_price=px * (1 + abs(off) * math.copysign(1, qty)),
                        time_in_force=tif)
            elif kind == "trail":
                b.order("X", qty, trail_percent=max(abs(off), 0.005), time_in_force=tif)
            elif kind == "oco":
                s = math.copysign(1, qty)
                first = b.order("X", qty, limit_price=px * (1 - s * (abs(off) + 0.001)),
                                time_in_force=tif)
                second = b.order("X", qty, stop_price=px * (1 + s * (abs(off) + 0.001)),
                                 time_in_force=tif, oco=first)
                self.oco_pairs.append((first.id, second.id))
            elif kind == "bracket":
                s = math.copysign(1, qty)
                w = abs(off) + 0.005
                legs = b.bracket("X", qty, take_profit=px * (1 + s * w),
                                 stop_loss=px * (1 - s * w), time_in_force=tif)
                self.brackets.append(tuple(o.id for o in legs))
        self.k += 1


CONFIGS = st.fixed_dictionaries({
    "fill": st.sampled_from(["next_open", "next_close"]),
    "volume_limit": st.sampled_from([None, 0.025, 0.1, 1.0]),
    "intrabar_policy": st.sampled_from(["stop_first", "limit_first", "nearest_open"]),
    "trail_source": st.sampled_from(["close", "high_low"]),
    "on_insufficient": st.sampled_from(["reject", "partial"]),
})


def advanced_run(df, actions, cfg):
    return run_backtest(RandomAdvanced, df, params={"actions": actions}, account="margin",
                        cash=1e6, calendar=None, **cfg)


@PROPS
@given(paths(), st.lists(ACTIONS, min_size=1, max_size=12), CONFIGS)
def test_advanced_order_invariants(path, actions, cfg):
    df, _ = path
    r = advanced_run(df, tuple(actions), cfg)
    fills, orders = r.fills, r.orders
    bars = df.set_index("ts")
    # 1. every reference price lies within the fill bar's [low, high]
    for _, f in fills.iterrows():
        bar = bars.loc[f["ts"]]
        assert bar["low"] - 1e-9 <= f["ref_price"] <= bar["high"] + 1e-9, (f, bar)
    # 2. an order never fills more than its quantity (also under caps and partial fills)
    per_order = fills.groupby("order_id")["qty"].sum()
    for oid, total in per_order.items():
        q = order_rows(r, oid)["qty"].iloc[-1]
        assert abs(total) <= abs(q) + 1e-9 and total * q > 0, (oid, total, q)
        assert order_rows(r, oid)["filled"].iloc[-1] == pytest.approx(total)
    # under a cap, one bar's fills never exceed volume_limit x volume
    if cfg["volume_limit"] is not None:
        by_bar = fills.groupby("ts")["qty"].apply(lambda s: s.abs().sum())
        for t, q in by_bar.items():
            assert q <= cfg["volume_limit"] * bars.loc[t, "volume"] + 1e-9
    # 3. the two legs of an OCO never both fill; bracket exits never exceed the entry
    filled_ids = set(per_order.index)
    for a, b in r.strategy.oco_pairs:
        assert not (a in filled_ids and b in filled_ids), (a, b)
    for ids in r.strategy.brackets:
        if None in ids or len(ids) != 3:
            continue
        entry, tp, sl = ids
        exited = per_order.get(tp, 0.0) + per_order.get(sl, 0.0)
        assert abs(exited) <= abs(per_order.get(entry, 0.0)) + 1e-9
    # 4. a canceled, expired, rejected or filled order never changes again
    for oid, rows in orders.groupby("order_id", sort=False):
        st_list = list(rows["status"])
        ends = [i for i, s in enumerate(st_list) if s in TERMINAL]
        if ends:
            assert ends[0] == len(st_list) - 1, (oid, st_list)
            t_end = rows["ts"].iloc[ends[0]]
            f = fills[fills["order_id"] == oid]
            assert (f["ts"] <= t_end).all()
            if st_list[-1] != "filled":
                assert rows["filled"].iloc[-1] == pytest.approx(f["qty"].sum())


# ============================================================================ golden READMEs
# The key numbers that golden/{trailing_vs_limit,partial_fills,bracket}/README.md derive by
# hand, checked against the recorded expected/ files (so a careless --update fails here).
GOLDEN = __import__("pathlib").Path(__file__).resolve().parents[1] / "golden"


def expected(name, table):
    return pd.read_csv(GOLDEN / name / "expected" / f"{table}.csv")


def test_golden_trailing_vs_limit_numbers():
    fills = expected("trailing_vs_limit", "fills")
    # entries at 100 and 101; the 5 % trail exits at 108 x 0.95 = 102.6; the limit at 106
    assert fills[["order_id", "qty"]].values.tolist() == [[1, 100], [2, -100], [4, 100],
                                                          [6, -100]]
    assert fills["price"].tolist() == pytest.approx([100.0, 102.6, 101.0, 106.0])
    assert fills["realized_pnl"].tolist() == pytest.approx([0, 260, 0, 500])
    last = expected("trailing_vs_limit", "orders").groupby("order_id").last()
    for oid in (3, 5):
        assert (last.loc[oid, "status"], last.loc[oid, "reason"]) == ("canceled",
                                                                      "oco_canceled")
    assert last.loc[2, "stop_price"] == pytest.approx(102.6)
    assert last.loc[5, "stop_price"] == pytest.approx(101.0)
    cash = expected("trailing_vs_limit", "portfolio")["cash"].tolist()
    assert cash == pytest.approx([100000, 90000, 90000, 90000, 90000, 100260, 90160, 90160,
                                  100760, 100760])
    assert expected("trailing_vs_limit", "portfolio")["nav"].max() == pytest.approx(100800)
    trades = expected("trailing_vs_limit", "trades")
    assert trades["pnl"].tolist() == pytest.approx([260, 500])
    assert trades["bars"].tolist() == [4, 2]


def test_golden_partial_fills_numbers():
    fills = expected("partial_fills", "fills")
    assert fills[["order_id", "qty"]].values.tolist() == [[1, 100], [1, 50], [1, 100],
                                                          [2, -100], [3, 50]]
    assert fills["price"].tolist() == pytest.approx([50.2, 50.6, 50.4, 51.0, 50.8])
    assert fills["realized_pnl"].iloc[3] == pytest.approx(80)
    orders = expected("partial_fills", "orders")
    assert orders[orders["order_id"] == 1]["filled"].tolist()[-3:] == [100, 150, 250]
    last = orders.groupby("order_id").last()
    assert last.loc[2, ["status", "reason", "filled"]].tolist() == ["canceled",
                                                                   "ioc_unfilled", -100]
    assert last.loc[3, ["status", "reason", "filled"]].tolist() == ["expired",
                                                                   "day_expired", 50]
    cash = expected("partial_fills", "portfolio")["cash"].tolist()
    assert cash == pytest.approx([100000, 94980, 92450, 87410, 92510, 89970, 89970])
    assert expected("partial_fills", "portfolio")["nav"].iloc[-1] == pytest.approx(100210)
    pos = expected("partial_fills", "positions").iloc[-1]
    assert (pos["qty"], pos["avg_cost"], pos["unrealized_pnl"]) == pytest.approx(
        (200, 50.55, 130))
    assert expected("partial_fills", "trades").empty


def test_golden_bracket_numbers():
    fills = expected("bracket", "fills")
    assert fills[["order_id", "qty"]].values.tolist() == [[1, 100], [3, -100]]
    assert fills["price"].tolist() == pytest.approx([100.0, 97.0])
    assert fills["commission"].tolist() == pytest.approx([10.0, 9.7])
    assert fills["realized_pnl"].tolist() == pytest.approx([0, -300])
    orders = expected("bracket", "orders")
    last = orders.groupby("order_id").last()
    assert last.loc[2, ["status", "reason", "filled"]].tolist() == ["canceled",
                                                                   "oco_canceled", 0]
    for oid in (2, 3):
        rows = orders[orders["order_id"] == oid]
        assert rows["status"].tolist()[:2] == ["submitted", "accepted"]
        assert rows["ts"].tolist()[:2] == ["2024-01-02 21:00:00+00:00",
                                           "2024-01-03 21:00:00+00:00"]
    port = expected("bracket", "portfolio")
    assert port["cash"].tolist() == pytest.approx([100000, 89990, 89990, 99680.3, 99680.3])
    assert port["nav"].tolist()[1:3] == pytest.approx([100390, 100240])
    trades = expected("bracket", "trades")
    assert trades[["pnl", "commission", "pnl_net", "bars"]].iloc[0].tolist() == pytest.approx(
        [-300, 19.7, -319.7, 2])


# --------------------------------------------- OCO member partly filled under a cap
def _oco_capped_run(tif):
    """X: bars 0-1 at 20 without volume, bar 2 opens 19.375 and trades to 20.585938 on
    200 shares, bars 3-5 repeat its close, bar 4 on 200 shares. Bar 0: buy 1 at market;
    bar 1: a buy-limit 5 @ 19.98 and a buy-stop 5 @ 20.02 in one OCO group. With
    ``volume_limit=0.025`` bar 2 offers 5 shares: the market order takes 1, the stop
    (checked first) triggers and takes the other 4 at 20.02, which cancels the limit."""
    ts = pd.date_range("2024-01-02 21:00", periods=6, freq="B", tz="UTC")
    flat = (20.585938,) * 4
    rows = [(20.0,) * 4 + (0.0,), (20.0,) * 4 + (0.0,),
            (19.375, 20.585938, 19.375, 20.585938, 200.0), flat + (0.0,), flat + (200.0,),
            flat + (0.0,)]
    df = pd.DataFrame([dict(ts=t, asset="X", open=o, high=h, low=lo, close=c, volume=v)
                       for t, (o, h, lo, c, v) in zip(ts, rows)])
    cfg = {"fill": "next_open", "volume_limit": 0.025, "intrabar_policy": "stop_first",
           "trail_source": "close", "on_insufficient": "reject"}
    return advanced_run(df, ((0, "market", 1, 0.0, "GTC"), (1, "oco", 5, 0.0, tif)), cfg)


def test_oco_member_partly_filled_is_not_canceled_by_its_group():
    r = _oco_capped_run("GTC")
    statuses = {oid: list(rows["status"]) for oid, rows in r.orders.groupby("order_id")}
    assert statuses[2][-1] == "canceled"
    assert r.orders.loc[r.orders["order_id"] == 2, "reason"].iloc[-1] == "oco_canceled"
    # the stop keeps its remaining share and fills it on bar 4 (open 20.585938)
    assert statuses[3] == ["submitted", "accepted", "partially_filled", "filled"]
    assert r.fills[["order_id", "qty"]].values.tolist() == [[1, 1.0], [3, 4.0], [3, 1.0]]
    # the stop 20 x 1.001 (as a double), then the gap open of bar 4
    assert r.fills["price"].tolist() == [19.375, pytest.approx(20.02, abs=1e-12), 20.585938]


def test_ioc_oco_member_partly_filled_ends_once():
    r = _oco_capped_run("IOC")
    rows = r.orders[r.orders["order_id"] == 3]
    assert list(rows["status"]) == ["submitted", "accepted", "partially_filled", "canceled"]
    assert rows["reason"].iloc[-1] == "ioc_unfilled" and rows["filled"].iloc[-1] == 4.0
