"""Notes render as Markdown, and nothing a note or a model writes can run or load anything."""

import re
from html.parser import HTMLParser

import pytest

from notes.markdown import first_line, plain_text, render, render_inline, set_tasks, tasks

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '[x](https://a.example "t\\" onmouseover=\\"alert(1)")',
    "<a href='https://a.example' onclick='alert(1)'>x</a>",
    '<input type="checkbox" onclick="alert(1)" checked>',
    "- [ ] <script>alert(1)</script>",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "```html\n<script>alert(1)</script>\n```",
    "<form action=https://evil.example><button>go</button></form>",
    "[x](//evil.example/%0a%0djavascript:alert(1))",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


SAFE_TAGS = {
    "p", "a", "ul", "ol", "li", "input", "table", "thead", "tbody", "tr", "th", "td",
    "pre", "code", "em", "strong", "blockquote",
}  # fmt: skip


class Elements(HTMLParser):
    """The elements a browser would build from the HTML, with their attributes."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("source", HOSTILE)
def test_it_keeps_hostile_markdown_inert(source):
    for html in (str(render(source)), str(render_inline(source))):
        for tag, attrs in Elements(html).found:
            assert tag in SAFE_TAGS, html
            assert not any(name.startswith("on") or name == "style" for name in attrs), html
            href = attrs.get("href", "https:")
            assert re.match(r"(https?:|mailto:|/|#)", href.strip(), re.I), html


def test_it_renders_commonmark_with_tables_tasks_code_and_autolinks():
    html = str(
        render(
            "# Plan\n\n**bold** _it_ ~~gone~~\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
            "- [ ] write\n- [x] read\n\n```py\nx = 1 < 2\n```\n\n<https://a.example/x?y=1&z=2>"
        )
    )
    assert "<h1>Plan</h1>" in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<s>gone</s>" in html
    assert "<table>" in html and "<td>2</td>" in html and "style" not in html
    assert html.count('type="checkbox"') == 2 and 'value="1" checked' in html
    assert '<code class="language-py">x = 1 &lt; 2' in html
    assert '<a href="https://a.example/x?y=1&amp;z=2" rel="nofollow noopener noreferrer">' in html


def test_it_shows_remote_images_as_links_never_loads_them():
    html = str(render("![tracking pixel](https://t.example/p.gif)"))
    assert "<img" not in html
    assert '<a href="https://t.example/p.gif" rel="nofollow noopener noreferrer">' in html
    assert "tracking pixel (image)" in html


def test_every_link_gets_nofollow_noopener_noreferrer():
    html = str(render("[a](https://a.example) [b](mailto:b@example.com) [c](/notes/)"))
    assert html.count('rel="nofollow noopener noreferrer"') == 3


def test_it_renders_model_output_as_inline_markdown_only():
    html = str(render_inline("Call **Ana** about `deploy`\n\n# not a heading"))
    assert "<strong>Ana</strong>" in html and "<code>deploy</code>" in html
    assert "<h1>" not in html and "<p>" not in html


def test_it_gives_the_first_line_as_plain_text():
    assert first_line("\n\n## **Ship** the _release_ & <b>party</b>\nmore") == (
        "Ship the release & <b>party</b>"
    )
    assert first_line("- [ ] buy [milk](https://a.example)") == "buy milk"
    assert first_line("   \n") == ""
    assert len(first_line("word " * 100, limit=50)) == 50
    assert plain_text("> quoted `code`") == "quoted code"


def test_it_finds_and_ticks_tasks_without_touching_anything_else():
    source = (
        "Intro\r\n- [ ] one\r\n- [X] two\r\n\r\n> 1. [ ] quoted\n\n"
        "```\n- [ ] in code\n```\n  * [ ] nested\n"
    )
    found = tasks(source)
    assert [t.done for t in found] == [False, True, False, False]
    ticked = set_tasks(source, {0, 3})
    assert ticked == (
        "Intro\r\n- [x] one\r\n- [ ] two\r\n\r\n> 1. [ ] quoted\n\n"
        "```\n- [ ] in code\n```\n  * [x] nested\n"
    )
    assert set_tasks(ticked, {0, 3}) == ticked
    assert set_tasks(source, {0, 1, 2, 3, 99}).count("[ ]") == 1  # only the one in code
