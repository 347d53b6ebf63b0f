"""``python -m genarch.analyze``: the documented name of the analysis command line, :mod:`genarch.analysis.cli`."""

import sys

from genarch.analysis.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
