// A company user's page: their company, its jobs, and the pipeline of applications, where
// each application moves to its next status.
import { api } from "./api.js";
import { field, formData, h, setStatus, show } from "./dom.js";
import { onLiveEvent } from "./live.js";

// The moves a company may make (hotgigs.applications.service.COMPANY_TRANSITIONS).
const NEXT = { applied: ["screening", "interviewing", "rejected"],
  screening: ["interviewing", "offered", "rejected"], interviewing: ["offered", "rejected"],
  offered: ["hired", "rejected"] };

function pipelineRow(application, reload) {
  const moves = NEXT[application.status] || [];
  const who = application.candidate
    ? `${application.candidate.first_name} ${application.candidate.last_name}` : "Candidate";
  const row = h("li", { class: "card", dataset: { applicationId: application.id } },
    h("strong", {}, who), h("span", { class: "meta" },
      application.job ? application.job.title : `Job ${application.job_id}`),
    h("span", {}, "Status: ", h("span", { class: "badge", dataset: { status: application.status } },
      application.status)));
  if (moves.length) {
    const id = `move-${application.id}`;
    const select = h("select", { id, name: "status" },
      moves.map((status) => h("option", { value: status }, status)));
    const button = h("button", { type: "button" }, "Move");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api.put(`/api/applications/${application.id}`, { status: select.value });
        setStatus(`Moved ${who} to ${select.value}.`);
        await reload();
      } catch (error) {
        button.disabled = false;
        setStatus(error.message, true);
      }
    });
    row.append(h("div", { class: "row" }, h("label", { for: id }, `Move ${who} to`), select, button));
  }
  return row;
}

function companyForm(reload) {
  const form = h("form", { class: "stack" }, h("h2", {}, "Your company"),
    field("Company name", h("input", { name: "name", required: true })),
    h("div", {}, h("button", { type: "submit" }, "Create company")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await api.post("/api/companies", formData(form)); await reload(); }
    catch (error) { setStatus(error.message, true); }
  });
  return form;
}

function jobForm(company, reload) {
  const form = h("form", { class: "stack", "aria-labelledby": "post-job" },
    h("h2", { id: "post-job" }, "Post a job"),
    field("Title", h("input", { name: "title", required: true })),
    field("Location", h("input", { name: "location", required: true })),
    field("Description (at least 50 characters)", h("textarea", { name: "description", rows: 4,
      required: true })),
    h("div", {}, h("button", { type: "submit" }, "Publish job")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    try {
      const created = await api.post("/api/jobs", { ...data, company_id: company.id,
        employment_type: "full-time", experience_level: "mid" });
      await api.post(`/api/jobs/${created.job.id}/publish`);
      setStatus("Job published.");
      await reload();
    } catch (error) {
      setStatus(error.message, true);
    }
  });
  return form;
}

export async function companyView() {
  const pipeline = h("ul", { class: "plain", id: "pipeline" });
  const jobs = h("ul", { class: "plain", id: "company-jobs" });
  const side = h("div", {});
  show(h("h1", {}, "Pipeline"), pipeline, h("h2", {}, "Open jobs"), jobs, side);
  async function reload() {
    const [{ companies }, { applications }] = await Promise.all([api.get("/api/companies"),
      api.get("/api/applications")]);
    const company = (companies || [])[0];
    side.replaceChildren(company ? jobForm(company, reload) : companyForm(reload));
    pipeline.replaceChildren(...((applications || []).length
      ? applications.map((a) => pipelineRow(a, reload)) : [h("li", {}, "No applications yet.")]));
    if (company) {
      const data = await api.get(`/api/jobs?company_id=${company.id}&limit=50`);
      jobs.replaceChildren(...(data.jobs || []).map((job) => h("li", { class: "card" }, job.title)));
    }
  }
  onLiveEvent((event) => {
    if (event.event === "created" && document.body.contains(pipeline)) reload().catch(() => {});
  });
  await reload();
}
