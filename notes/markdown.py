"""Notes are Markdown: CommonMark with tables, task lists, fenced code and autolinks.

Rendering is two fences deep. markdown-it never passes raw HTML through (a ``<script>``
typed in a note is shown as text) and refuses ``javascript:``/``data:`` link targets;
nh3 then keeps only the tags and attributes a note's rendering can produce, links get
``rel="nofollow noopener noreferrer"``, and only http(s) and mailto targets survive.
Images are never loaded (no tracking pixels): each one becomes a link to its address.

Task-list checkboxes are numbered in document order (``value="0"``, ``"1"`` ...);
:func:`tasks` finds the same tasks in the source, so :func:`set_tasks` can tick them.
"""

import re
from dataclasses import dataclass
from functools import cache
from html import unescape

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote",
    "pre", "code", "em", "strong", "s", "a", "table", "thead", "tbody", "tr", "th", "td",
    "input",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "ul": {"class"},
    "li": {"class"},
    "code": {"class"},
    "input": {"type", "checked", "class", "name", "value"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"
# A task item's marker in the source: optional blockquote ">" prefixes and indentation,
# a bullet or ordered marker, then "[ ]" or "[x]".
TASK_MARKER = re.compile(r"^((?:[ \t]*>)*[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[)([ xX])(\])")


@dataclass(frozen=True)
class Task:
    line: int
    done: bool


def _image_as_link(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    href = escape(token.attrGet("src") or "")
    return f'<a href="{href}">{escape(alt)} (image)</a>'


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )
    md.use(tasklists_plugin)
    md.add_render_rule("image", _image_as_link)
    return md


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _number_checkboxes(tokens) -> None:
    """Give each task checkbox its position, ready for ticking (no longer disabled)."""
    number = 0
    for token in tokens:
        for child in token.children or ():
            if child.type == "html_inline" and "task-list-item-checkbox" in child.content:
                checked = ' checked="checked"' if 'checked="checked"' in child.content else ""
                child.content = (
                    f'<input class="task-list-item-checkbox" type="checkbox" name="done" '
                    f'value="{number}"{checked}>'
                )
                number += 1


def render(text: str) -> SafeString:
    """A note's content as safe HTML, task checkboxes numbered for ticking."""
    md = _parser()
    env: dict = {}
    tokens = md.parse(text or "", env)
    _number_checkboxes(tokens)
    return mark_safe(_clean(md.renderer.render(tokens, md.options, env)))  # noqa: S308 (sanitised)


def render_inline(text: str) -> SafeString:
    """One line of model output (summary, action item) as inline Markdown: emphasis,
    code and links, no blocks."""
    return mark_safe(_clean(_parser().renderInline(text or "")))  # noqa: S308 (sanitised)


def plain_text(text: str) -> str:
    """Markdown as words alone (for list cards and titles): no syntax, no tags.
    The result is text to be escaped by the template, not HTML."""
    html = _parser().render(text or "")
    text = nh3.clean(html, tags=set(), strip_comments=True)
    # nh3 escapes what it keeps; the template escapes again, so undo it once here.
    return " ".join(unescape(text).split())


def first_line(text: str, limit: int = 120) -> str:
    """The first line that says something, as plain text: what a card shows before the
    note is enriched."""
    for line in (text or "").splitlines():
        plain = plain_text(line)
        if plain:
            return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"
    return ""


def _lines(text: str) -> list[str]:
    # markdown-it counts lines by \n, \r\n and \r only (not \u2028 as str.splitlines does).
    return re.split(r"(?<=\r\n)|(?<=\n)|(?<=\r)(?!\n)", text)


def tasks(text: str) -> list[Task]:
    """The task-list items of ``text`` in document order, with their source lines."""
    found = []
    lines = _lines(text or "")
    for token in _parser().parse(text or ""):
        if token.type == "list_item_open" and "task-list-item" in str(token.attrGet("class")):
            match = TASK_MARKER.match(lines[token.map[0]])
            if match:
                found.append(Task(line=token.map[0], done=match.group(2) != " "))
    return found


def set_tasks(text: str, done: set[int]) -> str:
    """``text`` with exactly the tasks numbered in ``done`` ticked and the others not.
    Nothing but the marker characters changes (line endings included)."""
    lines = _lines(text)
    for number, task in enumerate(tasks(text)):
        if task.done != (number in done):
            mark = "x" if number in done else " "
            lines[task.line] = TASK_MARKER.sub(
                lambda m, mark=mark: m.group(1) + mark + m.group(3), lines[task.line], count=1
            )
    return "".join(lines)
