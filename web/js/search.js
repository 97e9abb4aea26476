// Job search: filters, facets, paging; candidates apply from the results.
import { api, currentUser } from "./api.js";
import { field, formData, h, setStatus, show } from "./dom.js";

const PAGE_SIZE = 10;
const TYPES = ["", "full-time", "part-time", "contract", "internship", "temporary"];
const LEVELS = ["", "entry", "junior", "mid", "senior", "lead", "executive"];

function options(values, selected) {
  return values.map((value) => h("option", { value, selected: value === selected },
    value || "Any"));
}

function query(filters, offset) {
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset, include_facets: "true" });
  for (const key of ["search", "location", "employment_type", "experience_level"]) {
    if (filters[key]) params.set(key, filters[key]);
  }
  if (filters.remote_only) params.set("remote_only", "true");
  return `/api/jobs?${params}`;
}

function facetList(title, counts, onPick) {
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (!entries.length) return null;
  return h("section", { class: "facets" }, h("h2", {}, title),
    h("ul", { class: "plain" }, entries.map(([value, count]) => h("li", {},
      h("button", { type: "button", onclick: () => onPick(value) }, `${value} (${count})`)))));
}

async function apply(job, button) {
  button.disabled = true;
  try {
    await api.post("/api/applications", { job_id: job.id,
      cover_letter: "I would like to apply for this role." });
    button.textContent = "Applied";
    setStatus(`Applied to ${job.title}.`);
  } catch (error) {
    button.disabled = false;
    setStatus(error.message, true);
  }
}

function jobItem(job) {
  const user = currentUser();
  const salary = job.salary_min ? `${job.salary_min}–${job.salary_max || ""} ${job.currency}` : "";
  const item = h("li", { class: "card job", dataset: { jobId: job.id } },
    h("h2", {}, job.title),
    h("p", { class: "meta" }, [job.company ? job.company.name : "", job.location,
      job.employment_type, job.experience_level, salary,
      job.remote_work_allowed ? "remote" : ""].filter(Boolean).join(" · ")));
  if (user && user.user_type === "candidate") {
    const button = h("button", { type: "button", "aria-label": `Apply to ${job.title}` }, "Apply");
    button.addEventListener("click", () => apply(job, button));
    item.append(h("div", {}, button));
  }
  return item;
}

export async function searchView(filters = {}, offset = 0) {
  const form = h("form", { class: "stack", role: "search", "aria-label": "Job search" },
    h("div", { class: "filters" },
      field("Keywords", h("input", { name: "search", type: "search", value: filters.search || "" })),
      field("Location", h("input", { name: "location", value: filters.location || "" })),
      field("Employment type", h("select", { name: "employment_type" },
        options(TYPES, filters.employment_type || ""))),
      field("Experience", h("select", { name: "experience_level" },
        options(LEVELS, filters.experience_level || "")))),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "remote_only",
      checked: Boolean(filters.remote_only) }), "Remote only"),
    h("div", {}, h("button", { type: "submit" }, "Search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    searchView(formData(form), 0);
  });
  const results = h("section", { "aria-labelledby": "results-title" },
    h("h2", { id: "results-title" }, "Searching…"));
  const facets = h("aside", { "aria-label": "Refine" });
  show(h("h1", {}, "Find a job"), form, h("div", { class: "layout" }, facets, results));
  let data;
  try {
    data = await api.get(query(filters, offset));
  } catch (error) {
    setStatus(error.message, true);
    return;
  }
  const total = data.pagination ? data.pagination.total : data.jobs.length;
  results.replaceChildren(h("h2", { id: "results-title" },
    `${total}${data.total_is_lower_bound ? "+" : ""} jobs`),
  h("ul", { class: "plain", id: "results" }, (data.jobs || []).map(jobItem)));
  const pick = (key) => (value) => searchView({ ...filters, [key]: value }, 0);
  const f = data.facets || {};
  facets.replaceChildren(...[facetList("Type", f.employment_type, pick("employment_type")),
    facetList("Experience", f.experience_level, pick("experience_level")),
    facetList("Location", f.location, pick("location"))].filter(Boolean));
  const pager = h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "secondary", disabled: offset === 0,
      onclick: () => searchView(filters, Math.max(0, offset - PAGE_SIZE)) }, "Previous"),
    h("span", {}, `${total ? offset + 1 : 0}–${offset + (data.jobs || []).length} of ${total}`),
    h("button", { type: "button", class: "secondary",
      disabled: offset + PAGE_SIZE >= total && !data.next_cursor,
      onclick: () => searchView(filters, offset + PAGE_SIZE) }, "Next"));
  results.append(pager);
  document.body.dataset.searchDone = String(Date.now());
}
