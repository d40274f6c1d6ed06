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

const UNITS = ["byte", "kilobyte", "megabyte", "gigabyte"];

/** A size in bytes as a person reads it ("5 bytes", "3.4 MB"), in the reader's locale. */
export function formatSize(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const style = {
    style: "unit",
    unit: UNITS[unit],
    unitDisplay: unit === 0 ? "long" : "short", // "5 bytes", "12 kB"
    maximumFractionDigits: 1,
  };
  return new Intl.NumberFormat(undefined, style).format(value);
}
