// Talking to the service: the API key lives in sessionStorage (never in a URL), errors are problem+json.

const STORAGE = "switchboard.apiKey";

export const session = {
  get key() {
    return sessionStorage.getItem(STORAGE);
  },
  set(key) {
    sessionStorage.setItem(STORAGE, key);
  },
  clear() {
    sessionStorage.removeItem(STORAGE);
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(json) {
  const out = { Authorization: `Bearer ${session.key}`, Accept: "application/json" };
  if (json) out["Content-Type"] = "application/json";
  return out;
}

async function failure(response) {
  let problem = null;
  try {
    const body = await response.json();
    // problem+json, or an OpenAI-style {"error": {...}} from the protocol surfaces
    problem = body && body.error ? { title: body.error.type, detail: body.error.message, code: body.error.code } : body;
  } catch {
    problem = { title: response.statusText };
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("switchboard:unauthorized"));
  return new ApiError(response.status, problem);
}

/** JSON request; resolves to the decoded body (null for 204), rejects with ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/** POST a body and return the streaming Response (rejects with ApiError before the stream starts). */
export async function openStream(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { ...headers(true), Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  return response;
}

/** Server-Sent Events from a fetch Response: yields {event, id, data} per frame; comments are skipped. */
export async function* sseFrames(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const frame = { event: "message", id: null, data: [] };
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "data") frame.data.push(text);
          else if (field === "event") frame.event = text;
          else if (field === "id") frame.id = text;
        }
        if (frame.data.length) yield { event: frame.event, id: frame.id, data: frame.data.join("\n") };
      }
    }
  } finally {
    reader.releaseLock();
  }
}
