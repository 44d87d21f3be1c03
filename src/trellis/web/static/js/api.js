// The JSON API and the live event stream (server-sent events: the server pushes each
// change; nothing here polls on a timer).
export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.error || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function parse(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function get(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== undefined && item !== null && item !== "") url.searchParams.append(k, item);
    }
  }
  return parse(await fetch(url, { headers: { Accept: "application/json" } }));
}

export async function post(path, body) {
  return parse(
    await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    }),
  );
}

// One stream per page view: subscribe(type, fn) until the page is left.
let source = null;
let listeners = [];

export function openStream(runId) {
  closeStream();
  const url = runId ? `/api/stream?run_id=${encodeURIComponent(runId)}` : "/api/stream";
  source = new EventSource(url);
  for (const type of ["run", "events", "launch_failed", "workspace", "tick", "evaluation", "backfill"]) {
    source.addEventListener(type, (e) => {
      const message = JSON.parse(e.data);
      for (const [t, fn] of listeners) if (t === type) fn(message);
    });
  }
  return source;
}

export function subscribe(type, fn) {
  listeners.push([type, fn]);
}

export function closeStream() {
  if (source) source.close();
  source = null;
  listeners = [];
}
