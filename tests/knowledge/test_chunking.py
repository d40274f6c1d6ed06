"""Chunking: paragraph-aware pieces with offsets, overlap, merged tails and PDF pages."""

from __future__ import annotations

import itertools

from chatapp.services.knowledge.chunking import chunk_text, page_of

PARAGRAPHS = [f"Paragraph {n} says " + " ".join(f"w{n}.{i}" for i in range(20)) for n in range(8)]
TEXT = "\n\n".join(PARAGRAPHS)


def test_offsets_point_at_the_chunk_text():
    """Every chunk's text is exactly the document's text between its offsets."""
    pieces = chunk_text(TEXT, 300, 60)
    assert len(pieces) > 2
    for piece in pieces:
        assert TEXT[piece.start : piece.end] == piece.text
        assert piece.page is None
    assert pieces[0].start == 0 and pieces[-1].end == len(TEXT)


def test_chunks_follow_paragraphs_and_overlap():
    """Chunks end at paragraph ends and each starts inside the previous one."""
    pieces = chunk_text(TEXT, 300, 60)
    ends = {TEXT.index(p) + len(p) for p in PARAGRAPHS}
    for before, after in itertools.pairwise(pieces):
        assert before.end in ends
        assert before.start < after.start < before.end  # overlap
        assert before.end - after.start <= 60
        assert not after.text[0].isspace()
    assert all(len(p.text) <= 300 + 60 for p in pieces)


def test_every_word_is_in_some_chunk():
    """Nothing is lost between chunks."""
    pieces = chunk_text(TEXT, 250, 40)
    covered = set()
    for piece in pieces:
        covered.update(range(piece.start, piece.end))
    gaps = [i for i in range(len(TEXT)) if i not in covered and not TEXT[i].isspace()]
    assert gaps == []


def test_long_paragraph_is_cut_at_sentences_or_words():
    """A paragraph longer than a chunk is cut at a sentence end, never inside a word."""
    long = " ".join(f"Sentence number {n} ends here." for n in range(60))
    pieces = chunk_text(long, 200, 0)
    assert len(pieces) > 5
    for piece in pieces[:-1]:
        assert piece.text.endswith("."), piece.text
        assert len(piece.text) <= 200


def test_tiny_tail_is_merged():
    """A last piece much smaller than a chunk joins the one before it."""
    text = "A" * 90 + "\n\n" + "B" * 90 + "\n\ntail"
    pieces = chunk_text(text, 100, 0)
    assert [p.text[-4:] for p in pieces] == ["A" * 4, "tail"]
    assert pieces[-1].start == 92


def test_short_text_is_one_chunk():
    """A short document is a single chunk covering all of it."""
    (piece,) = chunk_text("Just a line.", 1200, 200)
    assert (piece.start, piece.end, piece.text) == (0, 12, "Just a line.")


def test_pages_come_from_page_offsets():
    """Each chunk gets the page where it starts."""
    pages_text = ["Page one words. " * 10, "Page two words. " * 10, "Page three. " * 10]
    text = "\n\n".join(t.strip() for t in pages_text)
    starts = [0]
    for t in pages_text[:-1]:
        starts.append(starts[-1] + len(t.strip()) + 2)
    pieces = chunk_text(text, 120, 0, starts)
    assert [p.page for p in pieces] == sorted(p.page for p in pieces)
    assert {p.page for p in pieces} == {1, 2, 3}
    for piece in pieces:
        assert page_of(piece.start, starts) == piece.page
    assert page_of(0, None) is None
