// Small display helpers shared by the pages.

/** A timestamp in the reader's locale, or a dash when there is none. */
export function formatDate(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** The title to show for a conversation that may not have one yet. */
export function displayTitle(title) {
  return title || "New chat";
}

/** Whether a click asks for a new tab or window (another button or a modifier key). */
export function modified(event) {
  return event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
}
