"""Zipline's exception names, raised by the shim where Zipline raises them.

Each class keeps Zipline's name (so ``except SymbolNotFound`` in ported code still
works) and carries its details as attributes; the messages are the shim's own.
"""
from __future__ import annotations

__all__ = [
    "ZiplineError", "SymbolNotFound", "SidsNotFound", "HistoryWindowStartsBeforeData",
    "CannotOrderDelistedAsset", "SetSlippagePostInit", "SetCommissionPostInit",
    "RegisterTradingControlPostInit", "RegisterAccountControlPostInit",
    "UnsupportedOrderParameters", "BadOrderParameters", "TradingControlViolation",
    "AccountControlViolation", "OrderDuringInitialize", "OrderInBeforeTradingStart",
    "SetBenchmarkOutsideInitialize", "UnsupportedSlippageModel", "UnsupportedCommissionModel",
    "IncompatibleSlippageModel", "ScheduleFunctionInvalidCalendar", "UnknownBundle",
    "BenchmarkAssetNotAvailableTooEarly", "NoSuchOrder", "UnsupportedFeature",
    "AttachPipelineAfterInitialize", "PipelineOutputDuringInitialize", "NoSuchPipeline",
    "NonWindowSafeInput", "WindowLengthNotSpecified", "NoDefaultMissingValue",
    "UnsupportedCancelPolicy", "SetCancelPolicyPostInit",
]


class ZiplineError(Exception):
    """Base class of the shim's Zipline-named errors.

    Keyword arguments become attributes and fill the class's ``template``.
    ``msg=`` overrides the message.
    """

    template = "{msg}"

    def __init__(self, msg: str | None = None, **details):
        self.__dict__.update(details)
        self.msg = msg
        self.details = details
        super().__init__(self._message())

    def _message(self) -> str:
        if self.msg is not None:
            return self.msg
        try:
            return self.template.format(**self.details)
        except (KeyError, IndexError):
            return f"{type(self).__name__}({self.details})"

    def __str__(self) -> str:
        return self._message()


class SymbolNotFound(ZiplineError):
    """``symbol()`` found no asset with that ticker (close spellings are suggested)."""

    def _message(self) -> str:
        if self.msg is not None:
            return self.msg
        sym = self.details.get("symbol")
        hints = self.details.get("suggestions") or []
        text = f"no asset with the symbol {sym!r} in this bundle"
        if hints:
            text += "; did you mean " + " or ".join(repr(h) for h in hints) + "?"
        return text


class SidsNotFound(ZiplineError):
    template = "no asset with sid(s) {sids} in this bundle"


class HistoryWindowStartsBeforeData(ZiplineError):
    template = ("a history window of {bar_count} bars would start before the first session "
                "of the data ({first_trading_day}); start the backtest on or after "
                "{suggested_start_day} or ask for fewer bars")


class CannotOrderDelistedAsset(ZiplineError):
    template = "cannot order {asset}: {why}"


class SetSlippagePostInit(ZiplineError):
    template = "set_slippage() may only be called in initialize()"


class SetCommissionPostInit(ZiplineError):
    template = "set_commission() may only be called in initialize()"


class RegisterTradingControlPostInit(ZiplineError):
    template = "trading controls (set_max_* / set_long_only / ...) may only be set in initialize()"


class RegisterAccountControlPostInit(ZiplineError):
    template = "account controls (set_max_leverage / ...) may only be set in initialize()"


class UnsupportedOrderParameters(ZiplineError):
    template = "unsupported order parameters"


class BadOrderParameters(ZiplineError):
    template = "bad order parameters"


class TradingControlViolation(ZiplineError):
    template = ("order for {amount} shares of {asset} at {datetime} violates the trading "
                "constraint {constraint}")


class AccountControlViolation(ZiplineError):
    template = "account violates the constraint {constraint}"


class OrderDuringInitialize(ZiplineError):
    template = "orders cannot be placed in initialize(); place them in handle_data()"


class OrderInBeforeTradingStart(ZiplineError):
    template = "orders cannot be placed in before_trading_start()"


class SetBenchmarkOutsideInitialize(ZiplineError):
    template = "set_benchmark() may only be called in initialize()"


class UnsupportedSlippageModel(ZiplineError):
    template = "set_slippage() needs a slippage model instance (ml4t.compat.zipline.finance.slippage)"


class UnsupportedCommissionModel(ZiplineError):
    template = "set_commission() needs a commission model instance (ml4t.compat.zipline.finance.commission)"


class IncompatibleSlippageModel(ZiplineError):
    template = "slippage model {model} cannot be used for {asset_type}"


class ScheduleFunctionInvalidCalendar(ZiplineError):
    template = "schedule_function() got calendar={given_calendar}; use one of {allowed_calendars}"


class UnknownBundle(ZiplineError, ValueError):
    """No bundle of that name: the message names the registered ones (a close spelling
    first) and how to make one from a csvdir folder."""

    def _message(self) -> str:
        if self.msg is not None:
            return self.msg
        name = self.details.get("name")
        known = list(self.details.get("registered") or ())
        text = f"no bundle registered as {name!r}"
        if known:
            import difflib

            close = difflib.get_close_matches(str(name), known, n=1)
            text += (f"; did you mean {close[0]!r}?" if close else "") + \
                " (registered: " + ", ".join(repr(k) for k in sorted(known)) + ")"
        return text + (
            ". ml4t reads csvdir folders directly (no ingest): register one with "
            "ml4t.compat.zipline.data.bundles.register(name, csvdir_equities(['daily'], "
            "'/path/to/folder')) or pass the folder's path as bundle=")


class BenchmarkAssetNotAvailableTooEarly(ZiplineError):
    template = "benchmark asset {asset} has no data before the first session {start}"


class NoSuchOrder(ZiplineError, KeyError):
    template = "no order with id {order_id!r}"


class UnsupportedFeature(ZiplineError, NotImplementedError):
    """A Zipline feature the shim does not (yet) translate onto the native engine."""

    template = "{what} is not supported by ml4t.compat.zipline: {why}"


class AttachPipelineAfterInitialize(ZiplineError):
    template = ("Attempted to attach a pipeline after initialize(). attach_pipeline() can "
                "only be called during initialize.")


class PipelineOutputDuringInitialize(ZiplineError):
    template = ("Attempted to call pipeline_output() during initialize. pipeline_output() "
                "can only be called once initialize has completed.")


class NoSuchPipeline(ZiplineError, KeyError):
    template = ("No pipeline named '{name}' exists. Valid pipeline names are {valid}. Did "
                "you forget to call attach_pipeline()?")


class NonWindowSafeInput(ZiplineError):
    """A term whose values change meaning with the day they are seen from (a raw price, a
    moving average of prices) was given as an input to a term with a window longer than
    one session."""

    template = "Can't compute windowed expression {parent} with windowed input {child}."


class WindowLengthNotSpecified(ZiplineError):
    template = ("{termname} requires a window_length, but no window_length was passed "
                "(and the class sets none).")


class NoDefaultMissingValue(ZiplineError):
    template = ("Failed to create Column with name {name!r} and dtype {dtype} because no "
                "missing_value was provided; columns of this dtype have no default.")


class UnsupportedCancelPolicy(ZiplineError):
    template = ("You tried to set a cancel policy with an unsupported class. Please use "
                "an instance of CancelPolicy.")


class SetCancelPolicyPostInit(ZiplineError):
    template = ("You attempted to set the cancel policy outside of `initialize`. You may "
                "only call 'set_cancel_policy' in your initialize method.")
