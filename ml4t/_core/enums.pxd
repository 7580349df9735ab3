# Closed sets shared by the core modules. The Python-visible enum classes are
# created by enums.pyx; C code uses the bare constants.

cpdef enum OrderType:
    MARKET = 0
    LIMIT = 1
    STOP = 2
    STOP_LIMIT = 3
    TRAILING_STOP = 4
    MARKET_ON_CLOSE = 5       # fills at a session's close (see matching.pyx)
    TRAILING_STOP_LIMIT = 6   # trailing stop whose limit follows the stop at an offset

cpdef enum TimeInForce:
    GTC = 0
    DAY = 1
    IOC = 2
    FOK = 3

cpdef enum OrderStatus:
    CREATED = 0
    SUBMITTED = 1
    ACCEPTED = 2
    PARTIALLY_FILLED = 3
    FILLED = 4
    CANCELED = 5
    REJECTED = 6
    EXPIRED = 7

cpdef enum Reason:
    NONE = 0
    INSUFFICIENT_CASH = 1
    INSUFFICIENT_MARGIN = 2
    SHORT_NOT_ALLOWED = 3
    MAX_LEVERAGE = 4
    USER_CANCEL = 5
    IOC_UNFILLED = 6
    FOK_UNFILLED = 7
    DAY_EXPIRED = 8
    END_OF_DATA = 9
    PRICE_INVALID = 10
    CORPORATE_ACTION = 11
    REPLACED = 12
    PARENT_CANCELED = 13
    OCO_CANCELED = 14
    BELOW_MIN_QTY = 15
    MARGIN_CALL = 16
    HARD_TO_BORROW = 17
    CONTRACT_EXPIRED = 18
    ROLL = 19
    NO_FX_RATE = 20

cpdef enum FillMode:
    NEXT_OPEN = 0
    NEXT_CLOSE = 1
    SAME_CLOSE = 2

cpdef enum BarRules:
    INTRABAR = 0     # open/high/low decide (fills during the bar)
    AT_CLOSE = 1     # only the close decides (close auction)
    QUOTES = 2       # bid/ask decide: buys at the ask, sells at the bid

cpdef enum ActionKind:
    SPLIT = 1
    DIVIDEND = 2
    DIVIDEND_PAID = 3
    CASH_IN_LIEU = 4

cpdef enum IntrabarPolicy:
    STOP_FIRST = 0       # both legs touched: the stop fills (conservative)
    LIMIT_FIRST = 1      # both legs touched: the limit fills (optimistic)
    NEAREST_OPEN = 2     # the leg whose price is nearer the open fills
    SUBMISSION = 3       # the earlier-submitted member fills

cpdef enum TrailSource:
    TRAIL_CLOSE = 0      # the trail follows each bar's close
    TRAIL_HIGH_LOW = 1   # the trail follows each bar's high (sell) / low (buy)
