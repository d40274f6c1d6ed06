// The JSON API as the page uses it: cookie login, CSRF header on writes, one error shape.
import { readEvents } from "./sse.js";

const BASE = "/api/v1";
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/** An API error in the one error shape: status, code and a message a person can act on. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function requestInit(method, body, signal) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
  return {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  };
}

async function errorFrom(response) {
  let data = {};
  try {
    data = await response.json();
  } catch {
    // not JSON (a proxy's page, a dropped connection): fall back to the status
  }
  if (response.status === 401) {
    window.location.assign(`/auth/login?next=${encodeURIComponent(window.location.pathname)}`);
  }
  const message = data.message || `The server answered ${response.status}. Try again.`;
  return new ApiError(response.status, data.code || `HTTP_${response.status}`, message, data.details);
}

async function send(method, path, body, signal) {
  let response;
  try {
    response = await fetch(BASE + path, requestInit(method, body, signal));
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK_ERROR", "Could not reach the server. Check your connection.");
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** Call the API and return its JSON body; throws ApiError on any failure. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const response = await send(method, path, body, signal);
  return response.json();
}

/** Build a query string from the defined values of ``params``. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Call a streaming endpoint (POST unless ``method`` says) and yield its events as they arrive. */
export async function* stream(path, body, { signal, method = "POST" } = {}) {
  const response = await send(method, path, body, signal);
  yield* readEvents(response.body);
}

/**
 * Upload ``file`` as the multipart field ``file`` with XMLHttpRequest (fetch cannot report
 * an upload's progress). ``onProgress(percent)`` follows the upload; the promise resolves
 * to ``{ status, body }`` once the server answered (any status), and rejects with an
 * ApiError when the server cannot be reached.
 */
export function upload(path, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    body.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", BASE + path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(Math.round((100 * event.loaded) / event.total));
    });
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response }));
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "NETWORK_ERROR", "Could not reach the server.")),
    );
    xhr.send(body);
  });
}
