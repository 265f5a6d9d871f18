/* A patient's page: who they are, progress charts across sessions, sessions, notes, and the
   choice of two trials to compare. */
"use strict";

(() => {
  const { api, el, number, day, moment, words, lineChart, downloadLink, pathId } = History;
  const patientId = pathId(2);

  function facts(detail) {
    const p = detail.patient;
    const current = detail.components.filter((c) => !c.removed_on);
    const rows = [
      ["Record no.", p.identifier], ["Born", day(p.date_of_birth)],
      ["Amputation", p.amputation_side ? `${p.amputation_side}, ${words(p.amputation_level)}` : "–"],
      ["Cause", p.amputation_cause || "–"], ["Body mass", `${number(detail.current_body_mass_kg)} kg`],
      ["Prosthesis", current.map((c) => `${c.kind}: ${c.description}`).join("; ") || "–"],
    ];
    History.renderFacts(document.getElementById("patient-facts"), rows);
  }

  /* Line colours per exercise (the progress PDF uses the same, rig/reports.py). */
  const EXERCISE_COLOURS = { walking: "#0b6bcb", partial_weight_bearing: "#c2410c",
    quiet_standing: "#15803d", weight_shift: "#7e22ce", sit_to_stand: "#a16207" };

  /* A chart per metric, one line per exercise it was measured in (detail.progress_series: the
     server takes each metric only from the exercises it belongs to). */
  async function progress(allSeries, sessionPoints) {
    const guide = await History.metricGuide();
    const box = document.getElementById("progress-charts");
    box.replaceChildren();
    // every chart on the same time axis: each session, oldest first (a day either side of one)
    const x = sessionPoints.map((p) => Date.parse(p.started_at) / 1000);
    const xRange = x.length === 1 ? [x[0] - 86400, x[0] + 86400] : undefined;
    for (const metric of guide) {
      const lines = allSeries.filter((s) => s.metric === metric.key && s.points.length);
      const shown = lines.reduce((n, s) => n + s.points.length, 0);
      const name = (s) => (s.exercise === null ? "per session" : words(s.exercise));
      const from = lines.length ? el("p", { class: "chart-from" }, "From: ", ...lines.map((s, i) =>
        el("span", { "data-exercise": s.exercise || "", "data-points": s.points.length },
          `${i ? ", " : ""}${name(s)} (${s.points.length} session${s.points.length === 1 ? "" : "s"})`)))
        : el("p", { class: "chart-from muted", text: `From: ${metric.exercises.length
          ? metric.exercises.map(words).join(", ") : "the session notes"}` });
      const chart = el("div", { class: "chart" });
      const card = el("figure", { class: "chart-card", "data-metric": metric.key, "data-points": shown,
        "data-exercises": lines.map((s) => s.exercise || "").join(",") },
        el("h3", {}, `${metric.label} `, el("small", { text: `${metric.unit} · ${metric.better} is better` })),
        el("p", { text: metric.explanation }), from, chart);
      box.append(card);
      if (!shown) { chart.append(el("div", { class: "chart-empty", text: "No measurements yet." })); continue; }
      const series = lines.map((s) => {
        const at = new Map(s.points.map((p) => [Date.parse(p.started_at) / 1000, p.value]));
        return { label: name(s), values: x.map((t) => (at.has(t) ? at.get(t) : null)),
          color: EXERCISE_COLOURS[s.exercise] || "#0b6bcb", points: true, spanGaps: true };
      });
      lineChart(chart, { x, xRange, time: true, xLabel: "session", yLabel: metric.unit, series });
    }
  }

  function sessions(list) {
    const body = document.querySelector("#session-table tbody");
    body.replaceChildren(...list.map((s) => el("tr", { class: "link", "data-session-id": s.id,
      onclick: () => { location.href = `/history/sessions/${s.id}`; } },
      el("td", {}, el("a", { href: `/history/sessions/${s.id}` }, moment(s.started_at))),
      el("td", { text: moment(s.ended_at) }), el("td", { class: "num", text: s.trial_count }),
      el("td", { text: s.rig_id }))));
    if (!list.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: 4 }, "No sessions yet.")));
  }

  function notes(list) { History.renderNotes(document.getElementById("patient-notes"), list); }


  function bodyAndProsthesis(detail) {
    document.querySelector("#mass-table tbody").replaceChildren(...[...detail.body_masses].reverse().map((b) =>
      el("tr", {}, el("td", { text: day(b.measured_on) }), el("td", { class: "num", text: number(b.mass_kg) }))));
    document.querySelector("#component-table tbody").replaceChildren(...detail.components.map((c) =>
      el("tr", {}, el("td", { text: c.kind }), el("td", { text: c.description }),
        el("td", { text: day(c.fitted_on) }), el("td", { text: day(c.removed_on) }))));
  }

  /* A form that posts its non-empty fields to `path`, then reloads the patient. */
  function postForm(id, path, numbers = []) {
    document.getElementById(id).addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("body-error");
      error.textContent = "";
      try {
        await api(path, { method: "POST", body: History.formBody(event.target, numbers) });
        event.target.reset();
        const detail = await api(`/api/patients/${patientId}`);
        facts(detail);
        bodyAndProsthesis(detail);
      } catch (exc) {
        error.textContent = exc.message;
      }
    });
  }
  postForm("mass-form", `/api/patients/${patientId}/body-masses`, ["mass_kg"]);
  postForm("component-form", `/api/patients/${patientId}/components`);

  /* Compliance with vs without the display's step feedback (issue 13): each trial with judged
     steps, and the steps of all of them pooled. */
  function fadingTable(trials) {
    const body = document.querySelector("#fading-table tbody");
    const judged = trials.filter((t) => ((t.metrics || {}).summary || {}).compliance?.all?.steps);
    const pooled = { with_feedback: [0, 0], without_feedback: [0, 0] };
    const cell = (part) => (part && part.steps ? `${part.pct_in_band.toFixed(0)} % (${part.steps})` : "–");
    const rows = judged.map((t) => {
      const c = t.metrics.summary.compliance;
      for (const key of Object.keys(pooled)) {
        pooled[key][0] += (c[key] || {}).in_band || 0;
        pooled[key][1] += (c[key] || {}).steps || 0;
      }
      const fb = c.feedback || {};
      return el("tr", { "data-trial-id": t.id },
        el("td", { text: `Trial ${t.id} · ${day(t.started_at)} · ${words(t.exercise)}` }),
        el("td", { text: fb.mode === "faded" ? `faded, every ${fb.fade_every_n}.` : (fb.mode || "full") }),
        el("td", { class: "num", text: cell(c.with_feedback) }),
        el("td", { class: "num", text: cell(c.without_feedback) }));
    });
    const total = (key) => cell({ steps: pooled[key][1], pct_in_band: 100 * pooled[key][0] / (pooled[key][1] || 1) });
    if (judged.length) {
      rows.push(el("tr", { class: "total", "data-total": "true" }, el("td", { text: "All trials" }), el("td", { text: "" }),
        el("td", { class: "num", text: total("with_feedback") }), el("td", { class: "num", text: total("without_feedback") })));
    } else {
      rows.push(el("tr", { class: "empty" }, el("td", { colspan: 4 }, "No trial with judged steps.")));
    }
    body.replaceChildren(...rows);
  }

  function compareChoices(trials) {
    const label = (t) => `Trial ${t.id} · ${day(t.started_at)} · ${words(t.exercise)}`;
    for (const [id, pick] of [["compare-a", 0], ["compare-b", trials.length - 1]]) {
      const select = document.getElementById(id);
      select.replaceChildren(...trials.map((t) => el("option", { value: t.id, text: label(t) })));
      if (trials.length) select.value = String(trials[pick].id);
    }
    document.getElementById("compare-go").disabled = trials.length < 2;
  }

  document.getElementById("compare-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const a = document.getElementById("compare-a").value;
    const b = document.getElementById("compare-b").value;
    location.href = `/history/compare?a=${a}&b=${b}`;
  });

  async function main() {
    try {
      const [detail, trials] = await Promise.all([
        api(`/api/patients/${patientId}`), api(`/api/patients/${patientId}/trials`)]);
      document.title = `${detail.patient.name} – gaitrig`;
      document.getElementById("patient-name").textContent = detail.patient.name;
      document.getElementById("page-title").textContent = `Clinic records · ${detail.patient.name}`;
      document.getElementById("patient-downloads").replaceChildren(
        downloadLink(`/api/patients/${patientId}/report.pdf`, "Progress report (PDF)", "download-patient-report"));
      facts(detail);
      bodyAndProsthesis(detail);
      sessions(detail.sessions);
      notes(detail.notes);
      compareChoices(trials);
      fadingTable(trials);
      await progress(detail.progress_series, detail.progress);
      document.getElementById("patient-page").dataset.loaded = "true";
    } catch (exc) {
      document.getElementById("page-error").textContent = exc.message;
    }
  }
  main();
})();
