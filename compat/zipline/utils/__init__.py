"""``ml4t.compat.zipline.utils``: scheduling rules."""
from ml4t.compat.zipline.utils import events  # noqa: F401
