"""Helpers for running real Zipline next to the shim (parity tests and benchmarks)."""
from __future__ import annotations


def us_exchange(ingest):
    """A Zipline ingest function whose exchange is written with a country code (US).

    Real Zipline's Pipeline only finds assets whose exchange has a country, which its
    csvdir ingest does not record (it fails with "Failed to find any assets with
    country_code 'US'"); the shim reads the csvdir folder directly and needs none of this.
    """
    import pandas as pd

    def with_country(environ, asset_db_writer, *args, **kwargs):
        class Writer:
            def write(self, equities=None, exchanges=None, **kw):
                exchanges = pd.DataFrame({"exchange": ["CSVDIR"], "canonical_name": ["CSVDIR"],
                                          "country_code": ["US"]})
                return asset_db_writer.write(equities=equities, exchanges=exchanges, **kw)

        return ingest(environ, Writer(), *args, **kwargs)

    return with_country
