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

  /* The amputation levels: the records' one list, which the console's patient form offers too. */
  async function levels() {
    const select = document.getElementById("add-level");
    for (const level of await api("/api/amputation-levels")) {
      select.append(el("option", { value: level.key, text: level.label }));
    }
  }

  /* Trials recorded with no patient: choose the patient and one of their sessions (or a new
     one at the trial's time), then assign. */
  async function loadUnassigned() {
    const trials = await api("/api/unassigned-trials");
    const card = document.getElementById("unassigned");
    card.hidden = !trials.length;
    document.getElementById("unassigned-count").textContent = `${trials.length}`;
    if (!trials.length) return;
    const patients = (await api("/api/patients?limit=200")).items;
    const rows = trials.map((t) => {
      const patient = el("select", { "aria-label": `Patient for trial ${t.id}`, class: "assign-patient" },
        el("option", { value: "" }, "Choose a patient"),
        ...patients.map((p) => el("option", { value: p.id }, `${p.name} (${p.identifier})`)));
      const session = el("select", { "aria-label": `Session for trial ${t.id}`, class: "assign-session", disabled: true },
        el("option", { value: "" }, "New session at the trial's time"));
      patient.addEventListener("change", async () => {
        session.replaceChildren(el("option", { value: "" }, "New session at the trial's time"));
        session.disabled = !patient.value;
        if (!patient.value) return;
        const visits = (await api(`/api/patients/${patient.value}`)).sessions;
        session.append(...visits.map((v) => el("option", { value: v.id }, `#${v.id}, ${moment(v.started_at)}`)));
      });
      const assign = el("button", { class: "button button-primary", type: "button",
        "data-trial-id": t.id, onclick: async () => {
          const error = document.getElementById("unassigned-error");
          error.textContent = "";
          if (!patient.value) { error.textContent = `Choose the patient of trial ${t.id}.`; return; }
          const body = session.value ? { session_id: Number(session.value) } : { patient_id: Number(patient.value) };
          try {
            await api(`/api/unassigned-trials/${t.id}/assign`, { method: "POST", body });
            await Promise.all([loadUnassigned(), load()]);
          } catch (exc) { error.textContent = exc.message; }
        } }, "Assign");
      return el("tr", { "data-trial-id": t.id },
        el("td", { text: `#${t.id}` }), el("td", { text: moment(t.started_at) }),
        el("td", { text: words(t.exercise) }),
        el("td", { class: "num", text: t.metrics ? t.metrics.step_count : "–" }),
        el("td", {}, patient), el("td", {}, session), el("td", {}, assign));
    });
    document.querySelector("#unassigned-table tbody").replaceChildren(...rows);
  }

  load();
  loadUnassigned().catch((exc) => { document.getElementById("unassigned-error").textContent = exc.message; });
  levels().catch((exc) => { document.getElementById("add-error").textContent = exc.message; });
})();
