"""``zipline.utils.run_algo``: ``run_algorithm`` and ``load_extensions``."""
from __future__ import annotations

from ml4t.compat.zipline.algorithm import run_algorithm

__all__ = ["run_algorithm", "load_extensions"]


def load_extensions(default, extensions, strict, environ, reload=False) -> None:
    """Zipline runs ``~/.zipline/extension.py`` and the named extension files here, to
    register bundles. The shim reads bundles registered in the script itself, so it loads
    no extension files; each named file that does not exist is refused when ``strict``."""
    import os
    for ext in extensions or ():
        if ext.endswith(".py") and not os.path.exists(ext) and strict:
            raise FileNotFoundError(f"extension file {ext!r} not found")
