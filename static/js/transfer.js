// Export and import on the chat page: links that download the open conversation (JSON or
// Markdown) or everything, and an Import button that uploads a file with its progress.
import { upload } from "./api.js";

const links = document.getElementById("export-links");
const jsonLink = document.getElementById("export-json");
const markdownLink = document.getElementById("export-markdown");
const button = document.getElementById("import-button");
const input = document.getElementById("import-file");
const progress = document.getElementById("import-progress");
const status = document.getElementById("import-status");
const problems = document.getElementById("import-problems");

/** Point the export links at conversation ``id`` (hidden for a new chat). */
export function showExportLinks(id) {
  links.hidden = !id;
  if (!id) return;
  const base = `/api/v1/chat/session/${encodeURIComponent(id)}/export`;
  jsonLink.href = `${base}?format=json`;
  markdownLink.href = `${base}?format=markdown`;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** What an import did, in one sentence, and each problem below it. */
function showReport(report) {
  status.textContent =
    `Imported ${plural(report.imported, "conversation")}; ` +
    `${report.skipped} already there, ${report.failed} failed.`;
  problems.replaceChildren(
    ...report.problems.map((problem) => {
      const item = document.createElement("li");
      item.textContent = `${problem.title ?? `#${problem.index + 1}`}: ${problem.reason}`;
      return item;
    }),
  );
}

/** Upload ``file`` to the import route, showing progress; ``onImported`` after success. */
async function importFile(file, onImported) {
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  problems.replaceChildren();
  status.textContent = `Uploading ${file.name}…`;
  try {
    const answer = await upload("/chat/import", file, (percent) => {
      progress.value = percent;
      if (percent === 100) status.textContent = `Importing ${file.name}…`;
    });
    if (answer.status === 200) {
      showReport(answer.body);
      onImported();
    } else {
      status.textContent = `Import failed: ${answer.body?.message ?? `the server answered ${answer.status}`}`;
    }
  } catch (error) {
    status.textContent = `Import failed: ${error.message}`;
  } finally {
    progress.hidden = true;
    button.disabled = false;
    input.value = "";
  }
}

/** Wire the Import button; ``onImported`` runs after conversations arrived. */
export function setUpImport(onImported) {
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files.length) importFile(input.files[0], onImported);
  });
}
