"""Container healthcheck: `python -m notesite.healthcheck` exits 0 if the web app answers.

Slim images have no curl, so the probe is this standard-library script. It asks
/health/live on the local gunicorn with a Host header taken from ALLOWED_HOSTS: Django
rejects requests for hosts it does not serve, and a probe must look like a real request
without widening ALLOWED_HOSTS for everyone.
"""

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PATH = "/health/live"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not health: never follow it to some other server."""

    def redirect_request(self, *args, **kwargs):
        return None


# Straight to the local server: no HTTP(S)_PROXY from the container's environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def probe_host(allowed_hosts: str) -> str:
    """A host name Django will accept, derived from the ALLOWED_HOSTS value."""
    for item in allowed_hosts.split(","):
        host = item.strip()
        if not host:
            continue
        if host == "*":
            return "localhost"
        # ".example.com" allows example.com and its subdomains.
        return host.lstrip(".")
    return "localhost"


def main(argv: list[str] | None = None) -> int:
    """Probe the app; print why on failure and return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    port = os.environ.get("PORT", "8000")
    url = argv[0] if argv else f"http://127.0.0.1:{port}{DEFAULT_PATH}"
    request = urllib.request.Request(  # noqa: S310 - the URL is ours, http on loopback
        url, headers={"Host": probe_host(os.environ.get("ALLOWED_HOSTS", ""))}
    )
    try:
        with _opener.open(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
