// Notifications, newest first; the live feed adds new ones as they arrive.
import { api } from "./api.js";
import { h, show } from "./dom.js";
import { onLiveEvent } from "./live.js";

function item(n) {
  return h("li", { class: "card", dataset: { notificationId: n.id } },
    h("strong", {}, n.title), h("span", {}, n.message));
}

export async function notificationsView() {
  const list = h("ul", { class: "plain", id: "notifications" });
  show(h("h1", {}, "Notifications"), list);
  onLiveEvent((event) => {
    if (event.event === "created" && event.notification && document.body.contains(list)) {
      list.prepend(item(event.notification));
    }
  });
  const data = await api.get("/api/notifications");
  list.replaceChildren(...(data.notifications || []).map(item));
}
