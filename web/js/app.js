// HotGigs in the browser: a hash router over the views; no build step, no framework.
import { currentUser, signOut } from "./api.js";
import { signInView, signUpView } from "./account.js";
import { candidateView } from "./candidate.js";
import { companyView } from "./company.js";
import { h, setStatus } from "./dom.js";
import { clearLiveListeners, closeLiveFeed, onLiveEvent, openLiveFeed } from "./live.js";
import { notificationsView } from "./notifications.js";
import { searchView } from "./search.js";

let unread = 0;

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash; // hashchange renders
}

function nav() {
  const user = currentUser();
  const links = [["#/search", "Jobs"]];
  if (user && user.user_type === "candidate") links.push(["#/me", "My applications"]);
  if (user && user.user_type !== "candidate") links.push(["#/company", "Pipeline"]);
  if (user) links.push(["#/notifications", `Notifications (${unread})`]);
  if (!user) links.push(["#/signin", "Sign in"], ["#/signup", "Sign up"]);
  const items = links.map(([href, text]) => h("li", {}, h("a", { href,
    "aria-current": location.hash === href ? "page" : null }, text)));
  if (user) {
    items.push(h("li", {}, h("button", { type: "button", class: "secondary", id: "sign-out",
      onclick: async () => {
        closeLiveFeed();
        await signOut();
        setStatus("Signed out.");
        go("#/search");
      } }, "Sign out")));
  }
  document.getElementById("nav").replaceChildren(...items);
}

function signedIn(user) {
  setStatus(`Signed in as ${user.first_name}.`);
  openLiveFeed().catch((error) => setStatus(error.message, true));
  go(user.user_type === "candidate" ? "#/search" : "#/company");
}

const ROUTES = {
  "#/search": () => searchView(),
  "#/signin": () => signInView(signedIn),
  "#/signup": () => signUpView(signedIn),
  "#/me": () => candidateView(),
  "#/company": () => companyView(),
  "#/notifications": () => notificationsView(),
};

async function render() {
  const route = location.hash in ROUTES ? location.hash : "#/search";
  const needsUser = ["#/me", "#/company", "#/notifications"].includes(route);
  clearLiveListeners();
  onLiveEvent((event) => {
    if (typeof event.unread_count === "number") { unread = event.unread_count; nav(); }
  });
  nav();
  if (needsUser && !currentUser()) { go("#/signin"); return; }
  try {
    await ROUTES[route]();
  } catch (error) {
    setStatus(error.message, true);
  }
  const heading = document.querySelector("main h1");
  if (heading) document.title = `${heading.textContent} · HotGigs`;
}

window.addEventListener("hashchange", () => {
  render().then(() => document.getElementById("main").focus());
});
render();
