"""Engine options added for the compatibility shims: intrabar_policy="submission",
cash_check="opening", account="unchecked", slippage models that cross the limit or
decline a bar."""
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


def test_unchecked_account_never_rejects_and_never_calls():
    # cash 1000 buys 1000 shares at 10 (cost 10000): a cash account rejects it, an
    # unchecked account fills it and cash goes to 1000 - 10000 = -9000; the price then
    # falls to 2 (NAV 1000 - 8000 = -7000 < 0) and still no margin call liquidates
    df = frame({"X": flat_bars([10.0, 10.0, 2.0, 2.0])})
    plan = {0: [("X", 1_000, {})]}
    cash = run(plan, df, cash=1_000)
    free = run(plan, df, cash=1_000, account="unchecked")
    assert final(cash, 1)["reason"] == "insufficient_cash"
    assert final(free, 1)["status"] == "filled"
    assert free.portfolio["cash"].iloc[-1] == pytest.approx(-9_000.0)
    assert free.portfolio["nav"].iloc[-1] == pytest.approx(-7_000.0)
    assert free.margin_calls.empty and len(free.fills) == 1


def _slippage(respect_limit: bool, declines: int = 0):
    from ml4t.models import SlippageModel

    class Plus(SlippageModel):
        def __init__(self):
            self.respect_limit = respect_limit
            self.left = declines

        def fill_price(self, ref, qty, volume):
            if self.left > 0:
                self.left -= 1
                return float("nan")
            return ref + 1.0 if qty > 0 else ref - 1.0

    return Plus()


def test_respect_limit_false_lets_slippage_cross_the_limit():
    # buy limit 10.0; bar 1 opens 10.0 (low 9.5 <= 10) -> ref = min(10.0, 10.0) = 10.0;
    # slippage +1 -> 11.0: capped to the limit 10.0 by default, 11.0 when the model
    # sets respect_limit = False
    df = frame({"X": flat_bars([10.0, 10.0, 10.0])})
    plan = {0: [("X", 10, {"limit_price": 10.0})]}
    capped = run(plan, df, cash=1_000, slippage=_slippage(True))
    crossed = run(plan, df, cash=1_000, slippage=_slippage(False))
    assert capped.fills["price"].tolist() == [10.0]
    assert crossed.fills["price"].tolist() == [11.0]


def test_nan_from_a_slippage_model_declines_the_bar_and_keeps_the_order():
    # the model declines the first two chances (bars 1 and 2); the market order then
    # fills on bar 3 at its open 13 + 1 = 14
    df = frame({"X": flat_bars([10.0, 11.0, 12.0, 13.0])})
    r = run({0: [("X", 1, {})]}, df, cash=1_000, slippage=_slippage(True, declines=2))
    assert r.fills["price"].tolist() == [14.0]
    assert r.fills["ts"].iloc[0] == r.portfolio.index[3]
    assert final(r, 1)["status"] == "filled"


def test_runs_collect_the_young_generation_in_larger_batches_and_restore_it():
    """During a run the collector's first threshold is GC_YOUNG_THRESHOLD (the strategy
    sees it), and the thresholds are back afterwards, also when the strategy raises; a
    disabled collector or a higher threshold is left alone."""
    import gc

    from ml4t.engine import GC_YOUNG_THRESHOLD, fewer_young_collections

    seen = []

    class Look(Strategy):
        def on_bar(self, bars):
            seen.append(gc.get_threshold()[0])

    class Boom(Strategy):
        def on_bar(self, bars):
            raise RuntimeError("boom")

    df = frame({"X": [(100, 101, 99, 100), (100, 101, 99, 100)]})
    old = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        run_backtest(Look, df, calendar=None)
        assert seen == [GC_YOUNG_THRESHOLD, GC_YOUNG_THRESHOLD] == [50_000, 50_000]
        assert gc.get_threshold() == (700, 10, 10)
        with pytest.raises(RuntimeError, match="boom"):
            run_backtest(Boom, df, calendar=None)
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(80_000, 10, 10)                 # already higher: left as it is
        with fewer_young_collections():
            assert gc.get_threshold() == (80_000, 10, 10)
        gc.set_threshold(700, 10, 10)
        gc.disable()
        try:
            with fewer_young_collections():
                assert gc.get_threshold() == (700, 10, 10) and not gc.isenabled()
        finally:
            gc.enable()
    finally:
        gc.set_threshold(*old)
