"""Pipeline domains: which assets and calendar a pipeline runs on.

The shim runs every pipeline on the bundle's own assets and sessions, so the domain is
a label: ``US_EQUITIES`` and ``GENERIC`` are accepted (a csvdir bundle is one market);
another country's domain is refused by ``attach_pipeline``.
"""
from __future__ import annotations

__all__ = ["Domain", "GENERIC", "US_EQUITIES", "EquityCalendarDomain", "infer_domain"]


class Domain:
    """A market: its country code and exchange calendar name."""

    def __init__(self, country_code: str | None, calendar_name: str | None):
        self.country_code = country_code
        self.calendar_name = calendar_name

    def __repr__(self):
        if self.country_code is None:
            return "GENERIC"
        return f"EquityCalendarDomain({self.country_code!r}, {self.calendar_name!r})"


class EquityCalendarDomain(Domain):
    """The equities of one country, traded on one exchange calendar."""

    def __init__(self, country_code: str, calendar_name: str, data_query_offset=None):
        super().__init__(country_code, calendar_name)
        self.data_query_offset = data_query_offset


GENERIC = Domain(None, None)
US_EQUITIES = EquityCalendarDomain("US", "XNYS")


def infer_domain(terms) -> Domain:
    """The domain of ``terms``: US_EQUITIES for the shim's bundles."""
    return US_EQUITIES


def check_runnable(domain) -> None:
    """Refuse a domain the shim's bundle cannot be (another country)."""
    if domain is None or domain is GENERIC:
        return
    code = getattr(domain, "country_code", None)
    if code not in (None, "US"):
        from ml4t.compat.zipline.errors import UnsupportedFeature
        raise UnsupportedFeature(what=f"a pipeline on the domain {domain!r}",
                                 why="the shim's pipelines run on the bundle's own "
                                     "assets (US_EQUITIES or GENERIC)")
