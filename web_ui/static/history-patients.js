/* The patient list: search as you type, one page of 25 at a time, register a patient. */
"use strict";

(() => {
  const { api, el, day, moment, words } = History;
  const PAGE = 25;
  const search = document.getElementById("patient-search");
  const body = document.querySelector("#patient-table tbody");
  let offset = 0;
  let asked = 0;

  async function load() {
    const ticket = ++asked;
    const params = new URLSearchParams({ q: search.value.trim(), limit: PAGE, offset });
    const page = await api(`/api/patients?${params}`);
    if (ticket !== asked) return; // a newer search is on its way
    document.getElementById("patient-count").textContent =
      `${page.total} ${page.total === 1 ? "patient" : "patients"}`;
    body.replaceChildren(...page.items.map((p) => el("tr", {
      class: "link", "data-patient-id": p.id,
      onclick: () => { location.href = `/history/patients/${p.id}`; },
    },
      el("td", {}, el("a", { href: `/history/patients/${p.id}` }, p.name)),
      el("td", { text: p.identifier }),
      el("td", { text: day(p.date_of_birth) }),
      el("td", { text: p.amputation_side ? `${p.amputation_side}, ${words(p.amputation_level)}` : "–" }),
      el("td", { class: "num", text: p.session_count }),
      el("td", { text: moment(p.last_session_at) }))));
    if (!page.items.length) {
      body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 6 }, "No patient matches.")));
    }
    const pager = document.getElementById("pager");
    pager.replaceChildren();
    if (offset > 0) pager.append(el("button", { class: "button", onclick: () => { offset -= PAGE; load(); } }, "← Previous"));
    if (offset + PAGE < page.total) pager.append(el("button", { class: "button", onclick: () => { offset += PAGE; load(); } }, "Next →"));
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { offset = 0; load(); }, 200);
  });

  document.getElementById("add-patient").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("add-error");
    error.textContent = "";
    try {
      const body = History.formBody(event.target, ["body_mass_kg"]);
      const patient = await api("/api/patients", { method: "POST", body });
      location.href = `/history/patients/${patient.id}`;
    } catch (exc) {
      error.textContent = exc.message;
    }
  });

  load();
})();
