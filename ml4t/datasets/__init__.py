"""Sample data shipped with ml4t.

Daily bars for AAPL, IBM, KO and MSFT, 2012-01-03 to 2014-12-31 (754 sessions each), in
Zipline's csvdir layout (``daily/<SYMBOL>.csv`` with ``date,open,high,low,close,volume,
dividend,split``).

The prices are **unadjusted**: they are the prices that traded on each day. Corporate actions
appear only in the ``dividend`` (cash per share, on the ex-date) and ``split`` (ratio, on the
effective date, 1.0 otherwise) columns: AAPL split 7:1 on 2014-06-09 (close 645.57 on
2014-06-06, then 93.70) and KO split 2:1 on 2012-08-13. Volumes and dividends before a split
are likewise as traded/paid, not adjusted.

Functions
---------
data_dir
    Path of the csvdir root (the folder containing ``daily/``), for `ml4t.data.load_bars` or a
    Zipline csvdir bundle.
load_daily
    The bars as a long DataFrame.
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterable

import pandas as pd

from ml4t.errors import suggest

__all__ = ["data_dir", "load_daily", "SYMBOLS"]

SYMBOLS = ("AAPL", "IBM", "KO", "MSFT")


def data_dir() -> pathlib.Path:
    """Return the csvdir root of the sample data (the folder that contains ``daily/``).

    Returns
    -------
    pathlib.Path
        An absolute path; ``data_dir() / "daily" / "AAPL.csv"`` is AAPL's file.
    """
    return pathlib.Path(__file__).resolve().parent / "data"


def load_daily(symbols: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Load the sample daily bars as a long DataFrame.

    Parameters
    ----------
    symbols : str or iterable of str, optional
        Which assets to return (default: all of AAPL, IBM, KO, MSFT).

    Returns
    -------
    pandas.DataFrame
        Columns ``ts`` (datetime64[ns, UTC], stamped at the XNYS session close, e.g.
        2012-01-03 21:00 UTC; 18:00 UTC on early-close days), ``asset``, ``open``, ``high``,
        ``low``, ``close``, ``volume``, ``dividend``, ``split``; sorted by (ts, asset) with a
        default RangeIndex. Prices are unadjusted (see the module docstring).

    Raises
    ------
    KeyError
        A symbol is not in the sample data; the message suggests a close spelling.
    TypeError
        `symbols` is neither a str nor an iterable of str.

    Examples
    --------
    >>> frame = load_daily("AAPL")
    >>> float(frame["close"].iloc[0])
    411.230001
    """
    from ml4t.data import load_bars

    if symbols is None:
        wanted = list(SYMBOLS)
    elif isinstance(symbols, str):
        wanted = [symbols]
    elif isinstance(symbols, Iterable):
        wanted = list(symbols)
    else:
        raise TypeError(
            f"load_daily() symbols must be a str, an iterable of str or None, "
            f"got {type(symbols).__name__}"
        )
    for name in wanted:
        if not isinstance(name, str):
            raise TypeError(f"load_daily() symbols must be str, got {type(name).__name__} "
                            f"{name!r}")
        if name not in SYMBOLS:
            guess = suggest(name, SYMBOLS)
            hint = f"did you mean {guess!r}?" if guess is not None else (
                "available: " + ", ".join(SYMBOLS))
            raise KeyError(f"no sample data for symbol {name!r}; {hint}")
    frame = load_bars(data_dir(), calendar="XNYS").to_frame()
    if set(wanted) != set(SYMBOLS):
        frame = frame[frame["asset"].isin(wanted)].reset_index(drop=True)
    return frame
