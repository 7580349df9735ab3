"""Run manifests: the configuration, seed, input hashes and versions behind a result.

Every run that writes results (``run_backtest(..., out=...)``, ``ml4t run``,
``ml4t replay``) writes ``run_manifest.json`` beside them, so anyone can check
that a result came from exactly these inputs and this code.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


class RunClock:
    """Wall-clock start/end of a run (kept out of every compared output)."""

    def __init__(self):
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()

    def finish(self) -> dict:
        return {"started": self.started.isoformat(timespec="seconds"),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - self._t0, 3)}


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_hashes(source) -> dict[str, str]:
    """SHA-256 of every file behind ``source`` (a file, or every file under a folder)."""
    if source is None:
        return {}
    p = Path(str(source))
    if p.is_file():
        return {str(p): sha256_file(p)}
    if p.is_dir():
        return {str(f): sha256_file(f) for f in sorted(p.rglob("*")) if f.is_file()}
    return {}


def array_hash(bar_data) -> str:
    """SHA-256 over the validated columns of in-memory data (DataFrame or dict input)."""
    h = hashlib.sha256()
    h.update("\x00".join(bar_data.assets).encode())
    for batch in bar_data.batches():
        for name in ("ts", "asset", "open", "high", "low", "close", "volume"):
            h.update(np.ascontiguousarray(getattr(batch, name)).tobytes())
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Installed versions of ml4t and the libraries a result depends on (no imports)."""
    from importlib import metadata

    out = {"python": platform.python_version(), "platform": sys.platform}
    for dist in ("ml4t", "numpy", "pandas", "pyarrow", "Cython", "exchange-calendars",
                 "empyrical-reloaded", "matplotlib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    # Cython is a build-time tool: record the version that compiled the core
    from ml4t._core.buffers import CYTHON_VERSION
    out["Cython"] = CYTHON_VERSION
    return out


def jsonable(value):
    """Configuration values as JSON: models by their repr, timestamps as ISO strings."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not np.isfinite(value):
            return str(value)
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return jsonable(float(value))
    return repr(value)


def build_manifest(config: dict, bar_data, strategy, timing: dict, extra: dict | None = None) -> dict:
    src = getattr(bar_data, "source", None)
    files = input_hashes(src) if src and not str(src).startswith("<") else {}
    man = {
        "ml4t_manifest": 1,
        "config": jsonable(config),
        "seed": config.get("seed"),
        "strategy": f"{type(strategy).__module__}.{type(strategy).__qualname__}",
        "data": {"source": str(src), "assets": list(bar_data.assets),
                 "files": files,
                 "arrays_sha256": None if files else array_hash(bar_data)},
        "versions": versions(),
        "timing": timing,
    }
    if extra:
        man.update(jsonable(extra))
    return man


def write_manifest(path, manifest: dict) -> Path:
    p = Path(path)
    p.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return p
