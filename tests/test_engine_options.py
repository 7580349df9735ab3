"""Engine options added for the compatibility shims: intrabar_policy="submission" and
cash_check="opening"."""
import pytest

from conftest import final, flat_bars, frame, run
from ml4t import Strategy, run_backtest


def test_submission_policy_fills_the_earlier_oco_member():
    # bar 0 buys 100 at open 100 (placed in on_start -> fills at bar 0's open).
    # On bar 0 the strategy places a take-profit limit (order 2, sell @ 104) and then a
    # stop (order 3, sell @ 97) in one OCO group. Bar 2: high 105 >= 104 and low 96 <= 97,
    # both touched. "stop_first" fills the stop at min(open 100, 97) = 97; "submission"
    # fills order 2 (placed first) at max(open 100, 104) = 104 and cancels the stop.
    df = frame({"X": [(100, 100.5, 99.5, 100), (100, 101, 99, 100), (100, 105, 96, 100)]})

    class Pair(Strategy):
        def on_start(self):
            self.broker.order("X", 100)

        def on_bar(self, bars):
            if len(self.data.history_array("X", "close", 5)) == 1:
                tp = self.broker.order("X", -100, limit_price=104)
                self.broker.order("X", -100, stop_price=97, oco=tp)

    first = run_backtest(Pair, df, intrabar_policy="submission", calendar=None)
    stop = run_backtest(Pair, df, intrabar_policy="stop_first", calendar=None)
    assert first.fills["price"].tolist() == [100.0, 104.0]
    assert first.fills["order_id"].tolist() == [1, 2]
    assert final(first, 3)["reason"] == "oco_canceled"
    assert stop.fills["price"].tolist() == [100.0, 97.0]


def test_cash_check_opening_lets_a_short_be_covered_below_zero_cash():
    # cash account with shorting: short 100 at 10 (cash 1000 -> 2000); the price triples
    # to 30, buying back 100 costs 3000 > 2000 cash. "all" rejects the cover
    # (insufficient_cash); "opening" fills it and cash ends at 2000 - 3000 = -1000.
    df = frame({"X": flat_bars([10.0, 10.0, 30.0, 30.0])})
    plan = {0: [("X", -100, {})], 2: [("X", 100, {})]}
    strict = run(plan, df, cash=1_000, allow_short=True)
    lenient = run(plan, df, cash=1_000, allow_short=True, cash_check="opening")
    assert (final(strict, 2)["status"], final(strict, 2)["reason"]) == (
        "rejected", "insufficient_cash")
    assert final(lenient, 2)["status"] == "filled"
    assert lenient.portfolio["cash"].iloc[-1] == pytest.approx(-1_000.0)


def test_cash_check_opening_fills_only_the_closing_leg_of_a_reversal_that_does_not_fit():
    # long 100 bought at 10 with cash 1000 (cash -> 0). At 10 a reversal of -300 would
    # sell 100 (+1000) and short 200: shorting is not allowed, so the opening leg is
    # refused; with "opening" the closing 100 still fill and the rest is canceled.
    df = frame({"X": flat_bars([10.0, 10.0, 10.0, 10.0])})
    plan = {0: [("X", 100, {})], 1: [("X", -300, {})]}
    r = run(plan, df, cash=1_000, cash_check="opening")
    rows = r.orders[r.orders.order_id == 2]
    assert rows["status"].tolist()[-2:] == ["partially_filled", "canceled"]
    assert rows["reason"].iloc[-1] == "short_not_allowed"
    assert r.fills[r.fills.order_id == 2]["qty"].tolist() == [-100.0]
    assert r.portfolio["cash"].iloc[-1] == pytest.approx(1_000.0)


def test_unknown_cash_check_is_a_config_error():
    from ml4t.errors import ConfigError
    with pytest.raises(ConfigError, match="cash_check"):
        run({}, frame({"X": flat_bars([10.0])}), cash_check="opennig")
