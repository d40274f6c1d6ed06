"""Citation markers: read outside code only, dead ones removed, web ones inserted."""

from __future__ import annotations

from chatapp import citations
from chatapp.rendering import render_markdown


def test_clean_removes_only_markers_without_a_source() -> None:
    """[n] with 1 <= n <= count stays; others go, with the space before them."""
    text, removed = citations.clean("A [1]. B [2][3]. C [0] and [12].", 2)
    assert (text, removed) == ("A [1]. B [2]. C and.", 3)


def test_code_and_links_are_not_markers() -> None:
    """``items[1]`` in code and ``[1](url)`` links are left alone."""
    text = "See `items[9]`.\n\n```py\nx = a[7]\n```\nand [1](https://x.org) [2]"
    assert citations.clean(text, 1) == (text.replace(" [2]", ""), 1)
    assert citations.cited(text) == {2}


def test_web_markers_go_at_byte_offsets() -> None:
    """Gemini's segment ends are UTF-8 byte offsets; markers land after the segment."""
    text = "Café au lait. Tea."
    end = len("Café au lait.".encode())
    assert citations.insert_at(text, [(end, [0, 1]), (999, [0])], 2) == (
        "Café au lait.[3][4] Tea.[3]"
    )


def test_rendered_citations_are_the_only_links_added() -> None:
    """Valid markers become anchors to the sources panel; markup in the text stays text."""
    html = render_markdown("<img src=x onerror=alert(1)> [1] [2] \ue0005\ue001", 1, "source-9")
    assert '<a class="cite" href="#source-9-1"' in html
    assert "<img" not in html and "[2]" in html and "source-9-5" not in html
