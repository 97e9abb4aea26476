// The REST API under the page's own origin. Tokens live in this module's memory only (never in
// storage a script injected later could read); a reload signs the user out.
let session = null; // {user, access_token, refresh_token}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `Request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

export function currentUser() {
  return session ? session.user : null;
}

export function signedIn() {
  return session !== null;
}

async function send(method, path, body, retry = true) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session) headers.authorization = `Bearer ${session.access_token}`;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (response.status === 401 && session && retry && await refresh()) {
    return send(method, path, body, false);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function refresh() {
  try {
    const data = await send("POST", "/api/auth/refresh",
      { refresh_token: session.refresh_token }, false);
    session = { ...session, access_token: data.access_token,
      refresh_token: data.refresh_token || session.refresh_token };
    return true;
  } catch {
    session = null;
    return false;
  }
}

export const api = {
  get: (path) => send("GET", path),
  post: (path, body = {}) => send("POST", path, body),
  put: (path, body = {}) => send("PUT", path, body),
};

export async function signIn(email, password) {
  session = null;
  const data = await api.post("/api/auth/login", { email, password });
  session = { user: data.user, access_token: data.access_token, refresh_token: data.refresh_token };
  return session.user;
}

export async function signUp(fields) {
  session = null;
  const data = await api.post("/api/auth/register", fields);
  session = { user: data.user, access_token: data.access_token, refresh_token: data.refresh_token };
  return session.user;
}

export async function signOut() {
  if (!session) return;
  try {
    await api.post("/api/auth/logout", { refresh_token: session.refresh_token });
  } finally {
    session = null;
  }
}
