"""The browser chat page while replies stream: reloads, a second tab, broken streams, and
the page's SSE reader, driven in Debian's Chromium through Playwright.

Each test gets its own app on a fresh SQLite database, served over HTTP, with the real
Gemini SDK talking to the local wire-format server. Screenshots of the main states go to
``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, LONG_REPLY, Page, expect

pytestmark = BROWSER_MARKS


def test_reload_during_a_stream_shows_the_stored_partial_reply(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(Reply(chunks=LONG_REPLY, chunk_delay=0.05))
    tab.login()
    tab.send("Write at length")
    expect(tab.streaming()).to_contain_text("word5 ")
    tab.page.reload()
    last = tab.messages().last
    expect(last.locator(".note")).to_have_text("Stopped: the reply ends here.")
    expect(last.locator(".body")).to_contain_text("word5")
    expect(tab.composer()).to_be_enabled()


def test_sse_reader_handles_split_frames_crlf_and_keepalives(tab: Page) -> None:
    tab.goto("/auth/login")
    events = tab.page.evaluate(
        """async (chunks) => {
            const { readEvents } = await import("/static/js/sse.js");
            const encoder = new TextEncoder();
            const body = new ReadableStream({
                start(controller) {
                    for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
                    controller.close();
                },
            });
            const events = [];
            for await (const event of readEvents(body)) events.push(event);
            return events;
        }""",
        [
            'data: {"type":"start","sessionId":"s1"}\r',
            '\n\r\n: keep-alive\n\ndata: {"type":"con',
            'tent","content":"a\\nb"}\n\ndata: {"type":"content",',
            '"content":"é"}\n\n: keep-alive\n\n',
            'data: {"type":"end","messageId":7}',
        ],
    )
    assert events == [
        {"type": "start", "sessionId": "s1"},
        {"type": "content", "content": "a\nb"},
        {"type": "content", "content": "é"},
        {"type": "end", "messageId": 7},
    ]


def test_second_tab_shows_a_reply_being_written_then_the_stored_reply(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(Reply(chunks=[f"part{n} " for n in range(40)], chunk_delay=0.05))
    tab.login()
    tab.send("Write something")
    expect(tab.streaming()).to_contain_text("part1 ")
    other = Page(tab.page.context.new_page(), live)
    other.goto(tab.page.url.removeprefix(live.url))
    expect(other.streaming()).to_contain_text("A reply is being written…")
    expect(other.messages().last).to_contain_text("part39", timeout=10_000)
    expect(other.streaming()).to_have_count(0)
    expect(tab.messages().last).to_contain_text("part39")
    assert other.dialogs == [] and other.errors == []


def test_broken_stream_keeps_the_partial_reply_and_offers_retry(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(
        Reply(chunks=["First half, ", "second half."], break_after=1), Reply(text="Whole")
    )
    tab.login()
    tab.send("Tell me")
    alert = tab.page.locator("#message-list").get_by_role("alert")
    expect(alert).to_contain_text("MODEL_UNAVAILABLE")
    cut = tab.messages().last
    expect(cut.locator(".body")).to_have_text("First half,")
    expect(cut.locator(".note")).to_contain_text("Cut off")
    alert.get_by_role("button", name="Retry").click()
    expect(tab.messages()).to_have_count(4)
    expect(tab.messages().last).to_contain_text("Whole")


def test_a_turn_abandoned_by_a_dead_worker_ends_the_wait_and_offers_retry(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    """A worker died mid-reply: the page waits for the reply, then shows the message as
    not answered (once the turn's lease lapses) and Retry sends it again."""
    tab.login()
    session_id = live.create_session("alice", "Dead worker", [("user", "Hi"), ("model", "Hello")])
    live.orphan_turn("alice", session_id, "Never answered", lease=4.0)
    page_wire.script(Reply(text="Answered now"))
    tab.goto(f"/chat/{session_id}")
    expect(tab.streaming()).to_contain_text("A reply is being written…")

    orphan = tab.messages().last
    expect(orphan.locator(".note")).to_contain_text("TURN_ABANDONED", timeout=10_000)
    expect(orphan.locator(".note")).to_contain_text("Not answered")
    expect(tab.streaming()).to_have_count(0)
    alert = tab.page.locator("#message-list").get_by_role("alert")
    alert.get_by_role("button", name="Retry").click()
    expect(tab.messages().last).to_contain_text("Answered now")
    assert [(m.content, m.status, m.error_code) for m in live.messages(session_id)[2:]] == [
        ("Never answered", "failed", "TURN_ABANDONED"),
        ("Never answered", "complete", None),
        ("Answered now", "complete", None),
    ]
