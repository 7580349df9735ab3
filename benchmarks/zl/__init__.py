"""Helpers of ``benchmarks/bench_zipline.py``: algorithm sources and the synthetic csvdir."""
