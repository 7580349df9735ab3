"""The Zipline shim reads the engine's order log itself (``TradingAlgorithm._read_order_log``)
instead of through ``on_fill``/``on_order``: it must hand ``_book_fills`` exactly the fills
and engine-closed orders those hooks would give, in the same order."""
from __future__ import annotations

from conftest import flat_bars, frame
from ml4t import Engine, Strategy
from ml4t.compat.zipline.algorithm import TradingAlgorithm
from ml4t.models import PercentCommission


class _Both(Strategy):
    """Places orders the engine fills, partly fills, rejects (cash) and the strategy
    cancels; records what the hooks hear and what the log reader reads, bar by bar."""

    def __init__(self):
        super().__init__()
        self.reader = object.__new__(TradingAlgorithm)
        self.heard_fills, self.heard_closed = [], []
        self.read_fills, self.read_closed = [], []
        self.bar = 0

    def on_start(self):
        native = self.broker
        r = self.reader
        r._log = (native._book, native._ledger, native._assets.names)
        r._log_seen = native._book.n_events
        r._fills, r._engine_closed = [], []

    def on_fill(self, fill):
        self.heard_fills.append(fill)

    def on_order(self, order):
        # the hook the shim's host had
        if order.status in ("canceled", "rejected") and order.reason != "user_cancel":
            self.heard_closed.append(order)

    def on_bar(self, bars):
        r = self.reader
        TradingAlgorithm._read_order_log(r)
        self.read_fills += r._fills
        self.read_closed += r._engine_closed
        r._fills, r._engine_closed = [], []
        b, self.bar = self.bar, self.bar + 1
        if b == 0:
            self.broker.order("X", 30)                 # fills at the next open (10 each)
            self.broker.order("Y", 500)                # 500 x 20 > the cash left: rejected
        elif b == 1:
            keep = self.broker.order("X", 5, limit_price=1.0)   # never reached
            self.broker.cancel(keep.id)                # the algorithm's own cancel
            self.broker.order("X", -10)
        elif b == 2:
            self.broker.order("Y", 1_000)              # rejected again
            self.broker.order("X", -20)


def test_the_log_reader_gives_what_the_hooks_give():
    df = frame({"X": flat_bars([10.0, 10.0, 11.0, 12.0, 12.0]),
                "Y": flat_bars([20.0, 20.0, 20.0, 20.0, 20.0])})
    s = _Both()
    Engine(cash=1_000, commission=PercentCommission(0.001)).run(s, df)
    # the final bar's on_bar reads the events of the bar before it: the hooks heard
    # nothing after that (no order is placed on the last two bars)
    assert s.read_fills == s.heard_fills
    assert [f.qty for f in s.read_fills] == [30.0, -10.0, -20.0]
    assert [(o.id, o.status, o.reason, o.reason_text, o.ts_ns, o.filled)
            for o in s.read_closed] == \
        [(o.id, o.status, o.reason, o.reason_text, o.ts_ns, o.filled)
         for o in s.heard_closed]
    assert [(o.asset, o.status, o.reason) for o in s.read_closed] == \
        [("Y", "rejected", "insufficient_cash"), ("Y", "rejected", "insufficient_cash")]
