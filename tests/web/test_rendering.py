"""Message rendering: Markdown and highlighted code in, sanitised HTML out, whatever the text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from chatapp.rendering import highlight_css, render_markdown

# Real payloads: raw HTML, event handlers, script URLs (also disguised), Markdown links,
# images and autolinks, reference definitions, and HTML that breaks out of attributes.
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<svg/onload="alert(1)">',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '[x](https://example.com "title" onmouseover="alert(1)")',
    "![x](javascript:alert(1))",
    '![x](https://example.com/a.png" onerror="alert(1))',
    "<javascript:alert(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '"><script>alert(1)</script>',
    "<!-- --><script>alert(1)</script>",
    "```html\n<script>alert(1)</script>\n```",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]
SAFE_SCHEMES = {"", "http", "https", "mailto"}  # "": a relative link


class Elements(HTMLParser):
    """Collect every start tag and its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def link_scheme(href: str) -> str:
    """The scheme a browser sees: it drops tabs and newlines and leading spaces first."""
    cleaned = re.sub(r"[\t\n\r]", "", href).lstrip("\x00\x20")
    return urlsplit(cleaned).scheme.lower()


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_cannot_run_script_or_add_markup(payload: str) -> None:
    for tag, attrs in elements(render_markdown(payload)):
        assert tag not in {"script", "img", "iframe", "svg", "body", "div", "style", "object"}
        assert not any(name.startswith("on") or name == "style" for name in attrs), attrs
        href = attrs.get("href")
        if href is not None:
            assert link_scheme(href) in SAFE_SCHEMES, href


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown("<script>alert(1)</script> and <b>bold</b>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_markdown_links_and_code_render() -> None:
    html = render_markdown("**hi** [docs](https://example.com)\n\n```python\nprint('x')\n```")
    assert "<strong>hi</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<pre class="highlight"><code class="language-python">' in html
    assert '<span class="nb">print</span>' in html


def test_highlight_css_has_light_and_dark_styles() -> None:
    css = highlight_css()
    assert ".highlight" in css
    assert "@media (prefers-color-scheme: dark)" in css


def test_rendered_messages_are_memoised_within_a_bound() -> None:
    """A message renders the same from the memo; the memo drops the oldest past its bound."""
    from chatapp.rendering import _Rendered

    first = render_markdown("**memo** [1]", 1, "source-7")
    assert render_markdown("**memo** [1]", 1, "source-7") == first
    assert render_markdown("**memo** [1]", 1, "source-8") != first  # another anchor
    memo = _Rendered(max_chars=30)
    memo.put(("a" * 10, 0, "s"), "b" * 10)
    memo.put(("c" * 10, 0, "s"), "d" * 10)
    assert memo.get(("a" * 10, 0, "s")) is None
    assert memo.get(("c" * 10, 0, "s")) == "d" * 10
