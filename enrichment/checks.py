"""System checks. ``manage.py rqworker`` runs them at start-up, so a worker with a
misconfigured LLM backend stops at once with a clear message instead of failing notes."""

from django.core.checks import Error, Warning, register


@register()
def openai_backend_configured(app_configs, **kwargs):
    """enrichment.E001: the openai backend needs OPENAI_API_KEY and OPENAI_MODEL."""
    from .enrichers.openai import configuration_problems

    return [
        Error(
            problem,
            hint="Set it in the environment or .env (see .env.example), or use "
            "ENRICHMENT_BACKEND=local.",
            id="enrichment.E001",
        )
        for problem in configuration_problems()
    ]


@register()
def job_timeout_fits_provider_timeout(app_configs, **kwargs):
    """enrichment.W001: a job must outlive at least a request and its repair request."""
    from django.conf import settings

    if settings.ENRICHMENT_BACKEND != "openai":
        return []
    needed = 2 * settings.ENRICHMENT_TIMEOUT
    job_timeout = settings.QUEUE_JOB_TIMEOUT
    if job_timeout >= needed:
        return []
    return [
        Warning(
            f"QUEUE_JOB_TIMEOUT ({settings.QUEUE_JOB_TIMEOUT} s) is shorter than two provider "
            f"requests of ENRICHMENT_TIMEOUT ({settings.ENRICHMENT_TIMEOUT:g} s): a slow "
            "answer plus its repair request would be cut off and the note marked error.",
            hint=f"Set QUEUE_JOB_TIMEOUT to at least {needed:g}, more for long notes "
            "(each part is one request).",
            id="enrichment.W001",
        )
    ]
