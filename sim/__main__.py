"""`python -m sim` is the `infrasim` command."""
import sys

from sim.cli import main

sys.exit(main())
