// Small display helpers shared by the pages.

/** A timestamp in the reader's locale, or a dash when there is none. */
export function formatDate(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** The title to show for a conversation that may not have one yet. */
export function displayTitle(title) {
  return title || "New chat";
}
