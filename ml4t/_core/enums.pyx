"""Enumerations of the core: order types, time in force, statuses, reasons, fill modes.

The values are declared in ``enums.pxd`` so every core module compiles them as
C constants; importing this module gives the Python enum classes.
"""

REASON_TEXT = {
    0: "",
    1: "insufficient cash: the fill would take cash below zero",
    2: "insufficient margin: the fill would breach the initial margin requirement",
    3: "short selling is not allowed on this account",
    4: "the fill would exceed the maximum gross leverage",
    5: "canceled by the strategy",
    6: "immediate-or-cancel order not (fully) fillable at its first opportunity",
    7: "fill-or-kill order not fillable in full at its first opportunity",
    8: "day order expired at the end of its session",
    9: "the data ended before the order could fill",
    10: "the slippage model returned a non-finite or non-positive price",
    11: "canceled by a corporate action: after the split its quantity rounds to zero",
    12: "price or quantity replaced by the strategy",
    13: "the parent (entry) order ended without a fill",
    14: "another order of its one-cancels-other group filled or ended",
    15: "the quantity is below the asset's minimum order quantity",
    16: "forced liquidation: equity fell below the maintenance margin requirement",
    17: "the asset is hard to borrow: new or larger shorts are not accepted",
    18: "the futures contract has expired (positions settle at its last close)",
    19: "continuous-future roll: the expiring contract is closed and the next opened",
    20: "no exchange rate for the asset's currency at this time",
}
