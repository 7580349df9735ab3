"""The Backtrader shim on its own (no Backtrader needed): hand-computed runs on tiny data,
the parameter machinery, date numbers, and the errors for what is not supported."""
from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import pandas as pd
import pytest

import ml4t.compat.backtrader as bt


def bars(rows, start="2024-01-02"):
    """A PandasData frame from (open, high, low, close) rows on business days."""
    idx = pd.bdate_range(start, periods=len(rows))
    return pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"])


class Recorder(bt.Strategy):
    params = (("script", {}),)

    def __init__(self):
        self.events = []

    def notify_order(self, order):
        self.events.append((len(self), order.ref, order.getstatusname(), order.executed.size,
                            order.executed.price, order.executed.comm))

    def notify_trade(self, trade):
        if trade.isclosed:
            self.events.append((len(self), "trade", trade.pnl, trade.pnlcomm, trade.barlen))

    def next(self):
        action = self.p.script.get(len(self))
        if action is not None:
            action(self)


def run(rows, script, cash=1000.0, commission=0.0, **broker):
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(rows)), name="X")
    cerebro.addstrategy(Recorder, script=script)
    cerebro.broker.setcash(cash)
    if commission:
        cerebro.broker.setcommission(commission=commission)
    for k, v in broker.items():
        getattr(cerebro.broker, k)(v)
    strat = cerebro.run()[0]
    return strat, cerebro


ROWS = [(10, 11, 9, 10), (11, 12, 10, 11), (12, 13, 11, 12), (13, 14, 12, 13),
        (12, 13, 11, 12), (11, 12, 10, 11)]


def test_market_order_fills_next_open_and_is_heard_a_bar_late():
    strat, cerebro = run(ROWS, {1: lambda s: s.buy(size=10), 3: lambda s: s.close()},
                         commission=0.001)
    # bought 10 at bar 2's open (11), sold at bar 4's open (13); commission 0.1%
    assert strat.events == [
        (2, 1, "Submitted", 0, 0.0, 0.0),
        (2, 1, "Accepted", 0, 0.0, 0.0),
        (2, 1, "Completed", 10, 11.0, pytest.approx(0.11)),
        (4, 2, "Submitted", 0, 0.0, 0.0),
        (4, 2, "Accepted", 0, 0.0, 0.0),
        (4, 2, "Completed", -10, 13.0, pytest.approx(0.13)),
        (4, "trade", 20.0, pytest.approx(20.0 - 0.24), 2),
    ]
    assert cerebro.broker.getvalue() == pytest.approx(1000 + 20 - 0.24)


def test_submission_check_refuses_at_creation_close():
    # 100 x close 10 = 1000 plus commission does not fit 1000 of cash: Margin at once
    strat, cerebro = run(ROWS, {1: lambda s: s.buy(size=100)}, commission=0.001)
    assert [e[2] for e in strat.events] == ["Submitted", "Margin"]
    assert cerebro.broker.getvalue() == 1000.0


def test_cheat_on_close_fills_at_the_order_bar_close():
    strat, _ = run(ROWS, {2: lambda s: s.buy(size=10)}, set_coc=True)
    done = [e for e in strat.events if e[2] == "Completed"]
    assert done == [(3, 1, "Completed", 10, 11.0, 0.0)]     # bar 2's close, heard on bar 3


def test_limit_fills_at_limit_or_better_and_valid_expires():
    script = {1: lambda s: s.buy(exectype=bt.Order.Limit, price=10.5, size=1),
              2: lambda s: s.buy(exectype=bt.Order.Limit, price=5, size=1,
                                 valid=dt.timedelta(days=1))}
    strat, _ = run(ROWS, script)
    by_ref = {}
    for e in strat.events:
        by_ref.setdefault(e[1], []).append(e[2:5])
    assert by_ref[1][-1] == ("Completed", 1, 10.5)     # bar 2: low 10 <= 10.5 < open 11
    assert by_ref[2][-1] == ("Expired", 0, 0.0)


def test_params_tuple_dict_and_inheritance():
    class Base(bt.Strategy):
        params = (("a", 1), ("b", 2))

    class Child(Base):
        params = dict(b=3, c=4)

    assert Child.params._getkeys() == ["a", "b", "c"]
    assert Child.params._defaults == {"a": 1, "b": 3, "c": 4}

    class Ind(bt.Indicator):
        lines = ("x",)
        params = (("period", 5),)

        def __init__(self):
            self.lines.x = self.data * self.p.period

    class Uses(bt.Strategy):
        def __init__(self):
            self.ind = Ind(period=2)

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Uses)
    strat = cerebro.run()[0]
    assert strat.ind.p.period == 2
    assert list(strat.ind.lines.x.array) == [20.0, 22.0, 24.0, 26.0, 24.0, 22.0]


def test_date_numbers_round_trip_like_backtrader():
    eos = dt.datetime(2012, 12, 28, 23, 59, 59, 999990)
    assert bt.num2date(bt.date2num(eos)) == dt.datetime(2012, 12, 28, 23, 59, 59, 999989)
    assert bt.num2date(bt.date2num(dt.datetime(2020, 2, 3))) == dt.datetime(2020, 2, 3)


def test_lines_compare_values_while_running():
    class Check(bt.Strategy):
        def __init__(self):
            self.sma = bt.ind.SMA(period=2)
            self.above = self.data.close > self.sma
            self.seen = []

        def next(self):
            self.seen.append((bool(self.data.close > self.sma), self.above[0],
                              list(self.data.close.get(size=2))))

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Check)
    seen = cerebro.run()[0].seen
    assert seen[0] == (True, 1.0, [10.0, 11.0])       # first next on bar 2 (SMA(2))
    assert len(seen) == 5


@pytest.mark.parametrize("setup, message", [
    (lambda c: c.broker.setcommission(margin=2000, mult=10, automargin=True),
     "automargin"),
    (lambda c: c.broker.setcommission(commission=0.001, mult=10), "mult=10"),
    (lambda c: (setattr(c.p, "cheat_on_open", True), setattr(c.p, "broker_coo", False)),
     "broker_coo=False"),
])
def test_unsupported_configuration_says_so(setup, message):
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(bt.Strategy)
    setup(cerebro)
    with pytest.raises(NotImplementedError, match=message):
        cerebro.run()


def test_close_orders_on_intraday_feeds_with_a_session_end_are_refused():
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "data" / "backtrader"
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.BacktraderCSVData(
        dataname=str(path / "2006-min-005.txt"), timeframe=bt.TimeFrame.Minutes,
        compression=5, sessionend=dt.time(17, 30)))

    class Close(bt.Strategy):
        def next(self):
            self.buy(size=1, exectype=bt.Order.Close)

    cerebro.addstrategy(Close)
    with pytest.raises(NotImplementedError, match="sessionend=17:30"):
        cerebro.run()


def test_close_orders_under_cheat_on_close_are_refused_with_a_reason():
    with pytest.raises(NotImplementedError, match="cheat-on-close"):
        run(ROWS, {1: lambda s: s.buy(exectype=bt.Order.Close, size=1)}, set_coc=True)


def test_plot_draws_value_prices_and_indicators(tmp_path):
    import matplotlib
    matplotlib.use("Agg")

    class Plotted(bt.Strategy):
        def __init__(self):
            bt.ind.SMA(period=2)
            bt.ind.RSI(period=2)

        def next(self):
            if len(self) == 3:
                self.buy(size=1)

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Plotted)
    cerebro.run()
    out = tmp_path / "plot.png"
    figs = cerebro.plot(savefig=str(out))
    assert out.stat().st_size > 0
    assert len(figs[0][0].axes) == 3            # value, prices + SMA, RSI


# -------------------------------------------------------- feeds handed to the engine
def _two_feed_run(rows_b):
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars([(10, 11, 9, 10.5)] * 4)), name="A")
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(rows_b, start="2024-01-03")), name="B")

    class Both(bt.Strategy):
        def nextstart(self):         # the first bar on which both feeds have data
            self.buy(data=self.datas[0], size=2)
            self.buy(data=self.datas[1], size=3)

    cerebro.addstrategy(Both)
    cerebro.run()
    res = cerebro.last_result
    return res, cerebro.broker.getvalue()


def test_two_feeds_reach_the_engine_as_columns():
    """The feeds go to the engine as arrays (``bars_from_arrays``): orders placed on
    2024-01-03 (B's first bar) fill at the next opens, A 2 @ 10 and B 3 @ 20; the last
    closes are 10.5 and 21.5 (cash 10,000)."""
    rows_b = [(20, 21, 19, 20.5), (20, 22, 19, 21), (21, 22, 20, 21.5)]
    res, value = _two_feed_run(rows_b)
    assert value == pytest.approx(10_000 - 2 * 10 - 3 * 20 + 2 * 10.5 + 3 * 21.5)
    assert res.fills["price"].tolist() == [10.0, 20.0]
    assert res.fills["qty"].tolist() == [2.0, 3.0]


def test_a_bad_bar_in_a_feed_is_named_by_feed_and_row():
    """A high below the low (row 1 of feed ``B``) stops the run with the feed and row."""
    from ml4t.errors import DataError
    rows_b = [(20, 21, 19, 20.5), (20, 18, 19, 19), (21, 22, 20, 21.5)]
    with pytest.raises(DataError) as ei:
        _two_feed_run(rows_b)
    e = ei.value
    assert e.path == "<feeds>['B']" and e.row == 1


# ------------------------------------------------------- Yahoo CSV: one Arrow parse
ORCL = pathlib.Path(__file__).resolve().parents[1] / "data" / "backtrader" / "orcl-1995-2014.txt"
YAHOO_HEAD = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def _yahoo_both(path, **params):
    """(fast, line-by-line) reads of a Yahoo CSV feed, and whether the fast path was taken."""
    from ml4t.compat.backtrader import feeds

    import numpy as np

    f = bt.feeds.YahooFinanceCSVData(dataname=str(path), **params)
    took_fast = f._read_plain() is not None
    with np.errstate(divide="ignore", invalid="ignore"):     # generated adj closes of 0
        fast = f._bt_read()
        orig = feeds.YahooFinanceCSVData._read_plain
        feeds.YahooFinanceCSVData._read_plain = lambda self: None
        try:
            slow = f._bt_read()
        finally:
            feeds.YahooFinanceCSVData._read_plain = orig
    return fast, slow, took_fast


def _same_columns(a, b):
    import numpy as np
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k], equal_nan=True), k


@pytest.mark.parametrize("params", [{}, {"reverse": True}, {"adjclose": False, "round": False},
                                    {"swapcloses": True, "decimals": 3}])
def test_yahoo_fast_read_equals_the_line_by_line_read(params):
    fast, slow, took = _yahoo_both(ORCL, **params)
    assert took
    _same_columns(fast, slow)
    assert len(fast["close"]) == 5036


@pytest.mark.parametrize("body", [
    "2024-01-02,1,2,0.5,1.5,1.5,null\n",          # Yahoo's null rows are skipped
    "2024-01-02,1,2,0.5,1.5,1.5,100\r\n",         # CRLF
    "2024-01-02,1,2,0.5,1.5,1.5\n",                # six fields
    "2024-01-02,1,2,0.5,1.5,1.5,100\n\n2024-01-03,1,2,0.5,1.5,1.5,100\n",   # blank line
    "2024-01-02, 1,2,0.5,1.5,1.5,100\n",           # a space
    "2024-01-02,1,2,0.5,1.5,1.5,n/a\n",            # a volume Python reads as 0
])
def test_unusual_yahoo_files_take_the_line_path(tmp_path, body):
    path = tmp_path / "X.csv"
    path.write_bytes((YAHOO_HEAD + "2024-01-01,1,2,0.5,1.5,1.5,100\n" + body).encode())
    fast, slow, took = _yahoo_both(path)
    assert not took
    _same_columns(fast, slow)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_DECIMAL = st.builds(lambda i, f, d: f"{i}.{str(f).zfill(d)[:d]}" if d else str(i),
                     st.integers(0, 10**7), st.integers(0, 10**17), st.integers(0, 17))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_DECIMAL, _DECIMAL, _DECIMAL, _DECIMAL, _DECIMAL, _DECIMAL),
                min_size=1, max_size=20), st.booleans())
def test_yahoo_fast_read_parses_any_decimal_as_python_does(tmp_path_factory, rows, trailing):
    import numpy as np
    days = pd.bdate_range("2020-01-01", periods=len(rows))
    text = YAHOO_HEAD + "\n".join(f"{d:%Y-%m-%d}," + ",".join(r) for d, r in zip(days, rows))
    path = tmp_path_factory.mktemp("yahoo") / "X.csv"
    path.write_text(text + ("\n" if trailing else ""))
    fast, slow, took = _yahoo_both(path, adjclose=False, round=False)
    assert took
    _same_columns(fast, slow)
    assert fast["open"].tolist() == [float(r[0]) for r in rows]     # Python's float itself
    # volumes are rounded to whole numbers (roundvolume=False is round(x, 0))
    assert np.array_equal(fast["volume"], [round(float(r[5]), 0) for r in rows])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)),
                min_size=1, max_size=30),
       st.sampled_from(["", "T16:00:00", "T09:30:00.5"]))
def test_yahoo_dates_are_their_first_ten_characters(days, tail):
    import numpy as np
    import pyarrow as pa
    from ml4t.compat.backtrader import feeds

    text = [f"{d:%Y-%m-%d}{tail}" for d in days]
    got = feeds._iso_days(pa.chunked_array([pa.array(text)]))
    assert got.dtype == np.dtype("M8[D]")
    assert got.tolist() == days                   # Backtrader reads line[0:10]


def test_yahoo_dates_with_a_time_read_as_their_day(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text(YAHOO_HEAD + "2024-01-02T16:00:00,1,2,0.5,1.5,1.5,100\n"
                    "2024-01-03T16:00:00,1,2,0.5,1.25,1.25,200\n")
    fast, slow, took = _yahoo_both(path)
    assert took
    _same_columns(fast, slow)
    assert [bt.num2date(x).date() for x in fast["datetime"]] == [dt.date(2024, 1, 2),
                                                                 dt.date(2024, 1, 3)]


def test_quoted_yahoo_numbers_fail_as_in_backtrader(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text(YAHOO_HEAD + '2024-01-02,"1",2,0.5,1.5,1.5,100\n')
    with pytest.raises(ValueError, match="could not convert"):
        bt.feeds.YahooFinanceCSVData(dataname=str(path))._bt_read()


def test_missing_indicators_say_so_by_name():
    assert bt.ind.OLS_BetaN.lines == ("beta",)
    with pytest.raises(AttributeError, match="did you mean 'KAMA'"):
        bt.indicators.KAMAA
    assert bt.ind.ADX is bt.indicators.AverageDirectionalMovementIndex
    assert bt.ind.MovAv.HMA is bt.ind.HullMovingAverage
    assert not hasattr(bt.ind.MovAv, "SMAEnvelope")          # envelopes are not averages


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(0.001, 0.03), st.floats(0.001, 0.03)),
                min_size=45, max_size=90))
def test_directional_aroon_and_envelope_ranges(moves):
    """On any bars with a range (flat bars make the true range 0 and the DIs 0 / 0):
    +DI, -DI >= 0; 0 <= ADX, AroonUp, AroonDown <= 100; the Aroon oscillator is up -
    down; an envelope brackets its average; a percent rank is in [0, 1)."""
    import numpy as np

    rows, close = [], 100.0
    for step, up, down in moves:
        o, close = close, close * (1.0 + step)
        rows.append((o, max(o, close) * (1.0 + up), min(o, close) * (1.0 - down), close))
    seen = {}

    class Probe(bt.Strategy):
        def __init__(self):
            seen["dmi"] = bt.ind.DMI(self.data, period=5)
            seen["aroon"] = bt.ind.AroonUpDownOscillator(self.data, period=7)
            seen["env"] = bt.ind.SMAEnvelope(self.data, period=5, perc=2.0)
            seen["rank"] = bt.ind.PercentRank(self.data, period=10)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(rows)))
    cerebro.addstrategy(Probe)
    cerebro.run()

    def values(line):
        a = np.asarray(line.array, dtype=float)
        return a[~np.isnan(a)]

    adx, plus, minus = (values(x) for x in seen["dmi"].lines)
    assert len(plus) > 0 and (plus >= 0).all() and (minus >= 0).all()
    # (bars that never move leave +DI = -DI = 0, and ADX 0 / 0 = NaN throughout)
    assert ((adx >= -1e-9) & (adx <= 100 + 1e-9)).all()
    up, down, osc = (values(x) for x in seen["aroon"].lines)
    assert ((up >= 0) & (up <= 100)).all() and ((down >= 0) & (down <= 100)).all()
    assert np.allclose(osc, up - down)
    sma, top, bot = (values(x) for x in seen["env"].lines)
    assert np.allclose(top, sma * 1.02) and np.allclose(bot, sma * 0.98)
    rank = values(seen["rank"].lines[0])
    assert ((rank >= 0) & (rank < 1)).all()


def test_parabolic_sar_by_hand():
    """Bar 1 closes up, so the trend starts down (stop 10.5, the bar's midpoint; extreme
    9, bar 0's low) and bar 1's high 11 >= 10.5 reverses it at once: stop 9 (the old
    extreme), extreme 11, factor 0.02. Next stop 9 + 0.02 x 2 = 9.04, pulled down to the
    lowest of the last two lows, 9. Bar 2: new high 12 -> factor 0.04, next stop 9 + 0.04 x 3
    = 9.12. Bar 3: high 12.5 -> factor 0.06, next stop 9.12 + 0.06 x 3.38 = 9.3228. Bar 4:
    low 9.0 <= 9.3228 reverses: the stop jumps to the extreme, 12.5."""
    import numpy as np

    rows = [(9.5, 10, 9, 9.5), (10.5, 11, 10, 10.8), (11.5, 12, 11, 11.8),
            (12, 12.5, 11.5, 12), (10, 11, 9.0, 9.2)]
    seen = {}

    class S(bt.Strategy):
        def __init__(self):
            seen["psar"] = bt.ind.PSAR(self.data)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(rows)))
    cerebro.addstrategy(S)
    cerebro.run()
    got = np.asarray(seen["psar"].lines[0].array, dtype=float)
    assert np.isnan(got[0])
    assert got[1:].tolist() == pytest.approx([9.0, 9.0, 9.12, 12.5], rel=1e-12)


def test_gross_leverage_and_period_stats_by_hand():
    """Buy 10 on bar 1 (filled at bar 2's open, 11, cash 1000 - 110 = 890), close on bar 4
    (sold at bar 5's open, 12). GrossLeverage = position value / value after each bar:
    bar 2: 110 / (890 + 110) = 0.11; bar 3: 120 / 1010; bar 4: 130 / 1020; then 0.
    PeriodStats (daily returns): values 1000, 1000, 1010, 1020, 1010, 1010 (cash 1010 once
    sold), so returns 0, 0, 0.01, 1/101, -1/102, 0: two up, one down, three unchanged."""
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="X")
    cerebro.addstrategy(Recorder, script={1: lambda s: s.buy(size=10), 4: lambda s: s.close()})
    cerebro.broker.setcash(1000.0)
    cerebro.addanalyzer(bt.analyzers.GrossLeverage, _name="lev")
    cerebro.addanalyzer(bt.analyzers.PeriodStats, _name="stats", timeframe=bt.TimeFrame.Days)
    strat = cerebro.run()[0]
    lev = list(strat.analyzers.lev.get_analysis().values())
    assert lev == pytest.approx([0.0, 110 / 1000, 120 / 1010, 130 / 1020, 0.0, 0.0])
    stats = strat.analyzers.stats.get_analysis()
    rets = [0.0, 0.0, 0.01, 1 / 101, -1 / 102, 0.0]
    assert (stats["positive"], stats["negative"], stats["nochange"]) == (2, 1, 3)
    assert stats["best"] == pytest.approx(0.01) and stats["worst"] == pytest.approx(-1 / 102)
    assert stats["average"] == pytest.approx(sum(rets) / 6)


@pytest.mark.parametrize("kw, error, match", [
    ({"repeat": dt.timedelta(hours=1)}, NotImplementedError, "repeat"),
    ({"cheat": True}, NotImplementedError, "cheat"),
    ({"when": "09:30"}, TypeError, "datetime.time"),
])
def test_timer_options_the_shim_refuses(kw, error, match):
    class Timed(bt.Strategy):
        def __init__(self):
            self.add_timer(**{"when": bt.timer.SESSION_START, **kw})

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Timed)
    with pytest.raises(error, match=match):
        cerebro.run()


def test_timer_month_days_without_carry_by_hand():
    """monthdays=[1, 15], no carry, first bar on the 2nd: Backtrader's day test accepts the
    2nd (an earlier listed day has passed) and uses up the 15th with it."""
    from ml4t.compat.backtrader.timer import Timer

    left = [1, 15]
    assert Timer._consume(left, 2, carry=False, fresh_carry=False) is True
    assert left == []
    left = [1, 15]
    assert Timer._consume(left, 1, carry=False, fresh_carry=False) is True and left == [15]
    assert Timer._consume(left, 14, carry=False, fresh_carry=False) is False and left == [15]
    assert Timer._consume(left, 16, carry=True, fresh_carry=False) is True and left == []


def test_stock_and_futures_schemes_together_are_refused_by_name():
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="STOCK")
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="FUT")
    cerebro.broker.setcommission(commission=0.001)
    cerebro.broker.setcommission(commission=2.0, margin=500.0, mult=10.0, name="FUT")
    with pytest.raises(NotImplementedError, match=r"stock-like and futures-like .*'STOCK' "
                                                  r"and 'FUT'"):
        cerebro.run()


def test_named_schemes_charge_each_feed_its_own_by_hand():
    # X buys 10 at bar 2's open (11): 0.1% of 110 = 0.11; Y buys 10 at 11: 0.05 per
    # share = 0.50; cash 1,000 - 110 - 0.11 - 110 - 0.50 = 779.39
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="X")
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="Y")
    cerebro.broker.setcash(1000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.broker.setcommission(commission=0.05, commtype=bt.CommInfoBase.COMM_FIXED,
                                 stocklike=True, name="Y")

    class Both(bt.Strategy):
        def start(self):
            self.comms = {}

        def notify_order(self, order):
            if order.status == order.Completed:
                self.comms[order.data._name] = order.executed.comm

        def next(self):
            if len(self) == 1:
                self.buy(data=self.datas[0], size=10)
                self.buy(data=self.datas[1], size=10)

    cerebro.addstrategy(Both)
    strat = cerebro.run()[0]
    assert strat.comms == pytest.approx({"X": 0.11, "Y": 0.50})
    assert cerebro.broker.getcash() == pytest.approx(779.39)


def test_observers_show_the_previous_bar_by_hand():
    # buy 10 on bar 1 (fills at bar 2's open, 11), close on bar 4 (fills at bar 5's open,
    # 12). Cash 1000 -> 890 -> 1010; values at the closes: 1000, 1000, 1010, 1020, 1010,
    # 1010. Inside next() an observer shows the bar before (NaN on the first).
    # BuySell (stdstats: barplot) marks the buy at bar 2's low x 0.985 = 9.85 and the
    # sell at bar 5's high x 1.015 = 13.195; Trades the closed trade's +10 at bar 5.
    class Reads(bt.Strategy):
        def start(self):
            self.seen = []

        def next(self):
            st = self.stats
            self.seen.append((len(st.broker), st.broker.value[0], st.broker.cash[0],
                              st.buysell[0].buy[0], st.buysell[0].sell[0],
                              st.trades.pnlplus[0]))
            if len(self) == 1:
                self.buy(size=10)
            elif len(self) == 4:
                self.close()

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="X")
    cerebro.addstrategy(Reads)
    cerebro.broker.setcash(1000.0)
    strat = cerebro.run()[0]
    nan = float("nan")
    want = [(0, nan, nan, nan, nan, nan), (1, 1000, 1000, nan, nan, nan),
            (2, 1000, 890, 9.85, nan, nan), (3, 1010, 890, nan, nan, nan),
            (4, 1020, 890, nan, nan, nan), (5, 1010, 1010, nan, 13.195, 10.0)]
    assert len(strat.seen) == len(want)
    for got, exp in zip(strat.seen, want):
        assert got == pytest.approx(exp, nan_ok=True)
    assert strat.stats.getnames() == ["broker", "trades"]
    assert len(strat.stats.broker) == 6 and strat.stats.broker.value[0] == 1010.0


def test_observers_outside_a_run_and_fund_values():
    with pytest.raises(RuntimeError, match="cerebro.addobserver"):
        bt.observers.DrawDown()
    # fund shares: starting cash / fundstartval; the fund value follows the value
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="X")
    cerebro.broker.setcash(1000.0)
    cerebro.broker.set_fundmode(True, fundstartval=50.0)

    class Fund(bt.Strategy):
        def notify_fund(self, cash, value, fundvalue, shares):
            self.last = (cash, value, fundvalue, shares)

        def next(self):
            if len(self) == 1:
                self.buy(size=10)

    cerebro.addstrategy(Fund)
    strat = cerebro.run()[0]
    # 10 bought at 11 on bar 2; last close 11: value 1000; 20 shares of 50.00
    assert strat.last == pytest.approx((890.0, 1000.0, 50.0, 20.0))
    assert cerebro.broker.fundmode and cerebro.broker.fundshares == 20.0
    assert strat.stats.broker.cash[0] != strat.stats.broker.cash[0]      # NaN in fund mode
    assert strat.stats.broker.value[0] == pytest.approx(50.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([None, 5, -5, 10]), min_size=8, max_size=8))
def test_observers_lag_the_strategy_by_one_bar(script):
    """Whatever is traded: inside next() the broker observer has one bar fewer than the
    strategy and shows the cash and value the broker had at the end of the previous
    next(); a buy (sell) mark appears exactly after a bar whose notifications include a
    completed buy (sell)."""
    class Lag(bt.Strategy):
        def start(self):
            self.prev = None
            self.bad = []
            self.fills = []

        def notify_order(self, order):
            if order.status == order.Completed:
                self.fills.append((len(self), order.isbuy()))

        def next(self):
            b = self.stats.broker
            if len(b) != len(self) - 1:
                self.bad.append(("len", len(self), len(b)))
            if self.prev is not None and (b.value[0], b.cash[0]) != self.prev:
                self.bad.append(("value", len(self), (b.value[0], b.cash[0]), self.prev))
            mark = self.stats.buysell[0]
            if len(self) > 1:
                bought = any(k == len(self) - 1 and buy for k, buy in self.fills)
                sold = any(k == len(self) - 1 and not buy for k, buy in self.fills)
                if (mark.buy[0] == mark.buy[0]) != bought or \
                        (mark.sell[0] == mark.sell[0]) != sold:
                    self.bad.append(("mark", len(self)))
            size = script[len(self) - 1]
            if size:
                (self.buy if size > 0 else self.sell)(size=abs(size))
            self.prev = (self.broker.getvalue(), self.broker.getcash())

    rows = ROWS + [(11, 12, 10, 11), (12, 13, 11, 12)]
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(rows)), name="X")
    cerebro.addstrategy(Lag)
    cerebro.broker.setcash(1000.0)
    strat = cerebro.run()[0]
    assert strat.bad == []
    assert len(strat.stats.broker) == len(rows)


def test_add_cash_arrives_at_the_next_bar_by_hand():
    # fund mode, starting cash 1000 at fund value 100: 10 shares. add_cash(500) on bar 2
    # arrives on bar 3 (cash 1500) and buys 5 shares at the last fund value (100): 15.
    # A buy of 10 on bar 3 fills at bar 4's open (13): cash 1370, value 1500; bar 5's
    # close (12): value 1490. add_cash(-200) on bar 5 arrives on bar 6 and sells
    # 200 / (1490 / 15) = 2.013 shares; bar 6's value 1170 + 10 x 11 = 1280.
    seen = []

    class Adds(bt.Strategy):
        def next(self):
            b = self.broker
            seen.append((len(self), b.getcash(), b.getvalue(), b.fundshares))
            if len(self) == 2:
                b.add_cash(500)
                seen.append(("same bar", b.getcash()))
            elif len(self) == 3:
                self.buy(size=10)
            elif len(self) == 5:
                b.add_cash(-200)

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS + [(11, 12, 10, 11)])), name="X")
    cerebro.addstrategy(Adds)
    cerebro.broker.setcash(1000.0)
    cerebro.broker.set_fundmode(True)
    cerebro.run()
    assert seen[:3] == [(1, 1000, 1000, 10), (2, 1000, 1000, 10), ("same bar", 1000)]
    assert seen[3] == (3, 1500, 1500, 15)
    assert seen[4][:3] == (4, 1370, 1500) and seen[5][:3] == (5, 1370, 1490)
    shares = 15 - 200 / (1490 / 15)
    assert seen[6] == pytest.approx((6, 1170, 1280, shares))


def test_add_cash_cannot_take_cash_the_account_does_not_hold():
    class Out(bt.Strategy):
        def next(self):
            if len(self) == 1:
                self.broker.add_cash(-5000)

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="X")
    cerebro.addstrategy(Out)
    cerebro.broker.setcash(1000.0)
    with pytest.raises(NotImplementedError, match=r"add_cash\(-5000.0\): more than the "
                                                  r"cash \(1000.0\)"):
        cerebro.run()


def _pair_run(xs, ys, make):
    """Run ``make(strategy)`` over two PandasData feeds with closes ``ys`` (data0) and
    ``xs`` (data1); returns what it made."""
    idx = pd.bdate_range("2024-01-02", periods=len(xs))
    frames = [pd.DataFrame({"open": v, "high": v, "low": v, "close": v}, index=idx)
              for v in (ys, xs)]
    made = {}

    class Pair(bt.Strategy):
        def __init__(self):
            made["ind"] = make(self)

    cerebro = bt.Cerebro(stdstats=False)
    for f in frames:
        cerebro.adddata(bt.feeds.PandasData(dataname=f))
    cerebro.addstrategy(Pair)
    cerebro.run()
    return made["ind"]


def test_rolling_regression_by_hand():
    # y = 2x + 3 exactly: slope 2, intercept 3, spread 0 from the 10th bar on (window 10)
    xs = [1.0, 4.0, 2.0, 8.0, 5.0, 7.0, 3.0, 6.0, 9.0, 10.0, 12.0, 11.0]
    ys = [2 * x + 3 for x in xs]
    ols = _pair_run(xs, ys, lambda s: bt.ind.OLS_Slope_InterceptN(s.data0, s.data1))
    slope, intercept = ols.slope.array, ols.intercept.array
    assert np.isnan(slope[:9]).all() and ols._minperiod == 10
    assert slope[9:] == pytest.approx([2.0] * 3) and intercept[9:] == pytest.approx([3.0] * 3)
    beta = _pair_run(xs, ys, lambda s: bt.ind.OLS_BetaN(s.data0, s.data1, period=4))
    assert beta.beta.array[3:] == pytest.approx([2.0] * 9)
    tr = _pair_run(xs, ys, lambda s: bt.ind.OLS_TransformationN(s.data0, s.data1, period=2))
    assert tr._minperiod == 11 and tr.spread.array[9:] == pytest.approx([0.0] * 3, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 100), st.floats(-5, 5)), min_size=12, max_size=30),
       st.floats(-3, 3), st.floats(350, 450), st.integers(3, 10))
def test_rolling_regression_matches_least_squares(points, a, b, period):
    """Slope and intercept of every window are the least-squares line of numpy's
    polyfit (to 1e-7 relative), whatever the points (kept positive: they are prices)."""
    xs = [x for x, _ in points]
    ys = [a * x + b + e for x, e in points]
    ols = _pair_run(xs, ys, lambda s: bt.ind.OLS_Slope_InterceptN(s.data0, s.data1,
                                                                  period=period))
    for i in range(period - 1, len(xs)):
        wx, wy = np.array(xs[i - period + 1:i + 1]), np.array(ys[i - period + 1:i + 1])
        if np.ptp(wx) < 1e-6:
            continue
        m, c = np.polyfit(wx, wy, 1)
        assert ols.slope.array[i] == pytest.approx(m, rel=1e-7, abs=1e-7)
        assert ols.intercept.array[i] == pytest.approx(c, rel=1e-7, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), min_size=1, max_size=4))
def test_chained_bars_only_move_forward(windows):
    """Whatever pieces are chained: the bars seen strictly increase in time, each comes
    from some piece, and the first piece arrives whole."""
    days = pd.bdate_range("2020-01-01", periods=60)
    close = 10.0 + np.arange(60)
    frame = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close,
                          "volume": 100.0, "openinterest": 0.0}, index=days)
    pieces = [frame.iloc[min(a, b):max(a, b) + 1] for a, b in windows]
    seen = []

    class Watch(bt.Strategy):
        def next(self):
            seen.append(self.data.datetime.date(0))

    c = bt.Cerebro()
    c.chaindata(*[bt.feeds.PandasData(dataname=p) for p in pieces], name="X")
    c.addstrategy(Watch)
    c.run()
    union = {d.date() for p in pieces for d in p.index}
    assert all(a < b for a, b in zip(seen, seen[1:]))
    assert set(seen) <= union
    assert seen[:len(pieces[0])] == [d.date() for d in pieces[0].index]


def test_rollover_takes_over_after_the_bar_it_was_advanced_to():
    """A (5 bars) never rolls; B waits with bars on days 0-2 and 6-8. When A runs out on
    day 4, B had been advanced to day 6 (the first bar not before day 4), so it takes
    over from day 7: day 6 is never delivered (Backtrader's rule)."""
    days = pd.bdate_range("2021-03-01", periods=9)

    def feed(idx, base):
        close = base + np.arange(len(idx), dtype=float)
        return bt.feeds.PandasData(dataname=pd.DataFrame(
            {"open": close, "high": close + 1, "low": close - 1, "close": close,
             "volume": 100.0, "openinterest": 0.0}, index=idx))

    seen = []

    class Watch(bt.Strategy):
        def next(self):
            seen.append((self.data.datetime.date(0).day, self.data.close[0]))

    c = bt.Cerebro()
    c.rolloverdata(feed(days[:5], 10.0), feed(days[[0, 1, 2, 6, 7, 8]], 50.0),
                   checkdate=lambda dt, d: False, name="R")
    c.addstrategy(Watch)
    c.run()
    assert seen == [(1, 10.0), (2, 11.0), (3, 12.0), (4, 13.0), (5, 14.0),
                    (10, 54.0), (11, 55.0)]      # B's 2021-03-09 (53.0) skipped
    with pytest.raises(TypeError, match="data feeds"):
        bt.Cerebro().rolloverdata("not a feed")


def test_operators_in_next_read_the_current_bar_on_both_sides():
    """In ``next()`` a feed or an indicator used with an operator gives the current value:
    on the third bar (close 12, SMA(2) of 11 and 12 = 11.5) both operand orders."""
    seen = {}

    class Ops(bt.Strategy):
        def __init__(self):
            self.sma = bt.ind.SMA(period=2)

        def next(self):
            if len(self) == 3:
                d, s = self.data, self.sma
                seen.update(sub=d - 1, rsub=20 - d, mul=2 * s, div=d / 4, rdiv=24 / d,
                            gt=d > s, rgt=11 > s, lt=s < d, rlt=12 < s, eq=d == 12,
                            ne=s != 11.5, pow=s ** 2, radd=0.5 + s)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Ops)
    cerebro.run()
    assert seen == dict(sub=11.0, rsub=8.0, mul=23.0, div=3.0, rdiv=2.0, gt=True,
                        rgt=False, lt=True, rlt=False, eq=True, ne=False, pow=132.25,
                        radd=12.0)


plans = []
served = []


def _sma_cross_record(monkeypatch, quiet: bool):
    from ml4t.compat.backtrader import cerebro as cmod
    plan = cmod._Run._quiet_plan
    monkeypatch.setattr(cmod._Run, "_quiet_plan",
                        lambda self: plans.append(quiet) or (plan(self) if quiet else None))
    seen = []

    class Cross(bt.Strategy):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

        def notify_order(self, order):
            seen.append(("order", len(self), order.ref, order.status, order.executed.size,
                         order.executed.price))

        def notify_trade(self, trade):
            seen.append(("trade", len(self), trade.ref, trade.isclosed, trade.pnlcomm))

        def prenext(self):
            seen.append(("prenext", len(self)))

        def next(self):
            seen.append(("next", len(self), self.broker.getvalue(), self.broker.getcash()))
            if self.cross > 0:
                self.buy()
            elif self.cross < 0:
                self.close()

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(
        dataname=str(ORCL), fromdate=dt.datetime(2000, 1, 1),
        todate=dt.datetime(2001, 12, 31)))
    cerebro.addstrategy(Cross)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=50)
    cerebro.broker.setcommission(commission=0.001)
    strat = cerebro.run()[0]
    # the value and cash recorded after each bar's next() (the Broker observer's lines)
    lines = strat.stats.broker.lines
    seen.append(("recorded", len(strat.data), lines.value.array.tolist(),
                 lines.cash.array.tolist()))
    served.append(strat._run.stepper.served)
    return seen, cerebro.broker.getvalue()


def test_bars_without_news_take_the_short_path_with_the_same_outcome(monkeypatch):
    """The short path of a bar on which nothing reaches the strategy gives the same
    notifications, values, recorded value and cash lines and final value as the full
    path (ORCL 2000-2001)."""
    fast, fast_value = _sma_cross_record(monkeypatch, quiet=True)
    monkeypatch.undo()
    slow, slow_value = _sma_cross_record(monkeypatch, quiet=False)
    assert fast == slow and fast_value == slow_value
    _, nbars, values, cash = fast[-1]
    assert len(values) == len(cash) == nbars > 400 and values[0] == cash[0] == 10000.0
    assert len(set(values)) > 100 and values[-1] == fast_value
    kinds = [s[0] for s in fast]
    # 30 bars before CrossOver(SMA(30)) is ready (the SMA, then one bar for the cross);
    # every order is heard Submitted, Accepted, Completed
    assert kinds.count("prenext") == 30 and kinds.count("trade") > 4
    assert kinds.count("order") % 3 == 0 and kinds.count("order") > 0
    assert plans == [True, False]       # the first run had the short path, the second not
    # the compiled step (BarStep) served the bars without news of the first run only
    assert served[0] > 400 and served[1] == 0


def test_the_brokers_order_constructor_equals_the_public_one():
    """``Order._bt_make`` (the broker's) builds what ``BuyOrder(...)``/``SellOrder(...)``
    build from the same arguments: parameters, attributes, created and executed data."""
    from ml4t.compat.backtrader.order import BuyOrder, SellOrder

    held = {}

    class Keep(bt.Strategy):
        def next(self):
            if len(self) == 3:
                held["s"], held["d"] = self, self.data

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Keep)
    cerebro.run()
    s, d = held["s"], held["d"]
    for cls, extra in ((BuyOrder, dict(exectype=bt.Order.Limit, price=11.5, valid=None)),
                       (SellOrder, dict(exectype=bt.Order.StopTrail, price=None,
                                        valid=dt.timedelta(days=2)))):
        values = dict(owner=s, data=d, size=7, pricelimit=None, tradeid=1, oco=None,
                      trailamount=0.5 if cls is SellOrder else None, trailpercent=None,
                      parent=None, transmit=True, histnotify=False, **extra)
        a = cls(ref=9, note="x", **values)
        b = cls._bt_make(9, dict(values), {"note": "x"})

        def state(o):
            out = {k: v for k, v in vars(o).items()
                   if k not in ("p", "params", "info", "created", "executed")}
            return (out, vars(o.p), dict(o.info), vars(o.created), vars(o.executed))

        assert state(a) == state(b)
        assert b.size == (7 if cls is BuyOrder else -7) and b.info["note"] == "x"


def test_feeds_without_any_bar_stop_the_run_with_their_names():
    """A ``fromdate`` after the data leaves no bar at all: the run stops with a DataError
    naming the feeds (Backtrader runs no bar, or fails inside an indicator)."""
    from ml4t.errors import DataError

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS), fromdate=dt.datetime(2030, 1, 1)),
                    name="ORCL")
    cerebro.addstrategy(bt.Strategy)
    with pytest.raises(DataError, match=r"no feed has a bar to run on \('ORCL'\)") as ei:
        cerebro.run()
    assert ei.value.rule == "no_rows"


def test_pandasdata_reads_the_same_lines_from_numeric_and_mixed_frames():
    """A frame of plain numbers (converted as a whole) and the same frame with a text
    column and integer volumes (its needed columns converted alone) give the same lines;
    by hand: close (10.5, 11.0, 12.25), volume (100, 200, 300), no open interest."""
    rows = [(10.0, 11.0, 9.5, 10.5), (10.5, 11.5, 10.0, 11.0), (11.0, 12.5, 10.5, 12.25)]
    plain = bars(rows).assign(volume=[100.0, 200.0, 300.0])
    mixed = plain.assign(symbol="X", volume=plain["volume"].astype(np.int64))
    a = bt.feeds.PandasData(dataname=plain)._bt_read()
    b = bt.feeds.PandasData(dataname=mixed)._bt_read()
    assert a.keys() == b.keys()
    for line in a:
        assert np.array_equal(a[line], b[line], equal_nan=True), line
        assert a[line].flags.c_contiguous and a[line].dtype == np.float64, line
    assert a["close"].tolist() == [10.5, 11.0, 12.25]
    assert a["volume"].tolist() == [100.0, 200.0, 300.0]
    assert np.isnan(a["openinterest"]).all()
    # a column picked by position reads the same in both
    c = bt.feeds.PandasData(dataname=mixed, close=2)._bt_read()
    assert c["close"].tolist() == [9.5, 10.0, 10.5]


def test_cerebro_run_batches_young_collections_and_restores_the_thresholds():
    """Inside ``cerebro.run()`` (the strategy's ``next``) the collector's first threshold is
    the engine's GC_YOUNG_THRESHOLD; afterwards it is what it was."""
    import gc

    from ml4t.engine import GC_YOUNG_THRESHOLD

    seen = []

    class Look(bt.Strategy):
        def next(self):
            seen.append(gc.get_threshold()[0])

    old = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        cerebro = bt.Cerebro()
        cerebro.adddata(bt.feeds.PandasData(dataname=bars([(1.0, 1.0, 1.0, 1.0)] * 3)))
        cerebro.addstrategy(Look)
        cerebro.run()
        assert seen == [GC_YOUNG_THRESHOLD] * 3
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*old)


def test_compiled_line_operators_equal_the_python_ones():
    """``LineSeries``'s operators are compiled (``ml4t._core.btops``) and give what the
    Python methods of ``lines._fast_op(..., series=True)`` give: while running, ``op`` on
    the first line's current value -- by hand, 12.0 on the third bar, NaN before the
    minimum period, the last value before the first bar (wrapped read) -- against numbers,
    lines and other objects on either side, from float arrays (strided too) and others;
    while declaring, the same new line."""
    import operator

    from ml4t.compat.backtrader import lines as L
    from ml4t.compat.backtrader._params import STAGE

    class One(L.LineSeries):
        lines = ("x",)

    def series(values):
        s = object.__new__(One)
        s._bt_make_lines(L.Clock(np.arange(1.0, 6.0)), 1, {"x": values})
        return s

    other = series(np.array([11.0, 12.0, 11.0, 12.5, 9.0]))
    arrays = [np.array([np.nan, 11.0, 12.0, 13.0, 11.5]),
              np.array([10.0, 0, 11.0, 0, 12.0, 0, 13.0, 0, 9.5, 0])[::2],
              np.array([10, 11, 12, 13, 9], dtype=np.int64)]
    operands = [0, 12, 12.0, 11.5, np.nan, True, other, other.lines[0], "x", None]
    names = [n for n, m in vars(L.LineRoot).items() if hasattr(m, "_bt_op")]
    assert len(names) == 20
    compared = 0
    for name in names:
        compiled = getattr(L.LineSeries, name)
        assert type(compiled).__name__ == "cython_function_or_method"
        assert compiled.__name__ == name and compiled._bt_op == getattr(L.LineRoot, name)._bt_op
        python = L._fast_op(*compiled._bt_op, series=True)
        for values in arrays:
            s = series(values)
            for idx in (-1, 0, 2, 4):
                s._l0._clock._idx = other._l0._clock._idx = idx
                for b in operands:
                    outs = []
                    for method in (compiled, python):
                        try:
                            outs.append(("ok", method(s, b)))
                        except Exception as exc:   # the same error from both
                            outs.append(("raised", type(exc), str(exc)))
                    a, p = outs
                    same = a == p or (a[0] == p[0] == "ok" and a[1] != a[1] and p[1] != p[1])
                    assert same and type(a[-1]) is type(p[-1]), (name, values, idx, b, a, p)
                    compared += 1
    assert compared == 20 * 3 * 4 * len(operands)
    s = series(arrays[0])
    s._l0._clock._idx = other._l0._clock._idx = 2
    assert (s > 11.5) is True and (s == 12.0) is True and (11.5 < s) is True
    assert s + 1 == 13.0 and 30 - s == 18.0 and s * other == 12.0 * 11.0
    s._l0._clock._idx = 0
    assert (s > 0) is False and (s != 0) is True           # NaN
    s._l0._clock._idx = -1
    assert s - 1 == 10.5                                   # the last value
    tok = STAGE.set(1)
    try:
        built, expected = operator.gt(s, other), L._fast_op(operator.gt, series=True)(s, other)
    finally:
        STAGE.reset(tok)
    assert isinstance(built, L.LineBuffer) and np.array_equal(built.array, expected.array,
                                                              equal_nan=True)
    assert built.array.tolist()[1:] == [0.0, 1.0, 1.0, 1.0]


def test_the_run_reads_the_native_order_log_as_the_engine_reports_it(monkeypatch):
    """The run reads the native order events itself (``_Run._take_events``, no native
    ``on_order``/``on_fill`` hooks), those the broker acts on (fills, rejections, cancels,
    expiries); each is what the engine hands a strategy's hooks: the order snapshot's id,
    status and reason and the quantity, price, commission and time of the fill of an
    execution. A script with a
    market order, a limit that fills, one that expires, a canceled stop, a bracket whose
    stop cancels its limit, and a buy the native broker refuses for cash (its price gapped
    up after the submission check) is heard the same way."""
    from ml4t.compat.backtrader import cerebro as cmod
    from ml4t.compat.backtrader.broker import NATIVE_NEWS

    hooked, taken = [], []
    make = cmod._driver_class

    def with_hooks():
        classes = []
        for base in make():
            class Hooked(base):
                def on_order(self, order):
                    hooked.append([order.id, order.status, order.reason, None])

                def on_fill(self, fill):
                    assert hooked[-1][0] == fill.order_id and hooked[-1][3] is None
                    hooked[-1][3] = fill
            classes.append(Hooked)
        return classes

    take = cmod._Run._take_events
    monkeypatch.setattr(cmod, "_driver_class", with_hooks)
    monkeypatch.setattr(cmod._Run, "_take_events", lambda self: _record(self, take, taken))
    rows = [(10, 11, 9, 10), (11, 12, 10, 11), (12, 13, 11, 12), (13, 14, 12, 13),
            (12, 13, 11, 12), (30, 31, 29, 30), (11, 12, 10, 11), (11, 12, 10, 11)]
    keep = {}

    def stop_then_cancel(s):
        keep["stop"] = s.sell(exectype=bt.Order.Stop, price=5, size=1)

    script = {1: lambda s: s.buy(size=2),
              2: lambda s: (s.buy(exectype=bt.Order.Limit, price=11.5, size=1),
                            s.buy(exectype=bt.Order.Limit, price=5, size=1,
                                  valid=dt.timedelta(days=1)),
                            stop_then_cancel(s)),
              3: lambda s: (s.cancel(keep["stop"]),
                            s.buy_bracket(size=1, price=13.5, stopprice=11.5,
                                          limitprice=20)),
              5: lambda s: s.buy(size=60)}
    strat, cerebro = run(rows, script, cash=1000.0)
    news = [(oid, st, reason, fill and (fill.qty, fill.price, fill.commission, fill.ts_ns))
            for oid, st, reason, fill in hooked if st in NATIVE_NEWS]
    assert taken == news
    assert {h[1] for h in hooked} - set(NATIVE_NEWS) == {"submitted", "accepted"}
    assert {t[1] for t in taken} == {"filled", "canceled", "rejected"}
    assert {t[2] for t in taken} == {"", "user_cancel", "oco_canceled", "insufficient_cash"}
    # by hand: 2 bought at bar 2's open (11), the limit at 11.5, the bracket entry at
    # bar 4's open (13), its stop sold at 11.5
    assert [t[3][:2] for t in taken if t[3]] == [(2.0, 11.0), (1.0, 11.5), (1.0, 13.0),
                                                 (-1.0, 11.5)]
    heard = {(e[1], e[2]) for e in strat.events if e[1] != "trade"}
    assert {(1, "Completed"), (2, "Completed"), (3, "Expired"), (4, "Canceled"),
            (6, "Completed"), (7, "Canceled"), (8, "Margin")} <= heard


def _record(run, take, taken):
    events = take(run)
    taken.extend(events)
    return events


def test_fills_date_the_position_as_update_does():
    """The broker books a fill with ``Position._bt_fill(size, price, day number)``: the
    same sizes, prices and return values as ``update(size, price, num2date(day))``, with
    the datetime made when first read. By hand: 10 bought at bar 2's open (11), 4 sold at
    bar 5's open (12, the average price stays 11); the position's datetime is the bar of
    its last fill."""
    from ml4t.compat.backtrader.order import Position

    seen = []

    def look(s):
        pos = s.position
        seen.append((pos.size, pos.price, pos.datetime))

    strat, _ = run(ROWS, {1: lambda s: s.buy(size=10), 3: look, 4: lambda s: s.sell(size=4),
                          6: look})
    assert seen == [(10, 11.0, dt.datetime(2024, 1, 3)), (6, 11.0, dt.datetime(2024, 1, 8))]
    day = bt.date2num(dt.datetime(2024, 1, 5, 23, 59, 59, 999989))
    for steps in ([(10, 11.0), (-4, 13.0)], [(-3, 12.5), (5, 12.0)], [(2, 1.5), (-2, 1.0)]):
        a, b = Position(), Position()
        for size, price in steps:
            assert a._bt_fill(size, price, day) == b.update(size, price, bt.num2date(day))
        assert a.datetime == b.datetime == dt.datetime(2024, 1, 5, 23, 59, 59, 999989)
        assert vars(a) | {"_dtnum": None} == vars(b) | {"_dtnum": None}


def test_the_clock_union_of_one_increasing_feed_is_the_feed():
    """``cerebro._union`` (the master clock's ticks) is ``np.unique`` of the feeds' keys;
    one strictly increasing array is returned as it is (the fast path), anything else
    goes through ``np.unique``."""
    from ml4t.compat.backtrader.cerebro import _union

    one = np.array([3, 5, 9], dtype=np.int64)
    assert _union([one]) is one
    cases = [[one], [np.array([], dtype=np.int64)], [np.array([7], dtype=np.int64)],
             [np.array([3, 3, 5], dtype=np.int64)], [np.array([5, 3, 9], dtype=np.int64)],
             [one, np.array([4, 5, 10], dtype=np.int64)]]
    for keys in cases:
        out = _union(keys)
        assert out.dtype == np.int64
        assert out.tolist() == np.unique(np.concatenate(keys)).tolist()
    assert _union(cases[-1]).tolist() == [3, 4, 5, 9, 10]
    assert _union(cases[3]).tolist() == [3, 5]


def test_quiet_strategies_hear_their_orders_without_the_cash_value_hooks():
    """A strategy without ``notify_cashvalue``/``notify_fund`` overrides (and no
    analyzers) hears its orders and trades without the cash/value read (``_bt_quiet``);
    the same script with the hooks overridden hears the same, plus the hooks on every
    bar: by hand, 1000 of cash and value until the buy of 10 at 11 on bar 2, then cash
    890 and value 890 + 10 x close."""
    script = {1: lambda s: s.buy(size=10), 3: lambda s: s.close()}

    class Hooked(Recorder):
        def notify_cashvalue(self, cash, value):
            self.events.append((len(self), "cashvalue", cash, value))

        def notify_fund(self, cash, value, fundvalue, shares):
            self.events.append((len(self), "fund", fundvalue, shares))

    quiet, _ = run(ROWS, script)
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)), name="X")
    cerebro.addstrategy(Hooked, script=script)
    cerebro.broker.setcash(1000.0)
    hooked = cerebro.run()[0]
    assert quiet._bt_quiet is True and hooked._bt_quiet is False
    orders = [e for e in hooked.events if e[1] not in ("cashvalue", "fund")]
    assert orders == quiet.events and len(orders) == 7
    cashvalue = [e[2:] for e in hooked.events if e[1] == "cashvalue"]
    assert cashvalue == [(1000.0, 1000.0), (890.0, 890.0 + 110.0), (890.0, 890.0 + 120.0),
                         (1020.0, 1020.0), (1020.0, 1020.0), (1020.0, 1020.0)]
    funds = [e[2:] for e in hooked.events if e[1] == "fund"]
    assert funds[0] == (100.0, 10.0) and funds[3] == (102.0, 10.0)


def test_notification_clones_copy_the_order_and_its_executed_data():
    """``Order.clone`` (each notification): the same attributes; ``executed`` copied (its
    own list of execution bits, marked as heard), ``created`` shared; later changes of the
    live order do not reach the clone. A ``Trade`` copy has the same attributes."""
    import copy

    strat, cerebro = run(ROWS, {1: lambda s: s.buy(size=10)})
    live = cerebro.broker.orders[0]
    clone = live.clone()
    assert type(clone) is type(live) and clone is not live
    assert {k: v for k, v in vars(clone).items() if k != "executed"} == \
        {k: v for k, v in vars(live).items() if k != "executed"}
    assert clone.created is live.created and clone.executed is not live.executed
    assert vars(clone.executed) == vars(live.executed)
    assert clone.executed.exbits is not live.executed.exbits
    assert (clone.executed.size, clone.executed.price, len(clone.executed)) == (10, 11.0, 1)
    assert clone.executed.p1 == clone.executed.p2 == 1 and clone.executed.getpending() == []
    live.status = bt.Order.Canceled
    live.executed.exbits.append("x")
    assert clone.status == bt.Order.Completed and len(clone.executed) == 1
    trade = strat._trades[strat.data][0][0]
    assert vars(copy.copy(trade)) == vars(trade) and copy.copy(trade) is not trade


def test_futures_like_schemes_do_not_take_the_short_path(monkeypatch):
    """The short path is planned (``_Run._quiet_plan``) for a stock-like scheme, not for a
    futures-like one (``setcommission(margin=...)``: Backtrader's cash is the value less
    the margin held, which the short path does not compute)."""
    from ml4t.compat.backtrader import cerebro as cmod

    plan = cmod._Run._quiet_plan
    made = []
    monkeypatch.setattr(cmod._Run, "_quiet_plan", lambda self: made.append(plan(self)))
    for margin in (None, 50.0):
        cerebro = bt.Cerebro()
        cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
        cerebro.addstrategy(bt.Strategy)
        if margin:
            cerebro.broker.setcommission(margin=margin, mult=2.0)
        cerebro.run()
    assert made[0] is not None and made[1] is None


def test_orders_read_their_parameters_as_attributes_without_a_getattr_hook():
    """An order's parameters are its own attributes (copied when it is made: no
    ``__getattr__``, whose presence slows every attribute read); the parameter set's
    helpers read through the order as in Backtrader; anything else is an AttributeError.
    A trailing stop (whose set-up reads its parameters) starts with the stop by hand: the
    close 11 on bar 2 less the trail 0.5."""
    keep = {}

    def place(s):
        keep["mkt"] = s.buy(size=3)
        keep["trail"] = s.sell(size=3, exectype=bt.Order.StopTrail, trailamount=0.5)
        keep["stop"] = keep["trail"].created.price

    run(ROWS, {2: place})
    order, trail = keep["mkt"], keep["trail"]
    assert "__getattr__" not in vars(bt.Order) and not hasattr(type(order), "__getattr__")
    assert (order.size, order.exectype, order.tradeid, order.data._name) == \
        (3, bt.Order.Market, 0, "X")
    assert order._getkwargs() == order.p._getkwargs() and order._getkeys()[:2] == ["owner",
                                                                                  "data"]
    assert order.isdefault("tradeid") and order._defaults is order.p._defaults
    with pytest.raises(AttributeError):
        order.no_such_thing
    assert (trail.size, trail.trailamount, trail._trailstart) == (-3, 0.5, 11.0)
    assert keep["stop"] == 10.5


def test_the_compiled_step_checks_its_plan():
    """``BarStep.plan`` refuses a plan whose per-tick tables do not cover every master
    tick (no read past them in the compiled loop); an unarmed step hands the bar to the
    Python step."""
    held = {}

    class Keep(bt.Strategy):
        def next(self):
            held["run"] = self._run

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Keep)
    cerebro.run()
    run = held["run"]
    step = run.stepper
    assert step.served == len(ROWS)                 # every bar had no news
    sim = run.native._sim
    ns = np.ascontiguousarray(run.master_ns, dtype=np.int64)
    with pytest.raises(ValueError, match="short path plan for 6 ticks has 6 statuses, "
                                         "6 clock lists and 5 times"):
        step.plan(run._quiet, sim, ns[:-1], run._adv, run.master, run.nticks)
    with pytest.raises(ValueError, match="has 6 statuses, 5 clock lists"):
        step.plan(run._quiet, sim, ns, run._adv[:-1], run.master, run.nticks)
    from ml4t._core.btstep import BarStep

    calls = []

    class FakeRun:
        def step(self, bars):
            calls.append(bars)

    assert BarStep(FakeRun())("bars") is None and calls == ["bars"]


def test_order_news_reads_the_log_within_its_bounds():
    """``order_news`` (the compiled reading of ``_Run._take_events``) gives the tuples the
    log holds, by hand for one market order, and refuses ranges outside the log."""
    from ml4t._core.btstep import order_news
    from ml4t.orders import REASONS, STATUSES

    held = {}

    class Once(bt.Strategy):
        def next(self):
            held["run"] = self._run
            if len(self) == 1:
                self.buy(size=3)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(ROWS)))
    cerebro.addstrategy(Once)
    cerebro.broker.setcommission(commission=0.0)
    cerebro.run()
    run = held["run"]
    book, led = run._book, run._ledger
    n = book.n_events
    everything = order_news(book, led, 0, n, frozenset(STATUSES), STATUSES, REASONS)
    # submitted and accepted at bar 1's end, filled at bar 2's open (11): 3 x 11.0
    assert [e[1] for e in everything] == ["submitted", "accepted", "filled"]
    assert everything[-1][3][:3] == (3.0, 11.0, 0.0) and everything[0][3] is None
    for start, stop in ((-1, n), (0, n + 1), (2, 1)):
        with pytest.raises(IndexError, match="outside the log"):
            order_news(book, led, start, stop, frozenset(STATUSES), STATUSES, REASONS)
