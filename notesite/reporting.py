"""Error-report filtering: credentials inside URLs stay hidden."""

import re

from django.views.debug import SafeExceptionReporterFilter


class SettingsHidingFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding settings named *URL*.

    Django hides settings whose names contain KEY, SECRET, PASS, TOKEN..., but a
    ``rediss://:password@host`` URL is stored under REDIS_URL and the queues' URL key,
    which the default pattern does not match. Hiding every URL setting is the simple,
    safe rule: none of them is needed to read an error report.
    """

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + "|URL", flags=re.IGNORECASE
    )
