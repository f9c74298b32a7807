"""`python -m fraudft.cli ...` is the `fraudft` command."""

import sys

from fraudft.cli import main

sys.exit(main())
