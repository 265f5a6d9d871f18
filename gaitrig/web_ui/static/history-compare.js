/* Two trials side by side ("week one vs week four"): their metrics with the change and which way
   is better, and each foot's load through the step, every step faint and the mean step bold. */
"use strict";

(() => {
  const { api, el, number, day, words, lineChart } = History;
  const query = new URLSearchParams(location.search);
  const ids = [Number(query.get("a")), Number(query.get("b"))];
  const COLORS = ["#8a98a8", "#0b6bcb"];

  function title(trial) { return `Trial ${trial.id} · ${day(trial.started_at)}`; }

  function verdict(metric, a, b) {
    if (a === null || b === null || a === undefined || b === undefined) return "";
    const closer = (target) => (Math.abs(b - target) < Math.abs(a - target) ? "better" : Math.abs(b - target) > Math.abs(a - target) ? "worse" : "");
    switch (metric.better) {
      case "higher": return b > a ? "better" : b < a ? "worse" : "";
      case "lower": return b < a ? "better" : b > a ? "worse" : "";
      case "closer to 50": return closer(50);
      case "closer to 0": return closer(0);
      default: return "";
    }
  }

  async function metricsTable(trials) {
    const guide = (await History.metricGuide()).filter((g) => g.key !== "pain_score_max");
    const extra = [{ key: "step_count", label: "Steps", unit: "", better: "", explanation: "Steps recorded in the trial.", digits: 0 },
                   { key: "duration_s", label: "Duration", unit: "s", better: "", explanation: "How long the trial lasted.", digits: 0 }];
    const rows = [...guide, ...extra].map((metric) => {
      const [a, b] = trials.map((t) => (t.metrics ? t.metrics[metric.key] : null));
      const change = a !== null && b !== null && a !== undefined && b !== undefined ? b - a : null;
      const mark = verdict(metric, a, b);
      const digits = metric.digits === undefined ? 1 : metric.digits;
      return el("tr", { "data-metric": metric.key },
        el("td", {}, el("strong", { text: metric.label }), " ", el("small", { text: metric.unit })),
        el("td", { class: "num", "data-trial": "a", text: number(a, digits) }),
        el("td", { class: "num", "data-trial": "b", text: number(b, digits) }),
        el("td", { class: `num ${mark}`, text: change === null ? "–" : `${change > 0 ? "+" : ""}${number(change, digits)}${mark ? (mark === "better" ? " ✓" : " ✗") : ""}` }),
        el("td", { class: "muted", text: metric.explanation }));
    });
    document.querySelector("#compare-table tbody").replaceChildren(...rows);
  }

  function overlay(side, curves, trials) {
    const x = curves[0].stance_pct;
    const series = [];
    curves.forEach((c, i) => {
      for (const step of c.steps_pct_bw) {
        series.push({ label: `${title(trials[i])} step`, values: step, color: COLORS[i] + "40", width: 1 });
      }
    });
    curves.forEach((c, i) => {
      series.push({ label: `${title(trials[i])} mean`, values: c.mean_pct_bw.length ? c.mean_pct_bw : x.map(() => null), color: COLORS[i], width: 3 });
    });
    const box = document.getElementById(`overlay-${side}`);
    box.dataset.steps = curves.map((c) => c.steps_pct_bw.length).join(",");
    const chart = lineChart(box, { x, xLabel: "% of stance", yLabel: "% BW", series, height: 280 });
    chart.root.querySelector(".u-legend")?.remove(); // the legend below says it once per trial
    document.getElementById(`legend-${side}`).replaceChildren(...curves.map((c, i) => el("span", {},
      el("span", { class: "key", style: `background:${COLORS[i]}` }),
      `${title(trials[i])}: ${c.steps_pct_bw.length} steps (mean bold)`)));
  }

  async function main() {
    try {
      const trials = await Promise.all(ids.map((id) => api(`/api/trials/${id}`)));
      document.getElementById("head-a").textContent = title(trials[0]);
      document.getElementById("head-b").textContent = title(trials[1]);
      document.getElementById("compare-subtitle").textContent =
        `${words(trials[0].exercise)} · ${trials[0].footwear || "footwear not recorded"} / ${trials[1].footwear || "footwear not recorded"}`;
      const differences = [];
      if (trials[0].exercise !== trials[1].exercise) {
        differences.push(`different exercises (${words(trials[0].exercise)} / ${words(trials[1].exercise)})`);
      }
      if ((trials[0].footwear || "") !== (trials[1].footwear || "")) {
        differences.push(`different shoes (${trials[0].footwear || "not recorded"} / ${trials[1].footwear || "not recorded"}): footwear changes the prosthesis' alignment`);
      }
      const warning = document.getElementById("compare-warning");
      warning.textContent = differences.length
        ? `Compare with care: ${differences.join("; ")}.` : "";
      if (trials[0].patient_id) document.getElementById("back-to-patient").href = `/history/patients/${trials[0].patient_id}`;
      await metricsTable(trials);
      for (const side of ["prosthetic", "sound"]) {
        const curves = await Promise.all(ids.map((id) => api(`/api/trials/${id}/stance-curves?side=${side}`)));
        overlay(side, curves, trials);
      }
      document.getElementById("compare-page").dataset.loaded = "true";
    } catch (exc) {
      document.getElementById("page-error").textContent = exc.message;
    }
  }
  main();
})();
