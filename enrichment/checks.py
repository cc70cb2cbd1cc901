"""System checks. ``manage.py rqworker`` runs them at start-up, so a worker with a
misconfigured LLM backend stops at once with a clear message instead of failing notes."""

from django.core.checks import Error, register


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
