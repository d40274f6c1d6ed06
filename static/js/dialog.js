// A confirmation dialog built on <dialog>: modal, keyboard-operable, Escape cancels.

/** Ask a yes/no question; resolves true only when the confirm button is pressed. */
export function confirmAction({ title, message, confirmLabel = "Delete" }) {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm";
  dialog.setAttribute("aria-labelledby", "confirm-title");
  const form = document.createElement("form");
  form.method = "dialog";
  const heading = document.createElement("h2");
  heading.id = "confirm-title";
  heading.textContent = title;
  const text = document.createElement("p");
  text.textContent = message;
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  const cancel = button("Cancel", "cancel", "");
  const confirm = button(confirmLabel, "confirm", "danger");
  actions.append(cancel, confirm);
  form.append(heading, text, actions);
  dialog.append(form);
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    dialog.showModal();
    cancel.focus();
  });
}

function button(label, value, className) {
  const element = document.createElement("button");
  element.type = "submit";
  element.value = value;
  element.textContent = label;
  if (className) element.className = className;
  return element;
}
