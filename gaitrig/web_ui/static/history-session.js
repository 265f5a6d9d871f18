/* A session: its trials (metrics, downloads), a replay of one trial's loads and centres of
   pressure, and its notes (add a note or a pain entry). */
"use strict";

(() => {
  const { api, el, number, moment, words, lineChart, downloadLink, pathId } = History;
  const sessionId = pathId(2);
  const LOADS = [["left_foot_pct_bw", "Left foot", "#2f6db0"], ["right_foot_pct_bw", "Right foot", "#b0562f"],
                 ["left_bar_pct_bw", "Left bar", "#8fb3d9"], ["right_bar_pct_bw", "Right bar", "#d9a98f"]];
  const FOOT_LENGTH_MM = 280;
  let patientId = null;
  let replay = null;

  function facts(detail) {
    const rows = [["Patient", detail.patient.name], ["Record no.", detail.patient.identifier],
                  ["Started", moment(detail.session.started_at)], ["Ended", moment(detail.session.ended_at)],
                  ["Therapist", detail.clinician ? detail.clinician.name : "–"], ["Rig", detail.session.rig_id],
                  ["Session notes", detail.session.notes || "–"]];
    History.renderFacts(document.getElementById("session-facts"), rows);
  }

  function trials(list) {
    const body = document.querySelector("#trial-table tbody");
    body.replaceChildren(...list.map((t) => {
      const m = t.metrics || {};
      const base = `/api/trials/${t.id}/export`;
      return el("tr", { "data-trial-id": t.id },
        el("td", { text: `${t.id} · ${moment(t.started_at).slice(11)}` }), el("td", { text: words(t.exercise) }),
        el("td", { text: t.footwear || "–" }), el("td", { class: "num", text: m.step_count ?? "–" }),
        el("td", { class: "num", text: number(m.prosthetic_load_share_pct) }),
        el("td", { class: "num", text: number(m.stance_time_symmetry_index_pct) }),
        el("td", { class: "num", text: number(m.bar_reliance_mean_pct_bw) }),
        el("td", { class: "num", text: number(m.cadence_steps_per_min) }),
        el("td", { class: "feedback-mode", text: fading(m.summary) }),
        el("td", {}, el("div", { class: "buttons" },
          el("button", { class: "button button-small button-primary", type: "button", onclick: () => startReplay(t) }, "▶ Replay"),
          downloadLink(`${base}/steps.csv`, "Steps CSV", `download-steps-${t.id}`),
          downloadLink(`${base}/raw.csv?role=insole_left`, "Raw left", null),
          downloadLink(`${base}/raw.csv?role=insole_right`, "Raw right", null),
          downloadLink(`${base}/raw.csv?role=bars`, "Raw bars", null),
          downloadLink(`${base}/trial.c3d`, "C3D", `download-c3d-${t.id}`))));
    }));
    if (!list.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: 10 }, "No trials in this session.")));
  }

  /* A trial's feedback fading and its steps in band with / without feedback (issue 13). */
  function fading(summary) {
    const c = (summary || {}).compliance;
    if (!c || !c.all || !c.all.steps) return "–";
    const fb = c.feedback || {};
    const mode = fb.mode === "faded" ? `faded, every ${fb.fade_every_n}.` : (fb.mode || "full");
    const pct = (part) => (part && part.steps ? `${part.pct_in_band.toFixed(0)} %` : "–");
    return `${mode}: ${pct(c.with_feedback)} / ${pct(c.without_feedback)}`;
  }

  function notes(list) { History.renderNotes(document.getElementById("session-notes"), list); }

  /* Each trial's own figures (by exercise) and a quiet standing's sway ellipse. */
  async function results(list) {
    const holder = document.getElementById("trial-results");
    holder.replaceChildren(...list.map((t) => el("div", { class: "trial-results", "data-trial-id": t.id },
      el("h3", { text: `Trial ${t.id} · ${words(t.exercise)}` }), el("div", { class: "figures" }))));
    if (!list.length) holder.append(el("p", { text: "No trials in this session." }));
    for (const t of list) {
      const box = holder.querySelector(`.trial-results[data-trial-id="${t.id}"] .figures`);
      const r = await api(`/api/trials/${t.id}/results`);
      if (r.analysed) GaitResults.render(box, r);
      else box.textContent = "Not analysed.";
    }
    holder.dataset.loaded = "true";
  }


  /* -- replay ---------------------------------------------------------------------------- */

  function drawCop(index) {
    const canvas = document.getElementById("cop-view");
    const g = canvas.getContext("2d");
    const { curves } = replay;
    g.clearRect(0, 0, canvas.width, canvas.height);
    const feet = [["left", 70, "#2f6db0"], ["right", 190, "#b0562f"]];
    const scale = (canvas.height - 40) / FOOT_LENGTH_MM;
    const readout = [];
    for (const [foot, cx, color] of feet) {
      const heel = canvas.height - 20;
      g.strokeStyle = "#9aa8b6"; g.lineWidth = 2;
      g.beginPath(); g.ellipse(cx, heel - (FOOT_LENGTH_MM * scale) / 2, 38, (FOOT_LENGTH_MM * scale) / 2, 0, 0, 2 * Math.PI); g.stroke();
      const xs = curves.series[`${foot}_cop_x_mm`] || [];
      const ys = curves.series[`${foot}_cop_y_mm`] || [];
      g.fillStyle = color;
      for (let k = Math.max(0, index - 60); k <= index; k++) { // a short trail, then the point
        if (xs[k] === null || ys[k] === null || xs[k] === undefined) continue;
        const r = k === index ? 8 : 2;
        g.globalAlpha = k === index ? 1 : 0.35;
        g.beginPath(); g.arc(cx + xs[k] * scale, heel - ys[k] * scale, r, 0, 2 * Math.PI); g.fill();
      }
      g.globalAlpha = 1;
      const load = curves.series[`${foot}_foot_pct_bw`];
      readout.push(`${foot}: ${number(load ? load[index] : null)} % BW`);
    }
    document.getElementById("replay-readout").textContent = readout.join(" · ");
  }

  function seek(timeS) {
    const t = replay.curves.time_s;
    let index = 0;
    while (index + 1 < t.length && t[index + 1] <= timeS) index++;
    document.getElementById("replay-time").value = String(timeS);
    document.getElementById("replay-clock").textContent = `${number(timeS)} s`;
    replay.chart.setCursor({ left: replay.chart.valToPos(t[index], "x"), top: 10 });
    drawCop(index);
  }

  function tick(now) {
    if (!replay.playing) return;
    const end = replay.curves.time_s[replay.curves.time_s.length - 1];
    const timeS = Math.min(end, replay.offsetS + (now - replay.startedMs) / 1000);
    seek(timeS);
    if (timeS >= end) { setPlaying(false); return; }
    requestAnimationFrame(tick);
  }

  function setPlaying(on) {
    replay.playing = on;
    document.getElementById("replay-play").textContent = on ? "❚❚ Pause" : "▶ Play";
    if (on) {
      replay.offsetS = Number(document.getElementById("replay-time").value);
      const end = replay.curves.time_s[replay.curves.time_s.length - 1];
      if (replay.offsetS >= end) replay.offsetS = 0;
      replay.startedMs = performance.now();
      requestAnimationFrame(tick);
    }
  }

  async function startReplay(trial) {
    const curves = await api(`/api/trials/${trial.id}/curves?max_points=4000`);
    const card = document.getElementById("replay-card");
    card.hidden = false;
    card.dataset.trialId = trial.id;
    document.getElementById("replay-subtitle").textContent =
      `trial ${trial.id} · ${words(trial.exercise)} · ${curves.stored_rows} samples recorded`;
    if (replay) replay.playing = false;
    const series = LOADS.filter(([key]) => curves.series[key]).map(([key, label, color]) =>
      ({ label, values: curves.series[key], color, width: key.includes("foot") ? 2 : 1.5 }));
    const chart = lineChart(document.getElementById("replay-chart"),
      { x: curves.time_s, xLabel: "time (s)", yLabel: "% BW", series, height: 280 });
    replay = { curves, chart, playing: false, offsetS: 0, startedMs: 0 };
    const slider = document.getElementById("replay-time");
    slider.max = String(curves.time_s.length ? curves.time_s[curves.time_s.length - 1] : 0);
    seek(0);
    card.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  document.getElementById("replay-play").addEventListener("click", () => setPlaying(!replay.playing));
  document.getElementById("replay-time").addEventListener("input", (event) => {
    if (replay) { replay.playing = false; setPlaying(false); seek(Number(event.target.value)); }
  });

  /* -- notes ----------------------------------------------------------------------------- */

  document.getElementById("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("note-error");
    error.textContent = "";
    const body = { ...History.formBody(event.target, ["pain_score"]), session_id: sessionId };
    try {
      await api(`/api/patients/${patientId}/notes`, { method: "POST", body });
      event.target.reset();
      notes((await api(`/api/sessions/${sessionId}`)).notes);
    } catch (exc) {
      error.textContent = exc.message;
    }
  });

  async function main() {
    try {
      const detail = await api(`/api/sessions/${sessionId}`);
      patientId = detail.patient.id;
      document.title = `Session ${moment(detail.session.started_at)} – ${detail.patient.name} – gaitrig`;
      document.getElementById("session-title").textContent = `${detail.patient.name} · ${moment(detail.session.started_at)}`;
      document.getElementById("back-to-patient").href = `/history/patients/${patientId}`;
      document.getElementById("session-downloads").replaceChildren(
        downloadLink(`/api/sessions/${sessionId}/report.pdf`, "Session report (PDF)", "download-session-report"));
      facts(detail);
      trials(detail.trials);
      notes(detail.notes);
      await results(detail.trials);
      document.getElementById("session-page").dataset.loaded = "true";
    } catch (exc) {
      document.getElementById("page-error").textContent = exc.message;
    }
  }
  main();
})();
