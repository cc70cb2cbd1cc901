# The browser fixtures of the end-to-end tests, for the CSP test here.
from tests.e2e.conftest import (  # noqa: F401
    browser,
    new_page,
    page,
    pytest_runtest_makereport,
)
