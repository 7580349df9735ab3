"""Filters: boolean pipeline terms (``CustomFilter``, and ``Filter`` for isinstance)."""
from ml4t.compat.zipline.pipeline import CustomFilter, Filter

__all__ = ["CustomFilter", "Filter"]
