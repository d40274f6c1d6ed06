// Inline SVG icons (no image requests, nothing for the CSP to allow). Buttons carry the labels.
const PATHS = {
  pencil: "M4 20h4L18.5 9.5l-4-4L4 16v4zM14.5 5.5l4 4 1.8-1.8a1.4 1.4 0 0 0 0-2l-2-2a1.4 1.4 0 0 0-2 0z",
  trash: "M5 7h14M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  archive: "M4 5h16v4H4zM5 9v10h14V9M10 13h4",
  unarchive: "M4 5h16v4H4zM5 9v10h14V9M12 18v-6M9.5 14.5 12 12l2.5 2.5",
  close: "M6 6l12 12M18 6 6 18",
  paperclip: "M20 11.5 12.4 19a5 5 0 0 1-7.1-7.1l8-8a3.3 3.3 0 0 1 4.7 4.7l-8 8a1.7 1.7 0 0 1-2.4-2.4l7.4-7.4",
};

/** Return an SVG icon element; it is hidden from screen readers. */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[name]);
  svg.append(path);
  return svg;
}

/** Return a button showing only an icon, named for screen readers by ``label``. */
export function iconButton(name, label, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `icon ${className}`;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(name));
  return button;
}
