"""A generator module that needs a package this machine does not have (for the tests)."""

import missing_lab_dependency  # noqa: F401
