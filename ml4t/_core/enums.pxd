# Closed sets shared by the core modules. The Python-visible enum classes are
# created by enums.pyx; C code uses the bare constants.

cpdef enum OrderType:
    MARKET = 0
    LIMIT = 1
    STOP = 2
    STOP_LIMIT = 3

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

cpdef enum FillMode:
    NEXT_OPEN = 0
    NEXT_CLOSE = 1
    SAME_CLOSE = 2

cpdef enum BarRules:
    INTRABAR = 0     # open/high/low decide (fills during the bar)
    AT_CLOSE = 1     # only the close decides (close auction)

cpdef enum ActionKind:
    SPLIT = 1
    DIVIDEND = 2
    DIVIDEND_PAID = 3
    CASH_IN_LIEU = 4
