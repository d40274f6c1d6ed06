// The sidebar: the user's conversations, newest first, loaded page by page as it scrolls;
// filter by title (with the messages matching the same words below), rename inline,
// archive and unarchive, delete after confirmation. The Archived button switches the list
// between open and archived conversations.
import { api, query } from "./api.js";
import { confirmAction } from "./dialog.js";
import { displayTitle, modified } from "./format.js";
import { MessageHits } from "./hits.js";
import { iconButton } from "./icons.js";
import { whenVisible } from "./visible.js";

const PAGE_SIZE = 30;
const FILTER_DELAY_MS = 250;

export class Sidebar {
  /** ``onOpen(id, messageId?)`` opens a conversation (at a message); ``onDeleted(id)``,
   * ``onRenamed(id, title)`` and ``onArchived(id, archived)`` report. */
  constructor({ onOpen, onDeleted, onRenamed, onArchived }) {
    this.list = document.getElementById("sessions");
    this.status = document.getElementById("sessions-status");
    this.filter = document.getElementById("filter");
    this.archivedToggle = document.getElementById("show-archived");
    this.callbacks = { onOpen, onDeleted, onRenamed, onArchived };
    this.hits = new MessageHits(onOpen);
    this.currentId = null;
    this.showArchived = false;
    this.resetPaging("");
    this.kick = whenVisible(
      document.getElementById("sessions-sentinel"),
      document.getElementById("sessions-scroll"),
      () => this.loadMore(),
    );
    let timer;
    this.filter.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.reload(), FILTER_DELAY_MS);
    });
    this.list.addEventListener("click", (event) => this.onClick(event));
    this.archivedToggle.addEventListener("click", () => {
      this.showArchived = !this.showArchived;
      this.archivedToggle.setAttribute("aria-pressed", String(this.showArchived));
      this.list.setAttribute("aria-label", this.showArchived ? "Archived" : "Conversations");
      this.reload();
    });
  }

  resetPaging(text) {
    this.query = text;
    this.offset = 0;
    this.total = null;
    this.loading = false;
    this.generation = (this.generation ?? 0) + 1;
  }

  /** Start the list again from the newest conversation (after the filter changed). */
  async reload() {
    this.resetPaging(this.filter.value.trim());
    this.list.replaceChildren();
    this.hits.show(this.query);
    await this.kick();
  }

  /** Load the next page; returns whether more pages remain. */
  async loadMore() {
    const done = this.total !== null && this.offset >= this.total;
    if (this.loading || done) return false;
    this.loading = true;
    const generation = this.generation;
    this.status.textContent = "Loading…";
    try {
      const archived = this.showArchived ? "true" : undefined;
      const params = query({ limit: PAGE_SIZE, offset: this.offset, q: this.query, archived });
      const page = await api(`/chat/sessions${params}`);
      if (generation !== this.generation) return false;
      for (const session of page.sessions) {
        if (!this.find(session.id)) this.list.append(this.item(session));
      }
      this.offset += page.sessions.length;
      this.total = page.total;
      this.showStatus();
      return page.sessions.length > 0 && this.offset < this.total;
    } catch (error) {
      this.status.textContent = error.message;
      return false;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  showStatus() {
    if (this.list.children.length) this.status.textContent = "";
    else if (this.query) this.status.textContent = "No conversation has that in its title.";
    else if (this.showArchived) this.status.textContent = "No archived conversations.";
    else this.status.textContent = "No conversations yet.";
  }

  find(id) {
    return this.list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  }

  item(session) {
    const li = document.createElement("li");
    li.className = "session";
    li.dataset.id = session.id;
    const link = document.createElement("a");
    link.className = "session-link";
    link.href = `/chat/${encodeURIComponent(session.id)}`;
    li.append(
      link,
      iconButton("pencil", "Rename", "rename"),
      this.showArchived
        ? iconButton("unarchive", "Unarchive", "archive")
        : iconButton("archive", "Archive", "archive"),
      iconButton("trash", "Delete", "delete"),
    );
    this.fill(li, session.title);
    if (session.id === this.currentId) link.setAttribute("aria-current", "page");
    return li;
  }

  fill(li, title) {
    const shown = displayTitle(title);
    li.dataset.title = title ?? "";
    li.querySelector(".session-link").textContent = shown;
    li.querySelector(".rename").setAttribute("aria-label", `Rename “${shown}”`);
    const archive = this.showArchived ? "Unarchive" : "Archive";
    li.querySelector(".archive").setAttribute("aria-label", `${archive} “${shown}”`);
    li.querySelector(".delete").setAttribute("aria-label", `Delete “${shown}”`);
  }

  /** Mark the open conversation. */
  setCurrent(id) {
    this.currentId = id;
    for (const link of this.list.querySelectorAll(".session-link")) {
      const current = link.parentElement.dataset.id === id;
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  /** Put a conversation first (it just got a message), adding it if it is not listed. */
  moveToTop(session) {
    let li = this.find(session.id);
    if (!li) {
      if (this.query || this.showArchived) return; // it may not match the filter
      li = this.item(session);
      this.offset += 1;
      this.total = (this.total ?? 0) + 1;
    } else if ("title" in session) {
      this.fill(li, session.title);
    }
    this.list.prepend(li);
    this.showStatus();
  }

  setTitle(id, title) {
    const li = this.find(id);
    if (li) this.fill(li, title);
  }

  remove(id) {
    const li = this.find(id);
    if (!li) return;
    li.remove();
    this.offset = Math.max(0, this.offset - 1);
    this.total = Math.max(0, (this.total ?? 1) - 1);
    this.showStatus();
  }

  onClick(event) {
    const li = event.target.closest("li.session");
    if (!li) return;
    if (event.target.closest(".rename")) this.startRename(li);
    else if (event.target.closest(".archive")) this.setArchived(li.dataset.id, !this.showArchived);
    else if (event.target.closest(".delete")) this.confirmDelete(li);
    else if (event.target.closest(".session-link") && !modified(event)) {
      event.preventDefault();
      this.callbacks.onOpen(li.dataset.id);
    }
  }

  startRename(li) {
    const form = document.createElement("form");
    form.className = "rename-form";
    const input = document.createElement("input");
    input.type = "text";
    input.maxLength = 200;
    input.value = li.dataset.title;
    input.setAttribute("aria-label", "New title (Enter saves, Escape cancels)");
    form.append(input);
    li.classList.add("editing");
    li.prepend(form);
    input.focus();
    input.select();
    let saving = false;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true; // removing the form blurs the input, which would finish again
      form.remove();
      li.classList.remove("editing");
      li.querySelector(".rename").focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        finish();
      }
    });
    input.addEventListener("blur", () => {
      if (!saving) finish();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      if (!title || title === li.dataset.title) return finish();
      saving = true;
      try {
        const renamed = await this.rename(li.dataset.id, title);
        this.fill(li, renamed.title);
        finish();
      } catch (error) {
        saving = false;
        input.setAttribute("aria-invalid", "true");
        this.status.textContent = error.message;
        input.focus();
      }
    });
  }

  async rename(id, title) {
    const body = { title };
    const renamed = await api(`/chat/session/${encodeURIComponent(id)}/title`, {
      method: "PATCH",
      body,
    });
    this.callbacks.onRenamed(id, renamed.title);
    return renamed;
  }

  /** Archive (or unarchive) a conversation; it leaves the list shown. */
  async setArchived(id, archived) {
    try {
      const path = `/chat/session/${encodeURIComponent(id)}`;
      await api(path, { method: "PATCH", body: { archived } });
    } catch (error) {
      this.status.textContent = error.message;
      return;
    }
    this.remove(id);
    this.archivedToggle.focus(); // the focused entry is gone
    this.callbacks.onArchived(id, archived);
  }

  async confirmDelete(li) {
    const title = displayTitle(li.dataset.title);
    const confirmed = await confirmAction({
      title: "Delete this conversation?",
      message: `“${title}” and all its messages will be deleted. This cannot be undone.`,
    });
    if (!confirmed) return li.querySelector(".delete").focus();
    const id = li.dataset.id;
    try {
      await api(`/chat/session/${encodeURIComponent(id)}`, { method: "DELETE" });
    } catch (error) {
      if (error.status !== 404) {
        this.status.textContent = error.message;
        return;
      }
    }
    this.remove(id);
    this.callbacks.onDeleted(id);
  }
}
