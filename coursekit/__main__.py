"""`python -m coursekit`: the same command line as the `coursekit` console script."""

import sys

from coursekit.cli import main

sys.exit(main())
