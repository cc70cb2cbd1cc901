"""No crafted path or query string makes any page answer 5xx or log a traceback.

Every URL pattern of the project (the admin and the django-rq dashboard included) is
turned into a strategy by its own regular expression, so a path converter's whole range
is tried (ids of 5,000 digits, ids past PostgreSQL's bigint), with query strings built
from the parameters the views read and arbitrary text.
"""

import logging
from urllib.parse import quote, urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_note, make_user

pytestmark = pytest.mark.django_db


def url_regexes(patterns=None, prefix=""):
    """(regex, name) for every URL the project answers, nested includes flattened."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        regex = prefix + pattern.pattern.regex.pattern.removeprefix("^")
        if isinstance(pattern, URLResolver):
            yield from url_regexes(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern):
            yield regex, pattern.name or regex


URLS = {name: regex for regex, name in url_regexes()}
# Names the views read, and what crafted values of them look like.
PARAMETER_NAMES = ["page", "ids", "q", "status", "tag", "next", "o", "p", "e", "all"]
NUMBERISH = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet="0123456789", min_size=1, max_size=5000),
    st.sampled_from(["²", "١٢", "1e3", "0x10", " 1", "1,2,,3", "9223372036854775808"]),
)
VALUES = st.one_of(NUMBERISH, st.text(max_size=300), st.lists(NUMBERISH, max_size=5).map(",".join))
QUERIES = st.dictionaries(
    st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(min_size=1, max_size=10)),
    VALUES,
    max_size=4,
)


def path_for(regex):
    return st.from_regex("^" + regex, fullmatch=True).map(lambda p: "/" + quote(p, safe="/"))


@pytest.fixture
def log_records():
    """Every record any logger emits during the test, whatever its level."""
    records = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    root = logging.getLogger()
    root.addHandler(handler)
    yield records
    root.removeHandler(handler)


def check(client, log_records, method, path, query):
    client.raise_request_exception = False
    del log_records[:]
    if method == "get":
        response = client.get(path, query)
    else:
        response = client.post(path + "?" + urlencode(query), query)
    assert response.status_code < 500, (method, path, query, response.status_code)
    tracebacks = [r for r in log_records if r.exc_info or r.exc_text or r.levelno >= 40]
    assert not tracebacks, (method, path, query, [r.getMessage() for r in tracebacks])


def people():
    owner = make_user("owner")
    make_note(owner, title="mine")
    make_note(make_user("other"), title="theirs")
    return owner


def examples(name):
    # The admin's generic pages get fewer examples than the project's own ones.
    return settings(
        max_examples=5 if URLS[name].startswith("admin/") and name != "enrichment-overview" else 25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.mark.parametrize("name", sorted(URLS))
@pytest.mark.parametrize("who", ["anonymous", "person", "operator"])
def test_no_url_answers_5xx_to_crafted_input(client, log_records, fake_redis, name, who):
    if who == "person":
        client.force_login(people())
    elif who == "operator":
        client.force_login(make_user("root", staff=True))

    @examples(name)
    @given(method=st.sampled_from(["get", "post"]), path=path_for(URLS[name]), query=QUERIES)
    def run(method, path, query):
        check(client, log_records, method, path, query)

    run()
