// Calls to the service: the caller's credential, problem+json errors, the rate-limit
// headers, and seeds kept exact (a seed is an unsigned 64-bit integer, more than a
// JavaScript number holds, so it travels as the digits the user typed or the server sent).

const CALLER_KEY = "trickster-oracle.explorer.caller";

/** The saved caller, `{mode: "actor" | "api_key", value}`, or null. */
export function loadCaller() {
  try {
    const caller = JSON.parse(localStorage.getItem(CALLER_KEY) ?? "null");
    return caller && typeof caller.value === "string" ? caller : null;
  } catch {
    return null;
  }
}

export function saveCaller(caller) {
  localStorage.setItem(CALLER_KEY, JSON.stringify(caller));
}

export function forgetCaller() {
  localStorage.removeItem(CALLER_KEY);
}

function credentialHeaders(caller) {
  if (!caller?.value) return {};
  return caller.mode === "api_key"
    ? { Authorization: `Bearer ${caller.value}` }
    : { "X-Actor-ID": caller.value };
}

/**
 * One request. Never throws: the answer is `{status, ok, data, text, headers, rateLimit,
 * problem}`, with `problem` set (an RFC 9457 body, or one made up for a network failure)
 * whenever `ok` is false.
 */
export async function call(method, path, { caller, body } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  Object.assign(headers, credentialHeaders(caller));
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (error) {
    return {
      status: 0,
      ok: false,
      problem: {
        title: "The service could not be reached",
        detail: `${error.message}. Check the connection and try again.`,
      },
    };
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const answer = {
    status: response.status,
    ok: response.ok,
    data,
    text,
    headers: response.headers,
    rateLimit: rateLimit(response.headers),
  };
  if (!response.ok) {
    answer.problem =
      data && typeof data === "object"
        ? data
        : { title: `HTTP ${response.status}`, detail: text.slice(0, 200) };
  }
  return answer;
}

/** `RateLimit: "default";r=13;t=12` and `RateLimit-Policy: "default";q=15;w=90`. */
function rateLimit(headers) {
  const param = (value, name) => {
    const match = new RegExp(`;\\s*${name}=(\\d+)`).exec(value ?? "");
    return match ? Number(match[1]) : null;
  };
  const limit = headers.get("RateLimit");
  if (!limit) return null;
  const policy = headers.get("RateLimit-Policy");
  return {
    remaining: param(limit, "r"),
    reset: param(limit, "t"),
    quota: param(policy, "q"),
    window: param(policy, "w"),
  };
}

/** Seconds to wait from `Retry-After` (or the problem's `retry_after_seconds`). */
export function retryAfter(answer) {
  const header = Number(answer.headers?.get("Retry-After"));
  if (Number.isFinite(header) && header > 0) return header;
  const body = Number(answer.problem?.retry_after_seconds);
  return Number.isFinite(body) && body > 0 ? body : null;
}

/**
 * The body of `POST /api/simulate`. `seed` is the text of the seed field: digits go into the
 * JSON as they are (exactly, however large); anything else goes as a string, which the
 * service refuses with a message naming `seed`.
 */
export function simulateBody({ eventId, event, iterations, seed }) {
  const body = eventId ? { event_id: eventId } : { event };
  if (iterations !== undefined) body.iterations = iterations;
  const json = JSON.stringify(body);
  if (seed === "") return json;
  const literal = /^\d+$/.test(seed) ? BigInt(seed).toString() : JSON.stringify(seed);
  return `${json.slice(0, -1)}${json === "{}" ? "" : ","}"seed":${literal}}`;
}

/** The seed of a result exactly as the service wrote it. */
export function seedOf(answer) {
  return /"seed"\s*:\s*(\d+)/.exec(answer.text ?? "")?.[1] ?? String(answer.data?.seed ?? "");
}

/**
 * The request fields a problem names: `event.home_rating: must be …`, `Invalid request:
 * event: missing field \`away_rating\``, `event_id, event: one of them is required`.
 */
export function problemFields(problem) {
  const match = /^(?:Invalid request: )?([a-z_][a-z0-9_.]*(?:, [a-z_][a-z0-9_.]*)*): (.+)$/s.exec(
    problem?.detail ?? "",
  );
  if (!match) return { paths: [], message: "" };
  const missing = /missing field `([a-z_]+)`/.exec(match[2]);
  const paths = match[1].split(", ").map((path) => (missing ? `${path}.${missing[1]}` : path));
  return { paths, message: match[2] };
}
