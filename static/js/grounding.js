// Grounding in the chat page: the conversation's collections and web search (a small
// control above the composer), and a reply's sources panel. Everything from documents or
// the web is set as text; only http(s) URLs become links; Google's search suggestions are
// shown in a sandboxed frame, never inserted into the page.
import { api } from "./api.js";

/** The collections and web-search choice of the open conversation. */
export class GroundingPicker {
  constructor(onChange) {
    this.box = document.getElementById("grounding");
    this.list = document.getElementById("collection-list");
    this.status = document.getElementById("collection-status");
    this.web = document.getElementById("web-search");
    this.summary = document.getElementById("grounding-summary");
    this.onChange = onChange;
    this.chosen = new Set();
    this.loading = null;
    this.web.addEventListener("change", () => this.changed());
    // The list is read when the control is first opened, not on every page load.
    this.box.addEventListener("toggle", () => {
      if (this.box.open) this.load();
    });
  }

  /** Fill the list from GET /api/v1/collections (own and shared ones), once. */
  load() {
    this.loading ??= this.fetchList();
    return this.loading;
  }

  async fetchList() {
    let collections = [];
    try {
      ({ collections } = await api("/collections"));
    } catch {
      this.status.textContent = "Collections are unavailable.";
    }
    this.list.replaceChildren(...collections.map((c) => this.option(c)));
    if (!collections.length && !this.status.textContent) {
      this.status.textContent = "No collections yet.";
    }
    this.render();
  }

  option(collection) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = collection.id;
    box.checked = this.chosen.has(collection.id);
    box.addEventListener("change", () => this.changed());
    const name = document.createElement("span");
    name.textContent = collection.shared ? `${collection.name} (shared)` : collection.name;
    label.append(box, name);
    return label;
  }

  /** Show a conversation's choice (null: a new chat, nothing chosen). */
  show(session) {
    this.chosen = new Set(session?.collectionIds ?? []);
    this.web.checked = Boolean(session?.webSearch);
    this.render();
  }

  /** ``{collectionIds, webSearch}`` as the API takes them. */
  value() {
    return { collectionIds: [...this.chosen], webSearch: this.web.checked };
  }

  /** Whether anything is chosen (a new chat then sends it with its first message). */
  active() {
    return this.chosen.size > 0 || this.web.checked;
  }

  changed() {
    this.chosen = new Set(
      [...this.list.querySelectorAll("input:checked")].map((box) => box.value),
    );
    this.render();
    this.onChange(this.value());
  }

  render() {
    for (const box of this.list.querySelectorAll("input")) box.checked = this.chosen.has(box.value);
    const parts = [];
    if (this.chosen.size) parts.push(`${this.chosen.size} collection(s)`);
    if (this.web.checked) parts.push("web");
    this.summary.textContent = parts.length ? `: ${parts.join(" + ")}` : ": off";
  }
}

/** An absolute http(s) URL, or null: nothing else is ever a link. */
export function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** The sources panel of a stored reply (null when it has none). */
export function sourcesPanel(message) {
  const sources = message.sources || [];
  const suggestions = message.grounding?.searchEntryPoint;
  if (!sources.length && !suggestions) return null;
  const panel = document.createElement("section");
  panel.className = "sources";
  panel.setAttribute("aria-label", "Sources");
  if (sources.length) {
    const heading = document.createElement("p");
    heading.className = "sources-head";
    heading.textContent = retrievalNote(message.grounding);
    const list = document.createElement("ol");
    list.append(...sources.map((source) => sourceItem(message.id, source)));
    panel.append(heading, list);
  }
  if (suggestions) panel.append(searchSuggestions(suggestions));
  return panel;
}

function retrievalNote(grounding) {
  if (grounding?.retrievalError) {
    return `Sources (full-text only: vector search failed, ${grounding.retrievalError})`;
  }
  if (grounding?.retrieval === "fulltext") return "Sources (full-text search)";
  return "Sources";
}

function sourceItem(messageId, source) {
  const item = document.createElement("li");
  item.id = `source-${messageId}-${source.index}`;
  item.value = source.index;
  item.className = source.cited ? "cited" : "uncited";
  const url = safeUrl(source.url);
  const title = document.createElement(url ? "a" : "span");
  title.className = "source-title";
  title.textContent = source.title || url || "Untitled";
  if (url) {
    title.href = url;
    title.rel = "noopener noreferrer nofollow";
    title.target = "_blank";
  }
  const snippet = document.createElement("p");
  snippet.className = "snippet";
  snippet.textContent = source.snippet || "";
  const how = document.createElement("span");
  how.className = "muted source-how";
  how.textContent = ` ${source.retrieval}${source.cited ? "" : " · not cited"}`;
  item.append(title, how, snippet);
  return item;
}

/** Google's Search Suggestions HTML, isolated: a sandboxed frame with its own CSP. */
export function searchSuggestions(html) {
  const frame = document.createElement("iframe");
  frame.className = "search-suggestions";
  frame.title = "Google Search suggestions";
  frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
  frame.setAttribute("referrerpolicy", "no-referrer");
  const policy = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:";
  frame.srcdoc =
    `<!doctype html><meta http-equiv="Content-Security-Policy" content="${policy}">` +
    `<base target="_blank">${html}`;
  return frame;
}
