"""``get_calendar``: exchange calendars as Zipline 3 builds them (``exchange_calendars``)."""
from __future__ import annotations

__all__ = ["get_calendar"]


def get_calendar(name: str = "XNYS", *args, **kwargs):
    """An ``exchange_calendars`` calendar (``"NYSE"`` is ``"XNYS"``)."""
    import exchange_calendars as xcals
    return xcals.get_calendar({"NYSE": "XNYS"}.get(name, name), *args, **kwargs)
