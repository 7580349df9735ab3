"""golden/borrow_interest: a short held over a weekend, borrow fees and cash interest.

Wednesday: short 200 XYZ (fills Thursday's open) and try to short 100 HTB, which
is hard to borrow (rejected). Monday: cover the 200 XYZ (fills Tuesday's open).
The README derives each accrual.
"""
from ml4t import Strategy


class WeekendShort(Strategy):
    def on_start(self):
        self.bar = 0

    def on_bar(self, bars):
        self.bar += 1
        if self.bar == 1:                       # Wed 2024-01-03
            self.broker.order("XYZ", -200)
            self.broker.order("HTB", -100)      # rejected: hard_to_borrow
        elif self.bar == 4:                     # Mon 2024-01-08
            self.broker.order("XYZ", 200)       # cover
