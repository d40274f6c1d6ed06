// The conversation pane: stored messages (server-rendered, sanitised HTML), older pages
// loaded on scrolling up, the reply streaming in as raw text, and inline turn errors.
import { api, query } from "./api.js";
import { showAttachments } from "./attachments.js";
import { sourcesPanel } from "./grounding.js";
import { whenVisible } from "./visible.js";

const PAGE_SIZE = 30;
const ERROR_TEXT = {
  MODEL_RATE_LIMITED: "The model is busy right now (rate limit).",
  MODEL_TIMEOUT: "The model took too long to answer.",
  MODEL_UNAVAILABLE: "The model was unavailable.",
  MODEL_AUTH: "The server's model credentials were refused.",
  PROMPT_BLOCKED: "The model declined to answer this message.",
  TURN_ABANDONED: "The server writing the reply stopped before it finished.",
  DATABASE_UNAVAILABLE: "The database was unavailable.",
};
// What another module adds (branches.js): to each stored message's item, and on each page
// of the conversation read from the server.
const extensions = { item() {}, page() {} };

/** Add ``item(element, message)`` and/or ``page(data)`` hooks to every conversation view. */
export function extendView(hooks) {
  Object.assign(extensions, hooks);
}

export class ConversationView {
  constructor() {
    this.list = document.getElementById("message-list");
    this.scroller = document.getElementById("messages");
    this.olderStatus = document.getElementById("older-status");
    this.empty = document.getElementById("empty-state");
    this.notFound = document.getElementById("not-found");
    this.sessionId = null;
    this.hasMore = false;
    this.generation = 0;
    this.kick = whenVisible(document.getElementById("older-sentinel"), this.scroller, () =>
      this.loadOlder(),
    );
  }

  /** Show a conversation (or the empty new-chat state for null), scrolled to the end or to
   * message ``messageId`` (highlighted); returns its data or null. */
  async open(id, messageId = null) {
    const generation = ++this.generation;
    this.sessionId = id;
    this.hasMore = false;
    this.list.replaceChildren();
    this.olderStatus.textContent = "";
    this.notFound.hidden = true;
    this.empty.hidden = id !== null;
    if (id === null) return null;
    let data;
    try {
      data = await fetchPage(id);
    } catch (error) {
      if (generation !== this.generation) return null;
      if (error.status === 404) this.notFound.hidden = false;
      else this.showError({ message: error.message, code: error.code });
      return null;
    }
    if (generation !== this.generation) return null;
    this.render(data);
    this.scrollToEnd();
    if (messageId) await this.reveal(messageId, this.generation);
    this.kick();
    return data;
  }

  /** Show ``data`` (the newest page of the open conversation) in place of what is shown;
   * loads of older pages still under way are dropped. */
  render(data) {
    this.generation += 1;
    this.list.replaceChildren(...data.messages.map(messageItem));
    this.hasMore = data.has_more;
    this.olderStatus.textContent = "";
    this.empty.hidden = data.messages.length > 0;
  }

  /** Load older pages until message ``id`` is shown; scroll to it and highlight it. */
  async reveal(id, generation) {
    const find = () => this.list.querySelector(`li.message[data-id="${Number(id)}"]`);
    while (!find() && this.hasMore && generation === this.generation) {
      if (!(await this.loadOlder()) && !find()) break;
    }
    const item = find();
    if (!item || generation !== this.generation) return;
    item.classList.add("highlighted");
    item.tabIndex = -1;
    item.scrollIntoView({ block: "center" });
    item.focus({ preventScroll: true });
  }

  /** Load the page of messages before the oldest one shown (one load at a time per
   * conversation: a second call shares the first's); returns whether more remain. */
  loadOlder() {
    if (this.olderLoad?.generation !== this.generation) {
      const load = { generation: this.generation };
      load.promise = this.fetchOlder().finally(() => {
        if (this.olderLoad === load) this.olderLoad = null;
      });
      this.olderLoad = load;
    }
    return this.olderLoad.promise;
  }

  async fetchOlder() {
    const oldest = this.list.querySelector("li.message[data-id]");
    if (!this.hasMore || !oldest) return false;
    const generation = this.generation;
    this.olderStatus.textContent = "Loading earlier messages…";
    try {
      const data = await fetchPage(this.sessionId, oldest.dataset.id);
      if (generation !== this.generation) return false;
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.list.prepend(...data.messages.map(messageItem));
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
      this.hasMore = data.has_more;
      this.olderStatus.textContent = data.has_more ? "" : "Start of the conversation";
      return data.has_more;
    } catch (error) {
      this.olderStatus.textContent = error.message;
      return false;
    }
  }

  /** Re-read the newest messages from the server, replacing what was shown provisionally. */
  async refresh() {
    const id = this.sessionId;
    const data = await fetchPage(id);
    if (id !== this.sessionId) return data;
    this.clearTransient();
    for (const message of data.messages) {
      const item = messageItem(message);
      const shown = this.list.querySelector(`li.message[data-id="${message.id}"]`);
      if (shown) shown.replaceWith(item);
      else this.list.append(item);
    }
    this.empty.hidden = this.list.children.length > 0;
    this.scrollToEnd();
    return data;
  }

  /** Remove the provisional items: the pending message, the streaming reply, old errors. */
  clearTransient() {
    for (const item of this.list.querySelectorAll(".transient")) item.remove();
  }

  /** Show the user's message as sent (raw text) until the server's copy replaces it. */
  appendPending(text) {
    this.empty.hidden = true;
    const item = bubble("user", "You");
    item.classList.add("transient", "pending");
    item.querySelector(".body").textContent = text;
    this.list.append(item);
    this.scrollToEnd();
    return item;
  }

  /** Add the reply being written; returns a function that appends a text delta to it. */
  appendStreaming(label = "Writing…") {
    const item = bubble("assistant", "Model");
    this.streamingItem = item;
    item.classList.add("transient", "streaming");
    item.setAttribute("aria-busy", "true");
    const body = item.querySelector(".body");
    body.textContent = label;
    body.classList.add("placeholder");
    this.list.append(item);
    this.scrollToEnd();
    return (delta) => {
      const pinned = this.nearEnd();
      if (body.classList.replace("placeholder", "raw")) body.textContent = "";
      body.textContent += delta; // raw text while streaming: never parsed as HTML
      if (pinned) this.scrollToEnd();
    };
  }

  /** Name the model writing the streaming reply (the stream's start event says which). */
  nameStreamingModel(model) {
    if (model && this.streamingItem) this.streamingItem.querySelector(".who").textContent = model;
  }

  /** Show a failed turn's error after the last message, with a Retry button. */
  showError({ message, code }, retry) {
    const item = document.createElement("li");
    item.className = "turn-error transient";
    item.setAttribute("role", "alert");
    const text = document.createElement("p");
    text.textContent = code ? `${message} (${code})` : message;
    item.append(text);
    if (retry) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "retry";
      button.textContent = "Retry";
      button.addEventListener("click", retry);
      item.append(button);
    }
    this.list.append(item);
    this.scrollToEnd();
  }

  /** The last stored message, if it is the user's and the model never answered it. */
  lastFailed() {
    const items = this.list.querySelectorAll("li.message[data-id]");
    const last = items[items.length - 1];
    return last && last.dataset.status === "failed" ? last : null;
  }

  nearEnd() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < 80;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}

async function fetchPage(id, before) {
  const path = `/chat/session/${encodeURIComponent(id)}${query({ before, limit: PAGE_SIZE })}`;
  const data = await api(path);
  extensions.page(data);
  return data;
}

function bubble(role, label) {
  const item = document.createElement("li");
  item.className = `message ${role}`;
  const who = document.createElement("p");
  who.className = "who";
  who.textContent = label;
  const body = document.createElement("div");
  body.className = "body";
  item.append(who, body);
  return item;
}

/** A stored message: its HTML was rendered and sanitised by the server (nh3). */
export function messageItem(message) {
  const user = message.role === "user";
  const item = bubble(user ? "user" : "assistant", user ? "You" : message.model || "Model");
  item.dataset.id = message.id;
  item.dataset.status = message.status;
  item.dataset.content = message.content;
  item.querySelector(".body").innerHTML = message.html;
  showAttachments(item, message.attachments, message.omittedAttachments);
  const sources = sourcesPanel(message);
  if (sources) item.append(sources);
  const note = statusNote(message);
  if (note) item.append(note);
  extensions.item(item, message);
  return item;
}

function statusNote(message) {
  let text = null;
  if (message.status === "interrupted") {
    text = message.error_code
      ? `Cut off: ${describeError(message.error_code)}`
      : "Stopped: the reply ends here.";
  }
  if (message.status === "failed") text = `Not answered: ${describeError(message.error_code)}`;
  if (!text) return null;
  const note = document.createElement("p");
  note.className = `note ${message.status}`;
  note.textContent = text;
  return note;
}

/** A sentence for an error code stored on a failed message. */
export function describeError(code) {
  return `${ERROR_TEXT[code] || "The model could not answer."} (${code || "UNKNOWN"})`;
}
