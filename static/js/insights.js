// Weekly insights: this week's (generated or regenerated while it streams in), past weeks'
// insights, and deleting one after a confirmation.
import { api, stream } from "./api.js";
import { confirmAction } from "./dialog.js";
import { formatDate } from "./format.js";
import { iconButton } from "./icons.js";

const BASE = "/chat/weekly-insights";
const generateButton = document.getElementById("generate");
const weekText = document.getElementById("current-week");
const statusText = document.getElementById("current-status");
const currentError = document.getElementById("current-error");
const article = document.getElementById("current-insight");
const historyList = document.getElementById("history");
const historyEmpty = document.getElementById("history-empty");
const historyError = document.getElementById("history-error");
const historyTitle = document.getElementById("history-title");

// zone: the user's time zone (weeks follow it); insight: this week's stored insight or null.
const state = { zone: undefined, insight: null, busy: false };

/** A week's dates in the user's time zone, for example "Nov 21 – 27, 2026". */
function weekRange(start, end) {
  const dates = [new Date(start), new Date(end)];
  try {
    return dateFormat(state.zone).formatRange(...dates);
  } catch {
    return dateFormat(undefined).formatRange(...dates); // a zone this browser does not know
  }
}

function dateFormat(timeZone) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone });
}

function conversations(count) {
  return `${count} conversation${count === 1 ? "" : "s"}`;
}

function showError(element, error) {
  element.hidden = !error;
  element.textContent = error ? error.message : "";
}

/** Show this week's stored insight (server-rendered, sanitised HTML) or say there is none. */
function showInsight(insight) {
  state.insight = insight;
  generateButton.textContent = insight ? "Regenerate" : "Generate";
  article.classList.remove("raw");
  article.removeAttribute("aria-busy");
  article.hidden = !insight;
  if (!insight) {
    article.replaceChildren();
    statusText.textContent = "No insight for this week yet.";
    return;
  }
  article.innerHTML = insight.html;
  const meta = document.createElement("p");
  meta.className = "muted insight-meta";
  meta.textContent = `Based on ${conversations(insight.entry_count)} · ${insight.model} · updated ${formatDate(insight.updated_at)}`;
  article.append(meta);
  statusText.textContent = "";
}

async function loadCurrent() {
  const data = await api(`${BASE}/current`);
  weekText.textContent = weekRange(data.weekStart, data.weekEnd);
  showInsight(data.insight);
}

function setBusy(busy) {
  state.busy = busy;
  generateButton.disabled = busy;
  generateButton.setAttribute("aria-busy", String(busy));
  // The button was disabled under the keyboard's focus: give it back.
  if (!busy && document.activeElement === document.body) generateButton.focus();
}

/** Write this week's insight (anew when one exists), showing the text as it streams in. */
async function generate() {
  if (state.busy) return;
  const regenerate = state.insight !== null;
  const previous = state.insight;
  setBusy(true);
  showError(currentError, null);
  statusText.textContent = regenerate ? "Writing a new insight…" : "Writing this week's insight…";
  const events = regenerate
    ? stream(`${BASE}/regenerate`)
    : stream(`${BASE}/stream`, undefined, { method: "GET" });
  const outcome = await readInsight(events);
  if (outcome.error) {
    showInsight(previous);
    showError(currentError, { message: `${outcome.error.message} Nothing was saved.` });
  } else {
    // No insight written (no conversations this week): a stored one stays as it was.
    showInsight(outcome.insight ?? previous);
    if (!outcome.insight && outcome.message) statusText.textContent = outcome.message;
  }
  setBusy(false);
  await loadHistory();
}

/** Read the stream to its end; returns {insight, message} or {error}. */
async function readInsight(events) {
  let started = false;
  try {
    for await (const event of events) {
      if (event.type === "start") {
        weekText.textContent = weekRange(event.weekStart, event.weekEnd);
        statusText.textContent = `Reading ${conversations(event.entryCount)}…`;
      } else if (event.type === "chunk") {
        if (!started) startStreaming();
        started = true;
        article.textContent += event.content; // raw text while streaming: never parsed as HTML
      } else if (event.type === "done") {
        return { insight: event.insight, message: event.message };
      } else if (event.type === "error") {
        return { error: event };
      }
    }
    return { error: { message: "The insight was cut off." } };
  } catch (error) {
    return { error };
  }
}

function startStreaming() {
  article.hidden = false;
  article.classList.add("raw");
  article.setAttribute("aria-busy", "true");
  article.replaceChildren();
}

async function loadHistory() {
  try {
    const insights = await api(`${BASE}/history`);
    historyList.replaceChildren(...insights.map(historyItem));
    historyEmpty.hidden = insights.length > 0;
    showError(historyError, null);
  } catch (error) {
    showError(historyError, error);
  }
}

/** A past insight: its week as a disclosure summary, the insight inside, and Delete. */
function historyItem(insight) {
  const range = weekRange(insight.week_start, insight.week_end);
  const item = document.createElement("li");
  item.className = "insight-item";
  item.dataset.id = insight.id;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `${range} · ${conversations(insight.entry_count)}`;
  const body = document.createElement("div");
  body.className = "insight";
  body.innerHTML = insight.html;
  details.append(summary, body);
  const remove = iconButton("trash", `Delete the insight for ${range}`, "delete");
  remove.addEventListener("click", () => deleteInsight(insight, range, remove));
  item.append(details, remove);
  return item;
}

async function deleteInsight(insight, range, button) {
  const confirmed = await confirmAction({
    title: "Delete this insight?",
    message: `The insight for ${range} will be gone for good.`,
  });
  if (!confirmed) return button.focus();
  try {
    await api(`${BASE}/${insight.id}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) return showError(historyError, error);
  }
  if (insight.id === state.insight?.id) showInsight(null);
  await loadHistory();
  historyTitle.focus(); // the focused button is gone
}

async function start() {
  try {
    state.zone = (await api("/me")).timezone;
  } catch {
    state.zone = undefined; // the browser's own time zone
  }
  try {
    await loadCurrent();
    generateButton.disabled = false;
  } catch (error) {
    showError(currentError, error);
  }
  await loadHistory();
}

generateButton.addEventListener("click", generate);
start();
