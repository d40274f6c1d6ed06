// Files attached to a message: the composer's tray (picker, drag and drop, pasted images,
// each uploaded at once and shown as a thumbnail or a chip until it is sent) and the
// attachments of a stored message (images shown and enlarged on click, other files as
// download chips).
import { api, upload } from "./api.js";
import { formatSize } from "./format.js";
import { icon, iconButton } from "./icons.js";

// Only these are ever put in an <img>: the types the server serves as images. An SVG upload
// is stored as text and shown as a chip, so it never runs in the page's origin.
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);
// A picked file previewed before the server answers (a GIF is stored as a PNG of it).
const PREVIEW_TYPES = new Set([...IMAGE_TYPES, "image/gif"]);

/** Where a stored file's bytes are served (to its owner; an <img src> works). */
export function contentUrl(id) {
  return `/api/v1/files/${encodeURIComponent(id)}/content`;
}

function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A chip naming a file and its size. */
function chip(name, size, tag = "span") {
  const element = el(tag, "file-chip");
  element.append(el("span", "file-name", name), el("span", "file-size", formatSize(size)));
  return element;
}

/** The attachments of a message as a list (null when it has none): images as thumbnails
 * that enlarge on click, other files as chips that download. */
export function attachmentList(attachments) {
  if (!attachments?.length) return null;
  const list = el("ul", "attachments");
  list.setAttribute("aria-label", "Attachments");
  for (const file of attachments) {
    const item = el("li");
    item.append(IMAGE_TYPES.has(file.mimeType) ? imageButton(file) : downloadChip(file));
    list.append(item);
  }
  return list;
}

/** Show a message's ``files`` above its text (the item keeps them, to send again), and on
 * a reply, how many files its turn left out of what the model saw (``omitted`` ids). */
export function showAttachments(item, files, omitted) {
  item.attachments = files || [];
  const list = attachmentList(files);
  if (list) item.querySelector(".body").before(list);
  if (omitted?.length) {
    const count = omitted.length === 1 ? "1 attached file" : `${omitted.length} attached files`;
    const text = `The model did not see ${count} for this reply: it did not fit in its context.`;
    item.append(el("p", "note omitted", text));
  }
}

function imageButton(file) {
  const button = el("button", "attachment-image");
  button.type = "button";
  button.setAttribute("aria-label", `Enlarge ${file.name}`);
  const image = el("img");
  image.src = contentUrl(file.id);
  image.alt = file.name;
  image.loading = "lazy";
  if (file.width && file.height) {
    image.width = file.width;
    image.height = file.height;
  }
  button.append(image);
  button.addEventListener("click", () => enlarge(image.src, file.name));
  return button;
}

function downloadChip(file) {
  const link = chip(file.name, file.size, "a");
  link.href = contentUrl(file.id);
  link.download = file.name;
  link.title = `Download ${file.name}`;
  return link;
}

/** Show an image over the page; Escape or a click anywhere closes it. */
function enlarge(src, name) {
  const dialog = el("dialog", "lightbox");
  dialog.setAttribute("aria-label", name);
  const image = el("img");
  image.src = src;
  image.alt = name;
  dialog.append(image);
  dialog.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

/**
 * The composer's files waiting to be sent. Each file is uploaded when chosen; ``take()``
 * waits for the uploads in flight and hands over the stored files, emptying the tray.
 * ``onError({message, code})`` shows an upload's refusal.
 */
export class AttachmentTray {
  constructor({ tray, input, button, dropTargets, textarea, onError }) {
    this.tray = tray;
    this.textarea = textarea;
    this.button = button;
    this.onError = onError;
    this.entries = [];
    this.disabled = true; // until the page is ready, like the button
    button.append(icon("paperclip"));
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      this.add([...input.files]);
      input.value = "";
    });
    textarea.addEventListener("paste", (event) => this.paste(event));
    for (const target of dropTargets) this.acceptDrops(target);
  }

  /** Upload ``files`` and show them in the tray. */
  add(files) {
    for (const file of files) this.entries.push(this.start(file));
    this.render();
  }

  start(file) {
    const entry = { file, stored: null, removed: false, item: null };
    if (PREVIEW_TYPES.has(file.type)) entry.preview = URL.createObjectURL(file);
    entry.done = this.send(entry);
    return entry;
  }

  async send(entry) {
    let answer;
    const progress = (percent) => {
      entry.item?.querySelector("progress")?.setAttribute("value", percent);
    };
    try {
      answer = await upload("/files", entry.file, progress);
    } catch (error) {
      answer = { status: 0, body: { message: error.message, code: error.code } };
    }
    if (answer.status === 201) {
      entry.stored = answer.body;
      if (entry.removed) forget(entry.stored);
      else entry.item = null; // shown again: stored images get a thumbnail, without progress
    } else if (!entry.removed) {
      const body = answer.body || {};
      const message = body.message || `The upload failed (${answer.status}).`;
      this.onError({ message: `${entry.file.name}: ${message}`, code: body.code });
      this.drop(entry);
      return;
    }
    if (!entry.removed) this.render();
  }

  /** Take a file out of the tray; an uploaded one is deleted from the server. */
  remove(entry) {
    entry.removed = true;
    if (entry.stored) forget(entry.stored);
    this.drop(entry);
  }

  drop(entry) {
    if (entry.preview) URL.revokeObjectURL(entry.preview);
    this.entries = this.entries.filter((other) => other !== entry);
    this.render();
  }

  /** Whether nothing is waiting to be sent. */
  isEmpty() {
    return this.entries.length === 0;
  }

  /** Wait for the uploads in flight; return the stored files and empty the tray. */
  async take() {
    while (this.entries.some((entry) => !entry.stored)) {
      this.tray.setAttribute("aria-busy", "true");
      await Promise.all(this.entries.map((entry) => entry.done));
    }
    this.tray.removeAttribute("aria-busy");
    const files = this.entries.map((entry) => entry.stored);
    for (const entry of this.entries) if (entry.preview) URL.revokeObjectURL(entry.preview);
    this.entries = [];
    this.render();
    return files;
  }

  /** The picker and the drop targets follow the composer (off while a reply is written). */
  setDisabled(disabled) {
    this.button.disabled = disabled;
    this.disabled = disabled;
  }

  paste(event) {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length || this.disabled) return;
    // Pasted text goes in as usual; a pasted image alone would otherwise do nothing.
    if (!event.clipboardData.types.includes("text/plain")) event.preventDefault();
    this.add(files.map(named));
  }

  acceptDrops(target) {
    const carriesFiles = (event) => event.dataTransfer?.types.includes("Files");
    // A file dropped here never opens in the tab, even while the composer is off.
    target.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = this.disabled ? "none" : "copy";
      target.classList.toggle("dragging", !this.disabled);
    });
    target.addEventListener("dragleave", (event) => {
      if (!target.contains(event.relatedTarget)) target.classList.remove("dragging");
    });
    target.addEventListener("drop", (event) => {
      target.classList.remove("dragging");
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (!this.disabled) this.add([...event.dataTransfer.files]);
    });
  }

  render() {
    for (const entry of this.entries) entry.item ??= this.trayItem(entry);
    this.tray.replaceChildren(...this.entries.map((entry) => entry.item));
    this.tray.hidden = this.entries.length === 0;
  }

  trayItem(entry) {
    const item = el("li", "tray-item");
    const { name, size } = entry.file;
    const { stored } = entry;
    // A HEIC photo has no preview, but is stored as a JPEG that the page can show.
    const stillImage = stored && IMAGE_TYPES.has(stored.mimeType) && contentUrl(stored.id);
    const source = stored && !IMAGE_TYPES.has(stored.mimeType) ? null : entry.preview || stillImage;
    if (source) {
      const image = el("img", "thumbnail");
      image.src = source;
      image.alt = name;
      item.append(image);
    } else {
      item.append(chip(name, size));
    }
    if (!stored) {
      item.classList.add("uploading");
      const progress = el("progress");
      progress.max = 100;
      progress.setAttribute("aria-label", `Uploading ${name}`);
      item.append(progress);
    }
    const remove = iconButton("close", `Remove ${name}`, "remove-file");
    remove.addEventListener("click", () => {
      this.remove(entry);
      this.textarea.focus(); // the button is gone: keep the keyboard in the composer
    });
    item.append(remove);
    return item;
  }
}

/** A pasted image is named ``image.png``: give it a name a person can tell apart. */
function named(file) {
  if (file.name && file.name !== "image.png") return file;
  const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, "-");
  const extension = file.type.split("/")[1] || "png";
  return new File([file], `pasted-${stamp}.${extension}`, { type: file.type });
}

/** Delete an uploaded file that will not be sent (the clean-up would remove it later). */
function forget(stored) {
  api(`/files/${encodeURIComponent(stored.id)}`, { method: "DELETE" }).catch(() => {});
}

/** Upload copies of stored files (a file belongs to one message: resending needs new ones). */
export async function copyFiles(files) {
  const copies = [];
  for (const file of files) {
    const response = await fetch(contentUrl(file.id), { credentials: "same-origin" });
    if (!response.ok) continue;
    const blob = await response.blob();
    const answer = await upload("/files", new File([blob], file.name, { type: blob.type }));
    if (answer.status === 201) copies.push(answer.body);
  }
  return copies;
}
