// Settings: account details (/api/v1/me), password change, and API tokens (create, copy
// once, list, revoke).
import { api } from "./api.js";
import { confirmAction } from "./dialog.js";
import { formatDate } from "./format.js";

const rows = document.getElementById("token-rows");
const empty = document.getElementById("tokens-empty");
const form = document.getElementById("token-form");
const nameInput = document.getElementById("token-name");
const errorText = document.getElementById("token-error");
const created = document.getElementById("new-token");
const createdValue = document.getElementById("new-token-value");
const copyButton = document.getElementById("copy-token");

async function showAccount() {
  const account = await api("/me");
  const values = {
    username: account.username,
    email: account.email,
    created_at: formatDate(account.created_at),
    is_admin: account.is_admin ? "Administrator" : "User",
  };
  for (const [field, value] of Object.entries(values)) {
    document.querySelector(`#account [data-field="${field}"]`).textContent = value;
  }
}

async function showTokens() {
  const { tokens } = await api("/auth/tokens");
  rows.replaceChildren(...tokens.map(tokenRow));
  empty.hidden = tokens.length > 0;
}

function tokenRow(token) {
  const row = document.createElement("tr");
  row.dataset.id = token.id;
  for (const text of [
    token.name,
    `${token.prefix}…`,
    formatDate(token.created_at),
    formatDate(token.last_used_at),
  ]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  const actions = document.createElement("td");
  const revoke = document.createElement("button");
  revoke.type = "button";
  revoke.className = "danger";
  revoke.textContent = "Revoke";
  revoke.setAttribute("aria-label", `Revoke token “${token.name}”`);
  revoke.addEventListener("click", () => revokeToken(token, revoke));
  actions.append(revoke);
  row.append(actions);
  return row;
}

async function revokeToken(token, button) {
  const confirmed = await confirmAction({
    title: "Revoke this token?",
    message: `Scripts using “${token.name}” will stop working at once.`,
    confirmLabel: "Revoke",
  });
  if (!confirmed) return button.focus();
  try {
    await api(`/auth/tokens/${token.id}`, { method: "DELETE" });
    showError(null);
  } catch (error) {
    if (error.status !== 404) return showError(error);
  }
  await showTokens();
  nameInput.focus();
}

function showError(error) {
  errorText.hidden = !error;
  errorText.textContent = error ? error.message : "";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (!name) return showError({ message: "Give the token a name, for example “laptop”." });
  try {
    const token = await api("/auth/tokens", { method: "POST", body: { name } });
    showError(null);
    form.reset();
    createdValue.value = token.token;
    created.hidden = false;
    copyButton.textContent = "Copy";
    createdValue.focus();
    createdValue.select();
    await showTokens();
  } catch (error) {
    showError(error);
  }
});

copyButton.addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(createdValue.value);
    copyButton.textContent = "Copied";
  } catch {
    createdValue.select(); // no clipboard access: leave it selected for Ctrl+C
    copyButton.textContent = "Press Ctrl+C";
  }
});

const passwordForm = document.getElementById("password-form");
const passwordError = document.getElementById("password-error");
const passwordDone = document.getElementById("password-done");

passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    currentPassword: passwordForm.elements.currentPassword.value,
    newPassword: passwordForm.elements.newPassword.value,
  };
  passwordDone.hidden = true;
  try {
    const result = await api("/me/password", { method: "POST", body });
    passwordForm.reset();
    passwordError.hidden = true;
    passwordDone.textContent = result.message;
    passwordDone.hidden = false;
  } catch (error) {
    passwordError.textContent = error.message;
    passwordError.hidden = false;
  }
});

document.getElementById("change-password").disabled = false;
document.getElementById("create-token").disabled = false;
showAccount().catch(showError);
showTokens().catch(showError);
