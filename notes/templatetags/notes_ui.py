"""Template helpers of the people's pages."""

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from notes import languages, markdown
from notes.status import ProcessingStatus

register = template.Library()


@register.simple_tag
def status_badge(note, *, swap: bool = False):
    """A note's status badge, on the pages and in the admin alike: the colour (static/css/
    badges.css, no inline style, which the Content-Security-Policy refuses) is a cue, the
    word says it for everyone. The id lets a live update find it; ``swap`` marks it for htmx
    to put in place of the badge with the same id."""
    status = ProcessingStatus(note.processing_status)
    return format_html(
        '<span id="note-badge-{}" class="badge badge-{}" data-status="{}"{}>{}</span>',
        note.pk,
        status.value,
        status.value,
        mark_safe(' hx-swap-oob="true"') if swap else "",
        status.label,
    )


@register.filter
def inline_markdown(text: str):
    """Model output (summary, action item) as sanitised inline Markdown."""
    return markdown.render_inline(text)


@register.filter
def language_name(code: str) -> str:
    return languages.language_name(code)


@register.filter
def highlight(text: str, words):
    """``text`` escaped, with each word of the search (and its longer forms) in <mark>."""
    text = str(text or "")
    if not words:
        return text
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(format_html("<mark>{}</mark>", match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 (every part is escaped)


@register.filter
def plain_first_line(text: str) -> str:
    return markdown.first_line(text, limit=200)


@register.filter
def plain(text: str) -> str:
    """Markdown as plain words (a card's summary)."""
    return markdown.plain_text(text)
