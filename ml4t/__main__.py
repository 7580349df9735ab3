"""``python -m ml4t`` is the ``ml4t`` command."""
import sys

from ml4t.cli import main

sys.exit(main())
