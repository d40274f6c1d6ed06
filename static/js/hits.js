// Message hits under the sidebar's filter: the caller's messages matching its words
// (GET /api/v1/chat/search), each with a snippet whose matched words are marked.
import { api, query } from "./api.js";
import { displayTitle, modified } from "./format.js";

const HITS = 20;

export class MessageHits {
  /** ``onOpen(sessionId, messageId)`` opens a conversation at a message. */
  constructor(onOpen) {
    this.section = document.getElementById("hits-section");
    this.list = document.getElementById("hits");
    this.status = document.getElementById("hits-status");
    this.generation = 0;
    this.list.addEventListener("click", (event) => {
      const link = event.target.closest("a.hit-link");
      if (!link || modified(event)) return;
      event.preventDefault();
      onOpen(link.dataset.sessionId, Number(link.dataset.messageId));
    });
  }

  /** Show the hits of ``text`` (none, and hidden, for an empty filter). */
  async show(text) {
    const generation = ++this.generation;
    this.list.replaceChildren();
    this.section.hidden = !text;
    if (!text) return;
    this.status.textContent = "Searching messages…";
    try {
      const found = await api(`/chat/search${query({ q: text, limit: HITS })}`);
      if (generation !== this.generation) return;
      this.list.append(...found.hits.map(hitItem));
      this.status.textContent = summary(found);
    } catch (error) {
      if (generation === this.generation) this.status.textContent = error.message;
    }
  }
}

function summary({ hits, total }) {
  if (!total) return "No message has all of these words.";
  if (total > hits.length) return `The best ${hits.length} of ${total} messages.`;
  return total === 1 ? "1 message." : `${total} messages.`;
}

function hitItem(hit) {
  const li = document.createElement("li");
  li.className = "hit";
  const link = document.createElement("a");
  link.className = "hit-link";
  link.href = `/chat/${encodeURIComponent(hit.sessionId)}#message-${hit.messageId}`;
  link.dataset.sessionId = hit.sessionId;
  link.dataset.messageId = hit.messageId;
  const title = document.createElement("span");
  title.className = "hit-title";
  title.textContent = `${displayTitle(hit.title)} · ${hit.role === "user" ? "You" : "Model"}`;
  const snippet = document.createElement("span");
  snippet.className = "hit-snippet";
  snippet.append(...markedText(hit.snippet));
  link.append(title, snippet);
  li.append(link);
  return li;
}

/** The snippet's text and <mark> elements only (the server escapes everything else). */
function markedText(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return [...template.content.childNodes].map((node) => {
    if (node.nodeName !== "MARK") return document.createTextNode(node.textContent);
    const mark = document.createElement("mark");
    mark.textContent = node.textContent;
    return mark;
  });
}
