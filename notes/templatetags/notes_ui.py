"""Template helpers of the people's pages."""

from django import template
from django.utils.html import format_html, format_html_join

from notes.status import STATUS_COLOURS, ProcessingStatus

register = template.Library()


@register.simple_tag
def status_styles():
    """CSS rules for the status badges, from the colours the admin uses too."""
    return format_html(
        "<style>{}</style>",
        format_html_join(
            "", ".badge-{}{{background:{}}}", ((s.value, c) for s, c in STATUS_COLOURS.items())
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
