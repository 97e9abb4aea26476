// A candidate's page: profile, CV upload, applications with their status (kept current by
// the live feed).
import { api } from "./api.js";
import { field, formData, h, setStatus, show } from "./dom.js";
import { onLiveEvent } from "./live.js";

const MAX_CV_BYTES = 16 * 1024 * 1024;

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function applicationRows(applications) {
  if (!applications.length) return [h("li", {}, "No applications yet.")];
  return applications.map((a) => h("li", { class: "card", dataset: { applicationId: a.id } },
    h("strong", {}, a.job ? a.job.title : `Job ${a.job_id}`), " ",
    h("span", { class: "badge", dataset: { status: a.status } }, a.status)));
}

async function refreshApplications(list) {
  const data = await api.get("/api/applications");
  list.replaceChildren(...applicationRows(data.applications || []));
}

function profileForm(profile) {
  const form = h("form", { class: "stack", "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "Profile"),
    field("Headline", h("input", { name: "headline", value: profile.headline || "" })),
    field("Location", h("input", { name: "location", value: profile.location || "" })),
    field("Skills (comma separated)", h("input", { name: "skills",
      value: (profile.skills || []).join(", ") })),
    h("div", {}, h("button", { type: "submit" }, "Save profile")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    try {
      await api.put("/api/candidates/profile", { headline: data.headline, location: data.location,
        skills: data.skills.split(",").map((s) => s.trim()).filter(Boolean) });
      setStatus("Profile saved.");
    } catch (error) {
      setStatus(error.message, true);
    }
  });
  return form;
}

function uploadForm(documents) {
  const input = h("input", { name: "cv", type: "file", accept: ".pdf,.doc,.docx,.txt", required: true });
  const form = h("form", { class: "stack", "aria-labelledby": "cv-title" },
    h("h2", { id: "cv-title" }, "CV"), field("CV file (PDF, Word or text)", input),
    h("div", {}, h("button", { type: "submit" }, "Upload CV")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    if (file.size > MAX_CV_BYTES) { setStatus("The file is larger than 16 MB.", true); return; }
    try {
      const body = await api.post("/api/documents", { document_type: "resume", title: file.name,
        filename: file.name, content_type: file.type || "text/plain",
        content: base64(await file.arrayBuffer()) });
      documents.append(h("li", {}, body.document.filename));
      setStatus("CV uploaded.");
    } catch (error) {
      setStatus(error.message, true);
    }
  });
  return form;
}

export async function candidateView() {
  const list = h("ul", { class: "plain", id: "applications" });
  const documents = h("ul", { id: "documents" });
  show(h("h1", {}, "My applications"), list, h("div", { class: "layout" },
    h("div", {}, uploadForm(documents), documents), h("div", { id: "profile" })));
  onLiveEvent((event) => {
    if (event.event !== "heartbeat" && document.body.contains(list)) {
      refreshApplications(list).catch((error) => setStatus(error.message, true));
    }
  });
  await refreshApplications(list);
  const [profile, docs] = await Promise.all([api.get("/api/candidates/profile"),
    api.get("/api/documents")]);
  document.getElementById("profile").replaceChildren(profileForm(profile.profile || {}));
  documents.replaceChildren(...(docs.documents || []).map((d) => h("li", {}, d.filename)));
}
