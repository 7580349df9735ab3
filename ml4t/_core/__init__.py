"""Compiled hot path of ml4t: clock, matching, accounting and cost models (Cython)."""
