"""The synthetic csvdir universe: ``benchmarks.data.make_panel`` written as csvdir files.

``<folder>/daily/A0000.csv ...`` with ``date,open,high,low,close,volume,dividend,split``
(no dividends, no splits), one row per XNYS session from 2010-01-04; the same seeded
random walks as the other benchmarks. The folder is cached under ``benchmarks/.cache``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks.data import CACHE, asset_names, make_panel, sessions


def csvdir(n_assets: int, n_bars: int, seed: int = 42) -> Path:
    """Path of the csvdir folder for ``n_assets`` x ``n_bars`` (written on first use)."""
    import numpy as np

    path = CACHE / f"csvdir_{n_assets}x{n_bars}_s{seed}"
    if (path / "DONE").exists():
        return path
    tmp = Path(f"{path}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "daily").mkdir(parents=True)
    panel = make_panel(n_assets, n_bars, seed)
    # session dates (the closes are UTC; the date of a close is its session)
    dates = [d.strftime("%Y-%m-%d") for d in sessions(n_bars).tz_convert("America/New_York")]
    fields = ("open", "high", "low", "close")
    for j, name in enumerate(asset_names(n_assets)):
        cols = [panel[f][:, j] for f in fields]
        vol = panel["volume"][:, j]
        lines = ["date,open,high,low,close,volume,dividend,split"]
        lines += [f"{d},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{int(v)},0.0,1.0"
                  for d, o, h, lo, c, v in zip(dates, *cols, vol)]
        (tmp / "daily" / f"{name}.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp / "sessions.npy", np.array(dates))
    (tmp / "DONE").write_text("")
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
    return path


def session_dates(folder: Path) -> list[str]:
    import numpy as np

    return [str(x) for x in np.load(Path(folder) / "sessions.npy")]
