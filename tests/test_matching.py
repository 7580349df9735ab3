"""Matching rules of ml4t/_core/matching.pyx, checked by hand on tiny bar frames.

Every test places orders through a scripted strategy (``conftest.scripted``) and reads the
fills and the order-lifecycle rows back from the result. Bar tuples are (open, high, low,
close); in the default ``fill="next_open"`` mode an order placed in ``on_bar`` of bar k is
matched against bar k+1.
"""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import day_ts, final, frame, intraday_ts, order_rows, run, scripted
from ml4t import Strategy, run_backtest

# A steadily rising asset used by most tests.
RISING = [
    (10.0, 10.5, 9.5, 10.2),   # bar 0
    (11.0, 11.5, 10.5, 11.2),  # bar 1
    (12.0, 12.5, 11.5, 12.2),  # bar 2
    (13.0, 13.5, 12.5, 13.2),  # bar 3
]
TS = day_ts(4)


def one_fill(result):
    assert len(result.fills) == 1, result.fills
    return result.fills.iloc[0]


# --------------------------------------------------------------------------- market orders
class TestMarket:
    def test_next_open_fills_at_next_bars_open(self):
        # Arrange: buy 10 X on bar 0
        df = frame({"X": RISING})
        # Act
        r = run({0: [("X", 10, {})]}, df, cash=1_000, fill="next_open")
        # Assert: filled at bar 1's open 11.0 -> cash 1000 - 10 * 11.0 = 890
        f = one_fill(r)
        assert f["ts"] == TS[1]
        assert f["price"] == 11.0 and f["ref_price"] == 11.0 and f["qty"] == 10
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(890.0)

    def test_next_close_fills_at_next_bars_close(self):
        df = frame({"X": RISING})
        r = run({0: [("X", 10, {})]}, df, cash=1_000, fill="next_close")
        # bar 1's close is 11.2 -> cash 1000 - 112 = 888
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 11.2
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(888.0)

    def test_same_close_fills_at_the_placing_bars_close(self):
        df = frame({"X": RISING})
        r = run({0: [("X", 10, {})]}, df, cash=1_000, fill="same_close")
        # cheat-on-close: bar 0's close 10.2, stamped bar 0 -> cash 1000 - 102 = 898
        f = one_fill(r)
        assert f["ts"] == TS[0] and f["price"] == 10.2
        assert r.portfolio.loc[TS[0], "cash"] == pytest.approx(898.0)
        # the position is valued at bar 0's close already: nav = 898 + 10 * 10.2 = 1000
        assert r.portfolio.loc[TS[0], "nav"] == pytest.approx(1_000.0)

    def test_order_placed_in_on_start_fills_at_first_bar_open(self):
        class Starter(Strategy):
            def on_start(self):
                self.broker.order("X", 5)

        r = run_backtest(Starter, frame({"X": RISING}), cash=1_000)
        # submitted before bar 0 -> filled at bar 0's open 10.0
        f = one_fill(r)
        assert f["ts"] == TS[0] and f["price"] == 10.0


# --------------------------------------------------------------------------- limit orders
class TestLimit:
    def test_buy_limit_fills_at_limit_when_low_touches_it(self):
        # bar 1: open 11.0, low 10.5 <= limit 10.8 -> min(11.0, 10.8) = 10.8
        r = run({0: [("X", 10, {"limit_price": 10.8})]}, frame({"X": RISING}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 10.8

    def test_buy_limit_gap_down_fills_at_the_better_open(self):
        bars = [RISING[0], (10.0, 10.4, 9.8, 10.1), RISING[2]]
        # bar 1 opens at 10.0, below the 10.8 limit -> fills at min(10.0, 10.8) = 10.0
        r = run({0: [("X", 10, {"limit_price": 10.8})]}, frame({"X": bars}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 10.0

    def test_buy_limit_waits_while_low_is_above_limit(self):
        bars = [RISING[0], (11.0, 11.5, 10.5, 11.2), (10.6, 10.7, 10.3, 10.5)]
        # limit 10.4: bar 1 low 10.5 > 10.4 -> no fill; bar 2 low 10.3 <= 10.4 -> fill at
        # min(open 10.6, 10.4) = 10.4
        r = run({0: [("X", 10, {"limit_price": 10.4})]}, frame({"X": bars}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == day_ts(3)[2] and f["price"] == 10.4

    def test_sell_limit_fills_at_limit_when_high_touches_it(self):
        # margin account so the sell opens a short; bar 1 high 11.5 >= 11.2 ->
        # max(open 11.0, 11.2) = 11.2
        r = run({0: [("X", -10, {"limit_price": 11.2})]}, frame({"X": RISING}), cash=1_000,
                account="margin")
        f = one_fill(r)
        assert f["qty"] == -10 and f["price"] == 11.2

    def test_sell_limit_gap_up_fills_at_the_better_open(self):
        bars = [RISING[0], (12.0, 12.5, 11.8, 12.2)]
        # bar 1 opens 12.0 above the 11.2 limit -> max(12.0, 11.2) = 12.0
        r = run({0: [("X", -10, {"limit_price": 11.2})]}, frame({"X": bars}), cash=1_000,
                account="margin")
        assert one_fill(r)["price"] == 12.0

    def test_sell_limit_waits_while_high_is_below_limit(self):
        # limit 11.6 > bar 1 high 11.5 -> no fill on bar 1; bar 2 high 12.5 >= 11.6,
        # open 12.0 above the limit -> max(12.0, 11.6) = 12.0
        r = run({0: [("X", -10, {"limit_price": 11.6})]}, frame({"X": RISING}), cash=1_000,
                account="margin")
        f = one_fill(r)
        assert f["ts"] == TS[2] and f["price"] == 12.0


# ---------------------------------------------------------------------------- stop orders
class TestStop:
    def test_buy_stop_triggers_on_high_and_fills_at_stop(self):
        # bar 1: high 11.5 >= stop 11.3, open 11.0 below -> max(11.0, 11.3) = 11.3
        r = run({0: [("X", 10, {"stop_price": 11.3})]}, frame({"X": RISING}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 11.3

    def test_buy_stop_gap_through_fills_at_the_worse_open(self):
        bars = [RISING[0], (12.0, 12.5, 11.8, 12.2)]
        # opens 12.0 above stop 11.3 -> max(12.0, 11.3) = 12.0
        r = run({0: [("X", 10, {"stop_price": 11.3})]}, frame({"X": bars}), cash=1_000)
        assert one_fill(r)["price"] == 12.0

    def test_buy_stop_not_triggered_below_high(self):
        # stop 13.6 is above every later high (11.5, 12.5, 13.5) -> never fills, and the
        # order is canceled when the data ends
        r = run({0: [("X", 10, {"stop_price": 13.6})]}, frame({"X": RISING}), cash=1_000)
        assert r.fills.empty
        last = final(r, 1)
        assert (last["status"], last["reason"]) == ("canceled", "end_of_data")

    def test_sell_stop_triggers_on_low_and_fills_at_stop(self):
        # bar 1: low 10.5 <= stop 10.8, open 11.0 above -> min(11.0, 10.8) = 10.8
        r = run({0: [("X", -10, {"stop_price": 10.8})]}, frame({"X": RISING}), cash=1_000,
                account="margin")
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 10.8

    def test_sell_stop_gap_down_fills_at_the_worse_open(self):
        bars = [RISING[0], (10.0, 10.4, 9.8, 10.1)]
        # opens 10.0 below stop 10.8 -> min(10.0, 10.8) = 10.0
        r = run({0: [("X", -10, {"stop_price": 10.8})]}, frame({"X": bars}), cash=1_000,
                account="margin")
        assert one_fill(r)["price"] == 10.0


# ----------------------------------------------------------------------- stop-limit orders
class TestStopLimit:
    def test_buy_triggered_intrabar_fills_at_stop_within_limit(self):
        # bar 1 opens 11.0 < stop 11.3, high 11.5 triggers; stop 11.3 <= limit 11.4 -> 11.3
        r = run({0: [("X", 10, {"stop_price": 11.3, "limit_price": 11.4})]},
                frame({"X": RISING}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 11.3

    def test_buy_triggered_intrabar_with_stop_above_limit_rests_as_limit(self):
        bars = [RISING[0], (11.0, 11.5, 10.5, 11.2), (11.4, 11.6, 11.0, 11.5)]
        # bar 1 triggers (high 11.5 >= 11.3) but stop 11.3 > limit 11.2: no fill on bar 1,
        # even though bar 1's low 10.5 is below the limit. From bar 2 it is a plain limit:
        # low 11.0 <= 11.2 -> min(open 11.4, 11.2) = 11.2
        r = run({0: [("X", 10, {"stop_price": 11.3, "limit_price": 11.2})]},
                frame({"X": bars}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == day_ts(3)[2] and f["price"] == 11.2

    def test_buy_gap_through_stop_acts_as_limit_for_whole_bar(self):
        # bar 1 opens 11.0 >= stop 10.5: gapped through, so a limit 10.8 for the whole bar:
        # low 10.5 <= 10.8 -> min(open 11.0, 10.8) = 10.8 (not the stop 10.5)
        r = run({0: [("X", 10, {"stop_price": 10.5, "limit_price": 10.8})]},
                frame({"X": RISING}), cash=1_000)
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 10.8

    def test_buy_gap_through_below_limit_fills_at_open(self):
        # gapped (open 11.0 >= stop 10.5), limit 11.4 above the open -> min(11.0, 11.4) = 11.0
        r = run({0: [("X", 10, {"stop_price": 10.5, "limit_price": 11.4})]},
                frame({"X": RISING}), cash=1_000)
        assert one_fill(r)["price"] == 11.0

    def test_sell_triggered_intrabar_fills_at_stop_within_limit(self):
        # bar 1 opens 11.0 > stop 10.8, low 10.5 triggers; stop 10.8 >= limit 10.7 -> 10.8
        r = run({0: [("X", -10, {"stop_price": 10.8, "limit_price": 10.7})]},
                frame({"X": RISING}), cash=1_000, account="margin")
        f = one_fill(r)
        assert f["ts"] == TS[1] and f["price"] == 10.8

    def test_sell_triggered_intrabar_with_stop_below_limit_rests_as_limit(self):
        bars = [RISING[0], (11.0, 11.5, 10.5, 11.2), (10.6, 11.1, 10.4, 10.8)]
        # bar 1 triggers (low 10.5 <= 10.8) but stop 10.8 < limit 10.9 -> no fill on bar 1
        # (though its high 11.5 >= 10.9). Bar 2 as a sell limit: high 11.1 >= 10.9 ->
        # max(open 10.6, 10.9) = 10.9
        r = run({0: [("X", -10, {"stop_price": 10.8, "limit_price": 10.9})]},
                frame({"X": bars}), cash=1_000, account="margin")
        f = one_fill(r)
        assert f["ts"] == day_ts(3)[2] and f["price"] == 10.9


# ---------------------------------------------------------------------- close-rule modes
class TestCloseRules:
    BARS = [
        (10.0, 10.5, 9.5, 10.2),   # bar 0
        (11.0, 11.5, 10.5, 11.2),  # bar 1: low 10.5, high 11.5, close 11.2
        (11.0, 11.5, 10.8, 10.9),  # bar 2: close 10.9
        (11.2, 11.6, 11.0, 11.4),  # bar 3: close 11.4
    ]

    def test_next_close_buy_limit_needs_close_at_or_below_limit(self):
        # limit 11.0: bar 1 low 10.5 would touch it intrabar, but close 11.2 > 11.0 -> no
        # fill; bar 2 close 10.9 <= 11.0 -> fill at the close 10.9
        r = run({0: [("X", 10, {"limit_price": 11.0})]}, frame({"X": self.BARS}),
                cash=1_000, fill="next_close")
        f = one_fill(r)
        assert f["ts"] == day_ts(4)[2] and f["price"] == 10.9

    def test_next_close_buy_stop_needs_close_at_or_above_stop(self):
        # stop 11.3: bar 1 high 11.5 would trigger intrabar, close 11.2 < 11.3 -> no; bar 2
        # close 10.9 -> no; bar 3 close 11.4 >= 11.3 -> fill at 11.4
        r = run({0: [("X", 10, {"stop_price": 11.3})]}, frame({"X": self.BARS}),
                cash=1_000, fill="next_close")
        f = one_fill(r)
        assert f["ts"] == day_ts(4)[3] and f["price"] == 11.4

    def test_next_close_sell_limit_and_sell_stop(self):
        # sell limit 11.1: bar 1 close 11.2 >= 11.1 -> fill 11.2 (order 1).
        # sell stop 11.0: bar 1 close 11.2 > 11.0 -> no; bar 2 close 10.9 <= 11.0 -> 10.9
        r = run({0: [("X", -10, {"limit_price": 11.1}), ("X", -10, {"stop_price": 11.0})]},
                frame({"X": self.BARS}), cash=1_000, fill="next_close", account="margin")
        fills = r.fills.set_index("order_id")
        assert fills.loc[1, "price"] == 11.2 and fills.loc[1, "ts"] == day_ts(4)[1]
        assert fills.loc[2, "price"] == 10.9 and fills.loc[2, "ts"] == day_ts(4)[2]

    def test_next_close_stop_limit_triggers_then_rests_as_limit(self):
        # buy stop 11.0 limit 11.1: bar 1 close 11.2 >= 11.0 triggers, but 11.2 > limit 11.1
        # -> no fill. Triggered, it is now a limit: bar 2 close 10.9 <= 11.1 -> fill at 10.9
        # (below the stop, which no longer matters)
        r = run({0: [("X", 10, {"stop_price": 11.0, "limit_price": 11.1})]},
                frame({"X": self.BARS}), cash=1_000, fill="next_close")
        f = one_fill(r)
        assert f["ts"] == day_ts(4)[2] and f["price"] == 10.9

    def test_same_close_limit_fills_on_placing_bar_only_if_close_qualifies(self):
        # order 1 buy limit 10.3 >= bar 0 close 10.2 -> fills at 10.2 on bar 0;
        # order 2 buy limit 10.0 < 10.2 -> waits; bar 2 close 10.9 still above, never fills
        r = run({0: [("X", 10, {"limit_price": 10.3}), ("X", 10, {"limit_price": 10.0})]},
                frame({"X": self.BARS}), cash=1_000, fill="same_close")
        assert list(r.fills["order_id"]) == [1]
        assert r.fills["price"].iloc[0] == 10.2 and r.fills["ts"].iloc[0] == day_ts(4)[0]


# ------------------------------------------------------------------------- time in force
class TestTimeInForce:
    # two sessions of three hourly bars: 2024-01-02 15:00/16:00/17:00 and 2024-01-03 ...
    TS6 = intraday_ts(2, 3)
    BARS6 = [(10.0, 10.5, 9.5, 10.2)] * 6

    def test_day_order_expires_at_end_of_its_first_session(self):
        # limit 9.0 is never reached (lows 9.5). Placed on bar 0, it could first match on
        # bar 1 (same session) -> expires at the end of session 1, stamped at bar 2 (17:00)
        r = run({0: [("X", 10, {"limit_price": 9.0, "time_in_force": "DAY"})]},
                frame({"X": self.BARS6}, self.TS6), cash=1_000)
        last = final(r, 1)
        assert (last["status"], last["reason"]) == ("expired", "day_expired")
        assert last["ts"] == self.TS6[2]
        assert r.fills.empty

    def test_day_order_placed_on_last_bar_of_session_lives_through_next_session(self):
        # placed on bar 2 (last of session 1): first chance is bar 3 (session 2) -> it
        # expires at the end of session 2, i.e. at bar 5
        r = run({2: [("X", 10, {"limit_price": 9.0, "time_in_force": "DAY"})]},
                frame({"X": self.BARS6}, self.TS6), cash=1_000)
        last = final(r, 1)
        assert (last["status"], last["reason"]) == ("expired", "day_expired")
        assert last["ts"] == self.TS6[5]

    def test_day_order_fills_within_its_session(self):
        bars = list(self.BARS6)
        bars[2] = (9.2, 9.5, 8.8, 9.1)           # bar 2 dips to 8.8 <= limit 9.0
        r = run({0: [("X", 10, {"limit_price": 9.0, "time_in_force": "DAY"})]},
                frame({"X": bars}, self.TS6), cash=1_000)
        # fills at min(open 9.2, 9.0) = 9.0 on bar 2, before the session ends
        f = one_fill(r)
        assert f["ts"] == self.TS6[2] and f["price"] == 9.0
        assert final(r, 1)["status"] == "filled"

    def test_ioc_unfilled_is_canceled_at_first_bar(self):
        # IOC buy limit 10.0, bar 1 low 10.5 > 10.0 -> canceled on bar 1; bar 2's low 9.9
        # would have filled a GTC order, but the IOC is gone by then
        bars = [RISING[0], (11.0, 11.5, 10.5, 11.2), (10.0, 10.2, 9.9, 10.1)]
        r = run({0: [("X", 10, {"limit_price": 10.0, "time_in_force": "IOC"})]},
                frame({"X": bars}), cash=1_000)
        last = final(r, 1)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "ioc_unfilled",
                                                                day_ts(3)[1])
        assert r.fills.empty

    def test_ioc_fillable_fills(self):
        r = run({0: [("X", 10, {"time_in_force": "IOC"})]}, frame({"X": RISING}), cash=1_000)
        # market IOC -> bar 1's open 11.0
        assert one_fill(r)["price"] == 11.0
        assert final(r, 1)["status"] == "filled"

    def test_ioc_partially_filled_rest_is_canceled(self):
        # cash 1000 buys floor(1000 / 11.0) = 90 shares at bar 1's open (990 <= 1000,
        # 91 * 11 = 1001 > 1000); with on_insufficient="partial" the IOC fills 90 and the
        # remaining 10 are canceled immediately, never to fill later.
        r = run({0: [("X", 100, {"time_in_force": "IOC"})]}, frame({"X": RISING}),
                cash=1_000, on_insufficient="partial")
        f = one_fill(r)
        assert f["qty"] == 90 and f["price"] == 11.0
        rows = order_rows(r, 1)
        assert list(rows["status"]) == ["submitted", "accepted", "partially_filled", "canceled"]
        # the rest is canceled because it did not fit the account (the more specific reason)
        assert rows["reason"].iloc[-1] == "insufficient_cash"
        assert rows["filled"].iloc[-1] == 90

    def test_fok_not_fillable_is_canceled(self):
        # FOK buy limit 10.0: bar 1 low 10.5 -> not fillable -> canceled fok_unfilled
        r = run({0: [("X", 10, {"limit_price": 10.0, "time_in_force": "FOK"})]},
                frame({"X": RISING}), cash=1_000)
        last = final(r, 1)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "fok_unfilled",
                                                                TS[1])
        assert r.fills.empty

    def test_fok_never_partially_fills(self):
        # on_insufficient="partial" would fill 90 of 100 (see IOC above), but a FOK order
        # fills completely or not at all -> rejected, nothing filled
        r = run({0: [("X", 100, {"time_in_force": "FOK"})]}, frame({"X": RISING}),
                cash=1_000, on_insufficient="partial")
        assert r.fills.empty
        last = final(r, 1)
        assert last["status"] == "rejected" and last["filled"] == 0

    def test_order_on_last_bar_is_canceled_end_of_data(self):
        r = run({3: [("X", 10, {})]}, frame({"X": RISING}), cash=1_000)
        last = final(r, 1)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "end_of_data",
                                                                TS[3])
        assert r.fills.empty

    def test_gtc_limit_rests_across_sessions(self):
        # sell limit 12.4 placed on bar 1 (session 1); bar 2 is a new session, and a GTC
        # order survives the boundary
        r = run({1: [("X", -5, {"limit_price": 12.4})]}, frame({"X": RISING}), cash=1_000,
                account="margin")
        # bar 2 high 12.5 >= 12.4 -> max(12.0, 12.4) = 12.4 on bar 2 (a new session)
        f = one_fill(r)
        assert f["ts"] == TS[2] and f["price"] == 12.4


# ------------------------------------------------------------------------------ halts
class TestHalts:
    def test_asset_without_bar_does_not_fill_until_its_next_bar(self):
        df = frame({
            "X": RISING,
            "Y": [(20.0, 20.5, 19.5, 20.2), None, (22.0, 22.5, 21.5, 22.2),
                  (23.0, 23.5, 22.5, 23.2)],
        })
        r = run({0: [("X", 1, {}), ("Y", 1, {})]}, df, cash=1_000)
        fills = r.fills.set_index("asset")
        # X fills at bar 1's open 11.0; Y has no bar 1 -> fills at its bar 2 open 22.0
        assert fills.loc["X", "ts"] == TS[1] and fills.loc["X", "price"] == 11.0
        assert fills.loc["Y", "ts"] == TS[2] and fills.loc["Y", "price"] == 22.0

    def test_order_for_asset_before_its_first_bar_fills_at_its_first_bar(self):
        df = frame({"X": RISING, "Y": [None, None, (22.0, 22.5, 21.5, 22.2),
                                       (23.0, 23.5, 22.5, 23.2)]})
        r = run({0: [("Y", 1, {})]}, df, cash=1_000)
        # Y's first bar is bar 2: open 22.0
        f = one_fill(r)
        assert f["ts"] == TS[2] and f["price"] == 22.0

    def test_ioc_waits_for_its_assets_next_bar(self):
        df = frame({"X": RISING, "Y": [(20.0, 20.5, 19.5, 20.2), None, None,
                                       (23.0, 23.5, 22.5, 23.2)]})
        # the IOC's one chance is Y's first bar after submission: bar 3, open 23.0
        r = run({0: [("Y", 1, {"time_in_force": "IOC"})]}, df, cash=1_000)
        f = one_fill(r)
        assert f["ts"] == TS[3] and f["price"] == 23.0

    def test_day_order_survives_a_session_in_which_its_asset_has_no_bar(self):
        # DAY expires "at the end of the first session in which it could match". Y has no
        # bar in session 1 (bar 1), so the order could not match there; its first chance
        # is bar 2, where the limit 22.0 >= low 21.5 -> fills at min(22.0, 22.0) = 22.0
        df = frame({"X": RISING, "Y": [(20.0, 20.5, 19.5, 20.2), None,
                                       (22.0, 22.5, 21.5, 22.2), (23.0, 23.5, 22.5, 23.2)]})
        r = run({0: [("Y", 1, {"limit_price": 22.0, "time_in_force": "DAY"})]}, df,
                cash=1_000)
        assert final(r, 1)["status"] == "filled"
        f = one_fill(r)
        assert f["ts"] == TS[2] and f["price"] == 22.0


# ------------------------------------------------------------------------- sequencing
class TestSequencing:
    # X at 10 throughout; Y at 80
    DF = frame({"X": [(10.0, 10.5, 9.5, 10.0)] * 4, "Y": [(80.0, 80.5, 79.5, 80.0)] * 4})
    # bar 0 buys 50 X (filled at bar 1's open 10.0 -> cash 1000 - 500 = 500). On bar 1 the
    # strategy submits "buy 10 Y" (800) *before* "sell 50 X" (+500); both meet on bar 2.
    PLAN = {0: [("X", 50, {})], 1: [("Y", 10, {}), ("X", -50, {})]}

    def test_exit_first_fills_the_sell_before_the_buy(self):
        r = run(self.PLAN, self.DF, cash=1_000, fill_order="exit_first")
        # sell first: cash 500 + 500 = 1000; then buy Y 10 * 80 = 800 -> cash 200
        bar2 = r.fills[r.fills["ts"] == day_ts(4)[2]]
        assert list(bar2["order_id"]) == [3, 2]          # the sell (order 3) fills first
        assert final(r, 2)["status"] == "filled"
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(200.0)

    def test_submission_order_rejects_the_buy(self):
        r = run(self.PLAN, self.DF, cash=1_000, fill_order="submission")
        # buy Y first: 800 > cash 500 -> rejected; then the sell -> cash 1000
        last = final(r, 2)
        assert (last["status"], last["reason"]) == ("rejected", "insufficient_cash")
        assert final(r, 3)["status"] == "filled"
        assert r.portfolio["cash"].iloc[-1] == pytest.approx(1_000.0)


# ---------------------------------------------------------------- lifecycle and cancel
class TestLifecycle:
    def test_lifecycle_rows_in_time_order(self):
        r = run({0: [("X", 10, {})]}, frame({"X": RISING}), cash=1_000)
        rows = order_rows(r, 1)
        assert list(rows["status"]) == ["submitted", "accepted", "filled"]
        assert list(rows["ts"]) == [TS[0], TS[0], TS[1]]
        assert list(rows["filled"]) == [0, 0, 10]
        assert (rows["type"] == "market").all() and (rows["time_in_force"] == "GTC").all()
        assert r.orders["ts"].is_monotonic_increasing

    def test_order_types_in_rows(self):
        r = run({0: [("X", 1, {"limit_price": 1.0}), ("X", 1, {"stop_price": 99.0}),
                     ("X", 1, {"stop_price": 99.0, "limit_price": 99.5})]},
                frame({"X": RISING}), cash=1_000)
        types = r.orders.groupby("order_id")["type"].first()
        assert list(types) == ["limit", "stop", "stop_limit"]
        first = r.orders.groupby("order_id").first()
        assert first.loc[1, "limit_price"] == 1.0 and pd.isna(first.loc[1, "stop_price"])
        assert first.loc[3, "stop_price"] == 99.0 and first.loc[3, "limit_price"] == 99.5

    def test_cancel_open_order(self):
        def cancel_first(strategy, bars):
            return strategy.broker.cancel(strategy.placed[0])

        strat = scripted({0: [("X", 10, {"limit_price": 5.0})], 1: [cancel_first]})
        r = run_backtest(strat, frame({"X": RISING}), cash=1_000)
        assert r.strategy.returned == [True]
        last = final(r, 1)
        assert (last["status"], last["reason"], last["ts"]) == ("canceled", "user_cancel",
                                                                TS[1])
        assert r.fills.empty

    def test_cancel_filled_order_returns_false(self):
        def cancel_first(strategy, bars):
            return strategy.broker.cancel(strategy.placed[0].id)

        r = run_backtest(scripted({0: [("X", 10, {})], 2: [cancel_first]}),
                         frame({"X": RISING}), cash=1_000)
        # filled on bar 1, so the cancel on bar 2 has nothing to cancel
        assert r.strategy.returned == [False]
        assert final(r, 1)["status"] == "filled"
        assert list(order_rows(r, 1)["status"]).count("canceled") == 0
