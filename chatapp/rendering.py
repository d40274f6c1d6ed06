"""Message text to safe HTML: Markdown (markdown-it-py), highlighted code (Pygments),
then sanitised (nh3), so nothing in a message can run script in the page."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from chatapp import citations

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "code": {"class"},
    "span": {"class"},
    "pre": {"class"},
    "th": {"align"},
    "td": {"align"},
}
_FORMATTER = HtmlFormatter(nowrap=True)


def _highlight(code: str, language: str, _attrs: str) -> str:
    """Return Pygments HTML for a fenced block, or "" to let markdown-it escape it."""
    try:
        lexer = get_lexer_by_name(language.strip()) if language.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""
    body = highlight(code, lexer, _FORMATTER)
    return f'<pre class="highlight"><code class="language-{lexer.aliases[0]}">{body}</code></pre>\n'


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """The Markdown parser: CommonMark with tables and strikethrough, raw HTML escaped."""
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "highlight": _highlight})
        .enable("table")
        .enable("strikethrough")
    )


# Private-use characters bracket a citation number between Markdown and sanitising.
CITE_OPEN, CITE_CLOSE = "\ue000", "\ue001"
_CITE = re.compile(f"{CITE_OPEN}(\\d+){CITE_CLOSE}")


class _Rendered:
    """A per-process memo of rendered messages, least recently used first out, bounded by
    the characters it holds: a stored message never changes, and rendering is most of the
    cost of reading a page of a conversation (docs/benchmarks.md)."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int, str], str] = OrderedDict()

    def get(self, key: tuple[str, int, str]) -> str | None:
        """The HTML rendered for ``key`` before, if still held."""
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
            return html

    def put(self, key: tuple[str, int, str], html: str) -> None:
        """Hold ``html`` for ``key``, dropping the least recently used past the bound."""
        size = len(key[0]) + len(html)
        with self._lock:
            if key in self._entries or size > self._max_chars:
                return
            self._entries[key] = html
            self._chars += size
            while self._chars > self._max_chars:
                (text, _, _), old = self._entries.popitem(last=False)
                self._chars -= len(text) + len(old)


_RENDERED = _Rendered(8 * 1024 * 1024)


def render_markdown(text: str, sources: int = 0, anchor_prefix: str = "source") -> str:
    """Render message text to sanitised HTML (memoised: see :class:`_Rendered`).

    With ``sources``, each marker ``[n]`` (1 ≤ n ≤ sources, outside code) becomes a link
    to ``#{anchor_prefix}-{n}``; the links are added before sanitising, like all markup.
    """
    key = (text, sources, anchor_prefix)
    html = _RENDERED.get(key)
    if html is None:
        html = _render(text, sources, anchor_prefix)
        _RENDERED.put(key, html)
    return html


def _render(text: str, sources: int, anchor_prefix: str) -> str:
    """Render message text to sanitised HTML (see :func:`render_markdown`)."""
    text = text.replace(CITE_OPEN, "").replace(CITE_CLOSE, "")
    if sources:
        text = citations.link(text, sources, lambda n: f"{CITE_OPEN}{n}{CITE_CLOSE}")
    html = _markdown().render(text)
    if sources:
        html = _CITE.sub(
            lambda m: f'<a class="cite" href="#{anchor_prefix}-{m.group(1)}">[{m.group(1)}]</a>',
            html,
        )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def highlight_css(dark_style: str = "github-dark") -> str:
    """Return the CSS for highlighted code: the default style, ``dark_style`` in dark mode."""
    dark = HtmlFormatter(style=dark_style).get_style_defs(".highlight")
    return (
        f"{_FORMATTER.get_style_defs('.highlight')}\n"
        f"@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
    )
