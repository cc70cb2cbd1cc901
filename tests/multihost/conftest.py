import pytest


def pytest_collection_modifyitems(config, items):
    """The multi-host measurement makes network namespaces and takes minutes: it runs only
    when asked for by marker (``-m multihost``)."""
    if "multihost" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="run with -m multihost")
    for item in items:
        if "multihost" in item.keywords:
            item.add_marker(skip)
