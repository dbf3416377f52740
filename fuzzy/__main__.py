"""Entry point for `python -m fuzzy`."""

import sys

from fuzzy.cli import main

sys.exit(main())
