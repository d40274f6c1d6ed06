// Branches on the chat page (issue 17): Regenerate on each reply, Edit (an inline editor) on
// each of your messages, `< 2/3 >` arrows between the versions of a message, and the marker
// where the messages the model sees as a summary end. The replies stream through chat.js.
import { api } from "./api.js";
import { extendView } from "./conversation.js";

/** The buttons and editor of each stored message, and the summary marker, of one view. */
export class Branches {
  /**
   * ``view``: the ConversationView. ``stream(request, { pending, retry })`` streams a reply
   * with the page's send code (``request``: ``{ path, body }`` of a streaming endpoint;
   * ``pending``: the user's text to show until it is stored, or null). ``switched(data)``
   * is told the conversation a switch answered. ``failed(error)`` shows an error.
   */
  constructor(view, { stream, switched, failed }) {
    this.view = view;
    this.list = view.list;
    this.callbacks = { stream, switched, failed };
    this.busy = false;
    this.summary = null;
    extendView({
      item: (item, message) => this.decorate(item, message),
      page: (data) => this.showSummary(data),
    });
    // Pages of older messages, refreshes, re-renders and streaming replies all change the
    // list: keep the marker before the first message the summary does not cover, and the
    // buttons off while a reply is shown being written.
    const changed = () => {
      this.placeMarker();
      this.applyBusy();
    };
    new MutationObserver(changed).observe(this.list, { childList: true });
  }

  /** This page's turn started (true) or ended (false). */
  setBusy(busy) {
    this.busy = busy;
    this.applyBusy();
  }

  /** Whether a reply is being written: this page's turn, or another tab's (shown by the
   * page while it waits for it). The server would refuse a branch meanwhile (409). */
  writing() {
    return this.busy || this.list.querySelector("li.streaming") !== null;
  }

  /** Disable every branch button while a reply is being written. */
  applyBusy() {
    const writing = this.writing();
    for (const button of this.list.querySelectorAll(".branch-actions button")) {
      button.disabled = writing || button.dataset.end === "true";
    }
  }

  /** An archived conversation is read-only: its messages show no branch buttons. */
  setArchived(archived) {
    this.list.classList.toggle("read-only", archived);
  }

  /** Add the buttons that fit ``message`` to its item. */
  decorate(item, message) {
    if (message.parentId !== undefined) item.dataset.parentId = message.parentId ?? "";
    const actions = document.createElement("div");
    actions.className = "branch-actions";
    if (message.siblingCount > 1) actions.append(this.siblingArrows(message));
    if (message.role === "user") {
      const edit = this.button("Edit", "Edit this message", () => this.edit(item, message));
      edit.classList.add("edit");
      actions.append(edit);
    } else {
      const regenerate = () => this.regenerate(message);
      actions.append(this.button("Regenerate", "Regenerate this reply", regenerate));
    }
    item.append(actions);
  }

  /** ``< 2/3 >``: the previous and next versions of a message, and which one this is. */
  siblingArrows(message) {
    const index = message.siblingIndex;
    const count = message.siblingCount;
    const group = document.createElement("span");
    group.className = "siblings";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", `Version ${index + 1} of ${count}`);
    const toPrevious = () => this.switchTo(message, -1);
    const previous = this.button("<", "Previous version", toPrevious, index === 0);
    previous.classList.add("previous");
    const position = document.createElement("span");
    position.className = "sibling-position";
    position.textContent = `${index + 1}/${count}`;
    const toNext = () => this.switchTo(message, 1);
    const next = this.button(">", "Next version", toNext, index === count - 1);
    next.classList.add("next");
    group.append(previous, position, next);
    return group;
  }

  /** A text button named ``label`` for screen readers; ``end``: an arrow with nowhere to go. */
  button(text, label, onClick, end = false) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.setAttribute("aria-label", label);
    button.title = label;
    button.dataset.end = String(end);
    button.disabled = this.writing() || end;
    button.addEventListener("click", onClick);
    return button;
  }

  /** Stream a new version of the reply ``message``: it and what follows leave the view. */
  regenerate(message) {
    if (this.writing()) return;
    const shown = this.list.querySelector(`li.message[data-id="${Number(message.id)}"]`);
    if (shown) removeFrom(shown);
    const request = { path: this.path("regenerate/stream"), body: { messageId: message.id } };
    this.callbacks.stream(request, { pending: null, retry: () => this.regenerate(message) });
  }

  /** Open the inline editor on one of your messages: Save & send streams a new reply. */
  edit(item, message) {
    if (this.writing() || item.querySelector(".editor")) return;
    const form = editorForm(message.content);
    const shown = [...item.children].filter((child) => !child.classList.contains("who"));
    for (const child of shown) child.hidden = true;
    item.append(form);
    const textarea = form.querySelector("textarea");
    textarea.focus();
    const cancel = () => {
      form.remove();
      for (const child of shown) child.hidden = false;
      item.querySelector(".branch-actions .edit").focus();
    };
    form.querySelector(".cancel").addEventListener("click", cancel);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel();
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = textarea.value;
      if ((!text.trim() && !message.attachments?.length) || this.writing()) return;
      const body = { messageId: message.id, message: text };
      removeFrom(item);
      this.callbacks.stream({ path: this.path("edit/stream"), body }, { pending: text });
    });
  }

  /** Make the previous (-1) or next (+1) version of ``message`` active and show its path. */
  async switchTo(message, step) {
    const target = message.siblingIds?.[message.siblingIndex + step];
    if (this.writing() || target === undefined) return;
    let data;
    try {
      data = await api(this.path("switch"), { method: "POST", body: { messageId: target } });
    } catch (error) {
      this.callbacks.failed({ message: error.message, code: error.code });
      return;
    }
    if (data.id !== this.view.sessionId) return;
    this.showSummary(data);
    this.view.render(data);
    this.callbacks.switched(data);
    const item = this.list.querySelector(`li.message[data-id="${Number(target)}"]`);
    if (!item) return this.view.scrollToEnd();
    item.scrollIntoView({ block: "nearest" });
    const arrow = item.querySelector(step < 0 ? ".siblings .previous" : ".siblings .next");
    const other = item.querySelector(step < 0 ? ".siblings .next" : ".siblings .previous");
    (arrow?.disabled ? other : arrow)?.focus();
  }

  path(action) {
    return `/chat/session/${encodeURIComponent(this.view.sessionId)}/${action}`;
  }

  /** Remember the summary of a page of the open conversation (null: none). */
  showSummary(data) {
    if (data.id !== this.view.sessionId) return;
    this.summary = data.summary ?? null;
    this.placeMarker();
  }

  /** Put the summary marker before the first message after the summarised ones (or none). */
  placeMarker() {
    const through = this.summary?.throughMessageId;
    const after = through
      ? this.list.querySelector(`li.message[data-parent-id="${Number(through)}"]`)
      : null;
    let marker = this.list.querySelector(".summary-marker");
    if (!after) return marker?.remove();
    if (!marker) marker = summaryMarker();
    marker.querySelector(".summary-text").textContent = this.summary.content;
    if (after.previousElementSibling !== marker) after.before(marker);
  }
}

/** Remove ``item`` and everything after it from the view (they are on another branch now). */
function removeFrom(item) {
  while (item.nextElementSibling) item.nextElementSibling.remove();
  item.remove();
}

function editorForm(text) {
  const form = document.createElement("form");
  form.className = "editor";
  const label = document.createElement("label");
  label.className = "visually-hidden";
  label.textContent = "Edit your message";
  const textarea = document.createElement("textarea");
  textarea.rows = 3;
  textarea.value = text;
  textarea.maxLength = document.getElementById("message").maxLength;
  const id = `editor-${Math.random().toString(36).slice(2)}`;
  textarea.id = id;
  label.htmlFor = id;
  const actions = document.createElement("div");
  actions.className = "editor-actions";
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "primary";
  save.textContent = "Save & send";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "cancel";
  cancel.textContent = "Cancel";
  actions.append(save, cancel);
  form.append(label, textarea, actions);
  return form;
}

/** The marker: "Earlier messages summarised", expanding to the summary as plain text. */
function summaryMarker() {
  const marker = document.createElement("li");
  marker.className = "summary-marker";
  const details = document.createElement("details");
  const title = document.createElement("summary");
  title.textContent = "Earlier messages summarised";
  const text = document.createElement("p");
  text.className = "summary-text";
  details.append(title, text);
  marker.append(details);
  return marker;
}
