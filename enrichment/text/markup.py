"""Markdown to plain text blocks, parsed with markdown-it-py (the renderer's parser).

A note becomes a list of :class:`Block`: headings, paragraphs and list items, each as
plain text with its line breaks. Code blocks, raw HTML and images are dropped; a link
keeps its text and loses its address; bare URLs and e-mail addresses are removed.
"""

import functools
import re
from dataclasses import dataclass
from functools import cached_property

from markdown_it import MarkdownIt

URL_RE = re.compile(r"\b(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
CHECKBOX_RE = re.compile(r"^\[([ xX])\]\s+")
SENTENCE_RE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n")
CONTINUED_LINE_RE = re.compile(r"(?<![.!?:;])\n(?=[^\W\d_])")


def sentences(text: str) -> list[str]:
    """Sentences with their own punctuation.

    A line break ends a sentence unless the next line goes on in lowercase: a wrapped
    line ("Visit the tower\non Saturday.") is one sentence, a list of lines is not.
    """
    text = CONTINUED_LINE_RE.sub(_join_wrapped, text)
    return [s.strip() for s in SENTENCE_RE.split(text) if s and s.strip()]


def _join_wrapped(match: re.Match) -> str:
    following = match.string[match.end()]
    return " " if following.islower() else "\n"


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph" or "item"
    text: str
    checked: bool | None = None  # a task-list item: False open, True done

    @cached_property
    def sentences(self) -> list[str]:
        return sentences(self.text)


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True})


def strip_addresses(text: str) -> str:
    """Text without URLs and e-mail addresses, spaces tidied on each line."""
    text = EMAIL_RE.sub(" ", URL_RE.sub(" ", text))
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()


def _inline_text(token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        # link_open/close, emphasis and images add no text of their own.
    return strip_addresses("".join(parts))


def blocks(content: str) -> list[Block]:
    """The note's text blocks in reading order."""
    out: list[Block] = []
    in_item = 0
    kind = "paragraph"
    for token in _parser().parse(content):
        if token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "heading_open":
            kind = "heading"
        elif token.type == "inline":
            text = _inline_text(token)
            checked = None
            match = CHECKBOX_RE.match(text)
            if match:
                checked = match.group(1) != " "
                text = text[match.end() :]
            if text:
                block_kind = kind if kind == "heading" else ("item" if in_item else "paragraph")
                out.append(Block(block_kind, text, checked))
            kind = "paragraph"
    return out
