"""Template helpers of the people's pages."""

from django import template
from django.utils.html import format_html, format_html_join

from notes.status import STATUS_COLOURS, ProcessingStatus

register = template.Library()


@register.simple_tag(takes_context=True)
def status_styles(context):
    """CSS rules for the status colours (badges, the overview's cards), from the colours
    the admin uses too; carries the request's CSP nonce."""
    rules = ((s.value, c, s.value, c) for s, c in STATUS_COLOURS.items())
    return format_html(
        '<style nonce="{}">{}</style>',
        context.get("csp_nonce", ""),
        format_html_join(
            "", ".badge-{}{{background:{}}}.status-border-{}{{border-left-color:{}}}", rules
        ),
    )


@register.simple_tag
def status_badge(status: str):
    """A status badge: the colour is a cue, the word says it for everyone."""
    status = ProcessingStatus(status)
    return format_html(
        '<span class="badge badge-{}" data-status="{}">{}</span>',
        status.value,
        status.value,
        status.label,
    )
