"""Exceptions raised by ml4t, and helpers that make their messages read alike.

Every error says *what* went wrong, *where* (file, row, column or parameter) and the offending
value. Unknown names come with a spelling suggestion when one is close enough.

Classes
-------
Ml4tError
    Base class of every ml4t exception.
DataError
    Input data break a rule (``rule`` names it, e.g. ``"high_below_low"``).
ConfigError
    A parameter has a value outside its allowed set or range.
OrderError
    An order was placed with bad parameters (unknown asset, non-finite quantity, ...).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "Ml4tError",
    "DataError",
    "ConfigError",
    "OrderError",
    "suggest",
    "check_choice",
]


class Ml4tError(Exception):
    """Base class of every exception raised by ml4t."""


class DataError(Ml4tError, ValueError):
    """Input data break a validation rule.

    Parameters
    ----------
    message : str
        What is wrong, with the offending value(s), e.g. ``"high 10.0 < low 11.0"``.
    path : str, optional
        Where the data came from: a file path, ``"<DataFrame>"``, ``"<dict>['AAPL']"``...
    row : int, optional
        0-based index of the offending data row in the input as given (before any sorting).
    column : str, optional
        Name of the offending column, spelled as in the input.
    rule : str, optional
        Machine-readable name of the broken rule, e.g. ``"nan_price"``.
    line : int, optional
        1-based line number in a CSV file (the header is line 1), when the input is a CSV.

    Attributes
    ----------
    message, path, row, column, rule, line
        The constructor arguments, unchanged.

    Examples
    --------
    >>> str(DataError("high 10.0 < low 11.0", path="data/AAPL.csv", row=12, line=14,
    ...               column="high", rule="high_below_low"))
    "data/AAPL.csv, line 14 (row 12), column 'high': high_below_low: high 10.0 < low 11.0"
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
        rule: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.row = row
        self.column = column
        self.rule = rule
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(
                f"line {self.line}" + (f" (row {self.row})" if self.row is not None else "")
            )
        elif self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        what = self.message if self.rule is None else f"{self.rule}: {self.message}"
        return f"{', '.join(where)}: {what}" if where else what

    def __str__(self) -> str:
        return self._format()

    def __reduce__(self):
        # keyword-only arguments would be lost by the default Exception pickling
        return (
            _rebuild_data_error,
            (self.message, self.path, self.row, self.column, self.rule, self.line),
        )


def _rebuild_data_error(message, path, row, column, rule, line):
    return DataError(message, path=path, row=row, column=column, rule=rule, line=line)


def _format_expected(expected: Any) -> str:
    if isinstance(expected, str):
        return expected
    if isinstance(expected, Iterable):
        return "one of " + ", ".join(repr(choice) for choice in expected)
    return str(expected)


class ConfigError(Ml4tError, ValueError):
    """A parameter was given a value outside its allowed set or range.

    Parameters
    ----------
    param : str
        Name of the parameter, e.g. ``"fill"``.
    value : object
        The value that was given.
    expected : str or iterable
        What would have been accepted: a phrase (``"a positive int"``) or the allowed choices,
        rendered as ``one of 'a', 'b'``.
    hint : str, optional
        A sentence appended after a semicolon, e.g. ``"did you mean 'next_open'?"``.

    Attributes
    ----------
    param, value, expected, hint
        The constructor arguments, unchanged.

    Examples
    --------
    >>> str(ConfigError("fill", "next_opn", ("next_open", "next_close", "same_close"),
    ...                 hint="did you mean 'next_open'?"))
    "invalid value for 'fill': 'next_opn' (expected one of 'next_open', 'next_close', \
'same_close'); did you mean 'next_open'?"
    """

    def __init__(self, param: str, value: Any, expected: Any, hint: str | None = None) -> None:
        self.param = param
        self.value = value
        self.expected = expected
        self.hint = hint
        super().__init__(param, value, expected, hint)

    def __str__(self) -> str:
        text = (
            f"invalid value for {self.param!r}: {self.value!r} "
            f"(expected {_format_expected(self.expected)})"
        )
        if self.hint is not None:
            text += f"; {self.hint}"
        return text


class OrderError(Ml4tError, ValueError):
    """An order has bad parameters: unknown asset, non-finite quantity, negative price..."""


def suggest(name: Any, choices: Iterable[Any]) -> str | None:
    """Return the choice closest in spelling to `name`, or None if none is close.

    The comparison ignores case; an exact case-insensitive match wins outright. The result is
    deterministic: among equally close choices the earlier one in `choices` is returned.

    Parameters
    ----------
    name : object
        The unknown name (converted with ``str``).
    choices : iterable
        The valid names (each converted with ``str``).

    Returns
    -------
    str or None
        The closest valid name, as spelled in `choices`.

    Examples
    --------
    >>> suggest("next_opn", ["next_open", "next_close", "same_close"])
    'next_open'
    >>> suggest("aapl", ["AAPL", "IBM"])
    'AAPL'
    >>> suggest("zzz", ["AAPL", "IBM"]) is None
    True
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        text = str(choice)
        by_lower.setdefault(text.lower(), text)
    key = str(name).lower()
    if key in by_lower:
        return by_lower[key]
    close = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def check_choice(param: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return `value` if it is one of `choices`, else raise ConfigError with a suggestion.

    Parameters
    ----------
    param : str
        Parameter name used in the message.
    value : object
        The value to check.
    choices : iterable
        The allowed values.

    Returns
    -------
    object
        `value`, unchanged.

    Raises
    ------
    ConfigError
        If `value` is not in `choices`; the hint names the closest choice, if any.

    Examples
    --------
    >>> check_choice("fill", "next_open", ("next_open", "next_close", "same_close"))
    'next_open'
    """
    choices = tuple(choices)
    try:
        if value in choices:
            return value
    except TypeError:  # unhashable or uncomparable value: certainly not a choice
        pass
    guess = suggest(value, choices) if isinstance(value, str) else None
    hint = f"did you mean {guess!r}?" if guess is not None else None
    raise ConfigError(param, value, choices, hint)
