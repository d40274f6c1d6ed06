// The chat page: routing (/ and /chat/<id>), the composer, streaming replies, Stop, Retry,
// the personality of a new chat, and archived conversations (read-only until unarchived).
import { api, stream } from "./api.js";
import { AttachmentTray, copyFiles, showAttachments } from "./attachments.js";
import { Branches } from "./branches.js";
import { ConversationView } from "./conversation.js";
import { displayTitle } from "./format.js";
import { GroundingPicker } from "./grounding.js";
import { PersonalityPicker } from "./personalities.js";
import { Sidebar } from "./sidebar.js";
import { setUpImport, showExportLinks } from "./transfer.js";

const POLL_MS = 1000;
const root = document.getElementById("chat");
const composer = document.getElementById("composer");
const textarea = document.getElementById("message");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const heading = document.getElementById("chat-title");
const toggle = document.getElementById("toggle-sidebar");
const sidebarElement = document.getElementById("sidebar");
const archivedBanner = document.getElementById("archived-banner");

const view = new ConversationView();
const tray = new AttachmentTray({
  tray: document.getElementById("attachment-tray"),
  input: document.getElementById("attach-file"),
  button: document.getElementById("attach"),
  dropTargets: [composer, document.getElementById("messages")],
  textarea,
  onError: (error) => view.showError(error),
});
const picker = new PersonalityPicker();
const grounding = new GroundingPicker((choice) => saveGrounding(choice));
const branches = new Branches(view, {
  stream: streamBranch,
  switched: (data) => showSessionTitle(data.id, data.title),
  failed: (error) => view.showError(error),
});
const sidebar = new Sidebar({
  onOpen: (id, messageId) => navigate(id, { messageId }),
  onDeleted: (id) => {
    if (id === state.sessionId) navigate(null, { replace: true });
    document.getElementById("new-chat").focus(); // the focused entry is gone
  },
  onRenamed: (id, title) => {
    if (id === state.sessionId) showTitle(title);
  },
  onArchived: (id, archived) => {
    if (id === state.sessionId) showArchived(archived);
  },
});
// sessionId: the open conversation; turn: the reply being streamed, if any; archived: the
// open conversation is archived (read-only); waiting: a send waits for its uploads.
const state = {
  sessionId: root.dataset.sessionId || null,
  turn: null,
  poll: 0,
  archived: false,
  waiting: false,
};

function pathFor(id) {
  return id ? `/chat/${encodeURIComponent(id)}` : "/";
}

/** The message a ``#message-<id>`` fragment points at, or null. */
function messageFromHash(hash) {
  const match = /^#message-(\d+)$/.exec(hash);
  return match ? Number(match[1]) : null;
}

function idFromPath(path) {
  const match = /^\/chat\/([^/]+)$/.exec(path);
  return match ? decodeURIComponent(match[1]) : null;
}

function showTitle(title) {
  heading.textContent = displayTitle(title);
  document.title = `${displayTitle(title)} · chatapp`;
}

/** Open a conversation (null: a new chat), at ``messageId`` when given, and record it in
 * the browser history. */
function navigate(id, { replace = false, messageId = null } = {}) {
  const method = replace ? "replaceState" : "pushState";
  const url = pathFor(id) + (messageId ? `#message-${messageId}` : "");
  if (window.location.pathname + window.location.hash !== url) history[method]({ id }, "", url);
  openConversation(id, messageId);
}

async function openConversation(id, messageId = null) {
  state.sessionId = id;
  state.poll += 1;
  sidebar.setCurrent(id);
  showExportLinks(id);
  picker.show(id === null && !state.turn);
  setSidebarOpen(false);
  showTitle(null);
  grounding.show(null);
  showArchived(false);
  const data = await view.open(id, messageId);
  if (id !== state.sessionId) return;
  if (data) showTitle(data.title);
  if (data) showArchived(data.archived);
  if (data) grounding.show(data);
  if (id && !data) heading.textContent = "Conversation not found";
  if (data?.generating && state.turn?.sessionId !== id) watchGeneration(id);
  else offerRetry();
}

/** A conversation whose last message failed offers to send it again. */
function offerRetry() {
  const failed = view.lastFailed();
  if (failed) {
    view.showError({ message: "This message was not answered." }, () =>
      resend(failed.dataset.content, failed.attachments),
    );
  }
}

/** Another tab (or a reload) left a reply being written: show it when it is stored. */
async function watchGeneration(id) {
  const poll = state.poll;
  view.appendStreaming("A reply is being written…");
  while (poll === state.poll) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (poll !== state.poll) return;
    let data;
    try {
      data = await view.refresh();
    } catch {
      return;
    }
    if (poll !== state.poll) return;
    showSessionTitle(id, data.title);
    if (!data.generating) return offerRetry();
    view.appendStreaming("A reply is being written…");
  }
}

function showSessionTitle(id, title) {
  showTitle(title);
  sidebar.setTitle(id, title);
}

/** An archived conversation is read-only: the composer is off until it is unarchived. */
function showArchived(archived) {
  state.archived = archived;
  archivedBanner.hidden = !archived;
  branches.setArchived(archived);
  if (state.turn) return; // setBusy(false) applies it when the turn ends
  textarea.disabled = archived;
  sendButton.disabled = archived;
  tray.setDisabled(archived);
}

async function unarchive() {
  const id = state.sessionId;
  try {
    const path = `/chat/session/${encodeURIComponent(id)}`;
    await api(path, { method: "PATCH", body: { archived: false } });
  } catch (error) {
    view.showError({ message: error.message, code: error.code });
    return;
  }
  if (id !== state.sessionId) return;
  showArchived(false);
  sidebar.reload();
}

function setBusy(busy) {
  textarea.disabled = busy || state.archived;
  sendButton.disabled = busy || state.archived;
  tray.setDisabled(busy || state.archived);
  stopButton.hidden = !busy;
  stopButton.disabled = true; // enabled once the server names the conversation
  branches.setBusy(busy);
  picker.show(!busy && state.sessionId === null);
  composer.setAttribute("aria-busy", String(busy));
  if (!busy) textarea.focus();
}

/** Send one message (and its stored ``files``) and stream the reply into the page. */
async function send(text, files = []) {
  if (state.turn || (!text.trim() && !files.length)) return;
  const turn = { sessionId: state.sessionId, controller: new AbortController(), text, files };
  if (!turn.sessionId) turn.personalityId = picker.value();
  state.turn = turn;
  setBusy(true);
  view.clearTransient();
  showAttachments(view.appendPending(text), files);
  const append = view.appendStreaming();
  await streamReply(turn, append);
}

/** Stream a new version of a message of the open conversation (branches.js asks): an edit
 * (``pending``: its text, shown until stored) or a regenerated reply (``pending`` null).
 * ``request``: the streaming endpoint's ``{ path, body }``; ``retry``: what Retry does. */
function streamBranch(request, { pending, retry }) {
  if (state.turn || !state.sessionId) return;
  const turn = { sessionId: state.sessionId, controller: new AbortController(), text: pending };
  Object.assign(turn, { request, retry });
  state.turn = turn;
  setBusy(true);
  view.clearTransient();
  if (pending !== null) view.appendPending(pending);
  streamReply(turn, view.appendStreaming());
}

/** Stream the reply of ``turn`` into the page (``append`` adds to it), then show it stored. */
async function streamReply(turn, append) {
  const outcome = await readTurn(turn, append);
  state.turn = null;
  setBusy(false);
  await finishTurn(turn, outcome);
}

/** The streaming request of a sent message: its text, and a new chat's settings. */
function messageRequest(turn) {
  const body = { message: turn.text };
  if (turn.files.length) body.attachments = turn.files.map((file) => file.id);
  if (turn.sessionId) body.sessionId = turn.sessionId;
  if (turn.personalityId) body.personalityId = turn.personalityId;
  if (!turn.sessionId && grounding.active()) Object.assign(body, grounding.value());
  return { path: "/chat/message/stream", body };
}

/** Read the stream to its end (a sent message's, or ``turn.request``'s); returns {end} or
 * {error}. */
async function readTurn(turn, append) {
  const { path, body } = turn.request ?? messageRequest(turn);
  try {
    const events = stream(path, body, { signal: turn.controller.signal });
    for await (const event of events) {
      if (event.type === "start") started(turn, event);
      else if (event.type === "content") append(event.content);
      else if (event.type === "end") return { end: event };
      else if (event.type === "error") return { error: event };
    }
    return { error: { message: "The reply was cut off. Try again.", code: "STREAM_CLOSED" } };
  } catch (error) {
    if (error.name === "AbortError") return { end: { stopped: true } };
    return { error: { message: error.message, code: error.code } };
  }
}

/** The server stored the message: a new chat now has an id, a URL and a sidebar entry. */
function started(turn, { sessionId, model }) {
  const isNew = !turn.sessionId;
  view.nameStreamingModel(model);
  turn.sessionId = sessionId;
  stopButton.disabled = false;
  // The composer was disabled under the keyboard's focus: hand it to Stop.
  if (document.activeElement === document.body) stopButton.focus();
  if (isNew && state.sessionId === null) {
    state.sessionId = sessionId;
    view.sessionId = sessionId;
    history.pushState({ id: sessionId }, "", pathFor(sessionId));
    sidebar.setCurrent(sessionId);
    showExportLinks(sessionId);
  }
  sidebar.moveToTop(isNew ? { id: sessionId, title: null } : { id: sessionId });
}

/** Show the stored turn (server-rendered) in place of the streamed text, or its error. */
async function finishTurn(turn, { error }) {
  const id = turn.sessionId;
  // Moved on to another conversation: it shows the stored turn when reopened. (Both null:
  // a new chat whose message never reached the server.)
  if (id !== state.sessionId) return;
  let data = null;
  if (id) {
    try {
      data = await view.refresh();
    } catch (failure) {
      error ??= { message: failure.message, code: failure.code };
    }
  }
  if (data) showSessionTitle(id, data.title);
  // An edit or a regeneration that failed says what Retry does (the same request again).
  if (error && turn.retry && !data?.generating) return view.showError(error, turn.retry);
  // Still generating: the server is storing the reply, or the stream's worker died and the
  // turn is abandoned once its lease lapses (seconds); either way the watch ends it.
  if (data?.generating) watchGeneration(id);
  else if (error) view.showError(error, () => resend(turn.text, turn.files));
}

/** Send a message again; its files are uploaded anew (a file belongs to one message). */
async function resend(text, files = []) {
  send(text, files.length ? await copyFiles(files) : []);
}

/** Store the open conversation's collections and web search (a new chat sends them). */
async function saveGrounding(choice) {
  const id = state.sessionId;
  if (!id) return;
  try {
    await api(`/chat/session/${encodeURIComponent(id)}`, { method: "PATCH", body: choice });
  } catch (error) {
    view.showError({ message: error.message, code: error.code });
  }
}

async function stop() {
  const turn = state.turn;
  if (!turn?.sessionId) return;
  stopButton.disabled = true;
  let stopped = false;
  try {
    const path = `/chat/session/${encodeURIComponent(turn.sessionId)}/stop`;
    stopped = (await api(path, { method: "POST" })).stopped;
  } catch {
    stopped = false;
  }
  // Not stopped by the server (nothing running there yet, or no answer): leave the stream;
  // the server stores what it has, as interrupted, when the client goes away.
  if (!stopped) turn.controller.abort();
}

function setSidebarOpen(open) {
  sidebarElement.classList.toggle("open", open);
  toggle.setAttribute("aria-expanded", String(open));
  toggle.setAttribute("aria-label", open ? "Hide conversations" : "Show conversations");
}

composer.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.turn || state.waiting || (!textarea.value.trim() && tray.isEmpty())) return;
  state.waiting = true; // Send waits for the uploads in flight
  sendButton.disabled = true;
  const files = await tray.take();
  state.waiting = false;
  sendButton.disabled = state.archived;
  const text = textarea.value;
  if (!text.trim() && !files.length) return;
  textarea.value = "";
  send(text, files);
});
textarea.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  }
});
stopButton.addEventListener("click", stop);
document.getElementById("unarchive").addEventListener("click", unarchive);
document.getElementById("new-chat").addEventListener("click", () => {
  navigate(null);
  textarea.focus();
});
toggle.addEventListener("click", () => setSidebarOpen(!sidebarElement.classList.contains("open")));
sidebarElement.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && sidebarElement.classList.contains("open")) {
    setSidebarOpen(false);
    toggle.focus();
  }
});
window.addEventListener("popstate", () =>
  openConversation(idFromPath(window.location.pathname), messageFromHash(window.location.hash)),
);

const openAt = state.sessionId ? messageFromHash(window.location.hash) : null;
const landing = pathFor(state.sessionId) + (openAt ? `#message-${openAt}` : "");
history.replaceState({ id: state.sessionId }, "", landing);
sidebar.kick();
setUpImport(() => sidebar.reload());
picker.load();
setBusy(false);
openConversation(state.sessionId, openAt);
