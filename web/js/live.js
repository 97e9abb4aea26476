// The live notification feed: EventSource cannot send an Authorization header, so each
// connection first gets a one-time ticket (POST /api/notifications/stream-ticket).
import { api, signedIn } from "./api.js";

let source = null;
let listeners = [];
let retryDelay = 1000;

export function onLiveEvent(listener) {
  listeners.push(listener);
}

export function clearLiveListeners() {
  listeners = [];
}

export async function openLiveFeed() {
  closeLiveFeed();
  if (!signedIn()) return;
  const { ticket } = await api.post("/api/notifications/stream-ticket");
  const feed = new EventSource(`/api/notifications/stream?ticket=${encodeURIComponent(ticket)}`);
  source = feed;
  feed.onmessage = (message) => {
    retryDelay = 1000;
    const event = JSON.parse(message.data);
    document.body.dataset.liveFeed = "open";
    for (const listener of listeners) listener(event);
  };
  feed.onerror = () => {
    // A ticket opens one connection: reconnect with a fresh one, backing off.
    if (source !== feed) return;
    feed.close();
    document.body.dataset.liveFeed = "closed";
    setTimeout(() => { if (source === feed) openLiveFeed().catch(() => {}); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  };
}

export function closeLiveFeed() {
  if (source) source.close();
  source = null;
  delete document.body.dataset.liveFeed;
}
