"""``python -m genarch.analysis``: the same command line as ``python -m genarch.analyze``."""

import sys

from genarch.analysis.cli import main

sys.exit(main())
