"""A module that takes seconds to import, like a modelling library (tests/fakes.py)."""

import time

from fakes import SLOW_IMPORT_SECONDS

time.sleep(SLOW_IMPORT_SECONDS)
