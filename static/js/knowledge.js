// The Knowledge page: collections, uploads with per-file progress, and documents whose
// indexing status is polled live. Everything from documents is shown as text only.
import { api, upload } from "./api.js";
import { confirmAction } from "./dialog.js";

const root = document.getElementById("knowledge");
const isAdmin = root.dataset.admin === "true";
const els = {
  form: document.getElementById("new-collection"),
  name: document.getElementById("collection-name"),
  shared: document.getElementById("collection-shared"),
  collections: document.getElementById("collections"),
  collectionsEmpty: document.getElementById("collections-empty"),
  collectionsError: document.getElementById("collections-error"),
  section: document.getElementById("collection"),
  title: document.getElementById("collection-title"),
  sharedMark: document.getElementById("collection-shared-mark"),
  deleteCollection: document.getElementById("delete-collection"),
  uploadArea: document.getElementById("upload-area"),
  dropzone: document.getElementById("dropzone"),
  fileInput: document.getElementById("file-input"),
  uploads: document.getElementById("uploads"),
  documents: document.getElementById("documents"),
  documentsEmpty: document.getElementById("documents-empty"),
  documentsError: document.getElementById("documents-error"),
};
const POLL_MS = 1000;
const state = { collections: [], current: null, timer: null };

function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function showError(element, error) {
  element.hidden = !error;
  element.textContent = error ? error.message : "";
}

async function loadCollections(selectId) {
  try {
    const data = await api("/collections");
    state.collections = data.collections;
    showError(els.collectionsError, null);
  } catch (error) {
    showError(els.collectionsError, error);
    return;
  }
  renderCollections();
  const wanted = state.collections.find((c) => c.id === (selectId ?? state.current?.id));
  if (wanted) selectCollection(wanted);
  else closeCollection();
}

function renderCollections() {
  els.collections.replaceChildren(...state.collections.map(collectionItem));
  els.collectionsEmpty.hidden = state.collections.length > 0;
}

function collectionItem(collection) {
  const item = el("li", "collection-item");
  item.dataset.id = collection.id;
  if (state.current?.id === collection.id) item.setAttribute("aria-current", "true");
  const open = el("button", "link", collection.name);
  open.type = "button";
  open.addEventListener("click", () => selectCollection(collection));
  item.append(open);
  if (collection.shared) item.append(el("span", "badge", "Shared"));
  const count = collection.documentCount;
  item.append(el("span", "muted", `${count} document${count === 1 ? "" : "s"}`));
  return item;
}

function selectCollection(collection) {
  const switched = state.current?.id !== collection.id;
  state.current = collection;
  renderCollections();
  els.section.hidden = false;
  els.title.textContent = collection.name;
  els.sharedMark.hidden = !collection.shared;
  els.sharedMark.textContent = collection.writable ? "Shared" : "Shared · read-only";
  els.deleteCollection.hidden = !collection.writable;
  els.uploadArea.hidden = !collection.writable;
  if (switched) {
    els.uploads.replaceChildren();
    els.documents.replaceChildren();
  }
  loadDocuments();
}

function closeCollection() {
  state.current = null;
  els.section.hidden = true;
  clearTimeout(state.timer);
}

async function loadDocuments() {
  clearTimeout(state.timer);
  const collection = state.current;
  if (!collection) return;
  let data;
  try {
    data = await api(`/collections/${collection.id}/documents`);
    showError(els.documentsError, null);
  } catch (error) {
    showError(els.documentsError, error);
    if (error.status === 404) loadCollections();
    return;
  }
  if (state.current?.id !== collection.id) return;
  els.documents.replaceChildren(...data.documents.map(documentItem));
  els.documentsEmpty.hidden = data.documents.length > 0;
  const busy = data.documents.some((d) => d.status === "pending" || d.status === "indexing");
  if (busy) state.timer = setTimeout(loadDocuments, POLL_MS);
}

const STATUS = { pending: "Waiting to index", indexing: "Indexing", ready: "Ready", failed: "Failed" };

function documentItem(doc) {
  const item = el("li", "document-item");
  item.dataset.id = doc.id;
  item.dataset.status = doc.status;
  item.append(el("span", "document-title", doc.title));
  const status = el("span", `document-status status-${doc.status}`, statusText(doc));
  item.append(status);
  if (doc.status === "indexing" || doc.status === "pending") {
    const bar = el("progress");
    bar.max = Math.max(doc.chunksTotal, 1);
    bar.value = doc.chunksDone;
    bar.setAttribute("aria-label", `Indexing ${doc.title}`);
    item.append(bar);
  }
  if (doc.status === "ready" && !doc.embedded) {
    item.append(el("span", "badge", "Full-text only"));
  }
  if (doc.writable) item.append(deleteDocumentButton(doc));
  return item;
}

function statusText(doc) {
  if (doc.status === "failed") return `Failed: ${doc.error?.message ?? "unknown error"}`;
  if (doc.status === "indexing") return `Indexing ${doc.chunksDone}/${doc.chunksTotal}`;
  if (doc.status === "ready") return `Ready · ${doc.chunksTotal} passages`;
  return STATUS[doc.status] ?? doc.status;
}

function deleteDocumentButton(doc) {
  const button = el("button", "danger", "Delete");
  button.type = "button";
  button.setAttribute("aria-label", `Delete ${doc.title}`);
  button.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: "Delete document?",
      message: `“${doc.title}” and its passages will be removed from search.`,
    });
    if (!ok) return;
    try {
      await api(`/documents/${doc.id}`, { method: "DELETE" });
      await loadCollections();
    } catch (error) {
      showError(els.documentsError, error);
    }
  });
  return button;
}

/** Upload one file, showing the upload's progress. */
async function uploadFile(file, collectionId) {
  const item = el("li", "upload-item");
  const bar = el("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Uploading ${file.name}`);
  const status = el("span", "muted", "Uploading…");
  item.append(el("span", "upload-name", file.name), bar, status);
  els.uploads.append(item);
  let answer;
  try {
    answer = await upload(`/collections/${collectionId}/documents`, file, (percent) => {
      bar.value = percent;
    });
  } catch (error) {
    status.textContent = `Failed: ${error.message}`;
    status.className = "status-failed";
    return;
  }
  const ok = answer.status === 200 || answer.status === 201;
  bar.value = 100;
  status.textContent = ok
    ? answer.status === 200 ? "Already in this collection" : "Uploaded"
    : `Failed: ${answer.body?.message ?? `the server answered ${answer.status}`}`;
  status.className = ok ? "muted" : "status-failed";
  if (ok) setTimeout(() => item.remove(), 1500);
  loadCollections();
}

function uploadAll(files) {
  const collection = state.current;
  if (!collection?.writable) return;
  for (const file of files) uploadFile(file, collection.id);
}

els.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = els.name.value.trim();
  if (!name) return;
  const body = { name };
  if (isAdmin && els.shared?.checked) body.shared = true;
  try {
    const created = await api("/collections", { method: "POST", body });
    els.name.value = "";
    if (els.shared) els.shared.checked = false;
    await loadCollections(created.id);
  } catch (error) {
    showError(els.collectionsError, error);
  }
});

els.deleteCollection.addEventListener("click", async () => {
  const collection = state.current;
  if (!collection) return;
  const ok = await confirmAction({
    title: "Delete collection?",
    message: `“${collection.name}” and all its documents will be deleted.`,
  });
  if (!ok) return;
  try {
    await api(`/collections/${collection.id}`, { method: "DELETE" });
    closeCollection();
    await loadCollections();
  } catch (error) {
    showError(els.collectionsError, error);
  }
});

els.fileInput.addEventListener("change", () => {
  uploadAll(els.fileInput.files);
  els.fileInput.value = "";
});
for (const type of ["dragenter", "dragover"]) {
  els.dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    els.dropzone.classList.add("dragging");
  });
}
for (const type of ["dragleave", "drop"]) {
  els.dropzone.addEventListener(type, () => els.dropzone.classList.remove("dragging"));
}
els.dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  uploadAll(event.dataTransfer?.files ?? []);
});

loadCollections();
