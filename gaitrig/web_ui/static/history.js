/*
 * Shared helpers of the clinic-records pages: the REST API (through rest.js), formatting, and
 * uPlot charts.
 * Plain JavaScript, no build step; uPlot is vendored in /static/vendor/uplot (1.6.31, MIT).
 */
"use strict";

const History = (() => {
  /* GET by default; `options.method` and `options.body` (sent as JSON) as for rest.js. */
  function api(path, options = {}) {
    return GaitRest.api(options.method || "GET", path, options.body);
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function number(value, digits = 1) {
    return value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(digits);
  }

  function day(iso) { return iso ? iso.slice(0, 10) : "–"; }
  function moment(iso) { return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : "–"; }
  function words(text) { return text ? String(text).replaceAll("_", " ") : "–"; }

  let guide = null;
  async function metricGuide() {
    if (!guide) guide = await api("/api/metric-guide");
    return guide;
  }

  /* A uPlot line chart in `container`; series: [{label, values, color, width, dash, points}];
     xRange: [min, max] of the x axis (default: the data's). */
  function lineChart(container, { x, series, xLabel, yLabel, time = false, height = 220, xRange }) {
    container.replaceChildren();
    const width = Math.max(280, container.clientWidth || 360);
    const options = {
      width, height,
      scales: { x: xRange ? { time, range: xRange } : { time } },
      legend: { show: series.length > 1 },
      axes: [{ label: xLabel, size: 44 }, { label: yLabel, size: 56 }],
      series: [{ label: xLabel }, ...series.map((s) => ({
        label: s.label, stroke: s.color, width: s.width || 2, dash: s.dash,
        spanGaps: !!s.spanGaps,
        points: { show: s.points !== undefined ? s.points : false, size: 8, fill: s.color },
      }))],
      cursor: { drag: { x: true, y: false } },
    };
    const chart = new uPlot(options, [x, ...series.map((s) => s.values)], container);
    new ResizeObserver(() => {
      const w = Math.max(280, container.clientWidth);
      if (Math.abs(w - chart.width) > 4) chart.setSize({ width: w, height });
    }).observe(container);
    return chart;
  }

  function downloadLink(href, label, id) {
    return el("a", { class: "button button-small", href, download: "", id }, `⬇ ${label}`);
  }

  /* A <dl> of [label, value] pairs. */
  function renderFacts(list, rows) {
    list.replaceChildren(...rows.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
  }

  /* Notes, newest as given, each with its author, time and pain entry. */
  function renderNotes(box, notes) {
    box.replaceChildren(...notes.map((n) => el("li", { "data-note-id": n.id },
      el("small", { text: `${moment(n.created_at)} · ${n.author_role}` }), " ",
      n.pain_score === null ? null : el("span", { class: "pain" },
        `pain ${n.pain_score}/10${n.pain_location ? " · " + n.pain_location : ""}`),
      el("div", { text: n.text }))));
    if (!notes.length) box.append(el("li", { class: "muted", text: "No notes yet." }));
  }

  /* A form's non-empty fields as a JSON body; the names in `numbers` as numbers. */
  function formBody(form, numbers = []) {
    const body = {};
    for (const [key, value] of new FormData(form).entries()) {
      if (value !== "") body[key] = numbers.includes(key) ? Number(value) : value;
    }
    return body;
  }

  function pathId(position) {
    const parts = location.pathname.split("/").filter(Boolean);
    return Number(parts[position]);
  }

  return { api, el, number, day, moment, words, metricGuide, lineChart, downloadLink, pathId,
           renderFacts, renderNotes, formBody };
})();

/* Each body cell of a records table gets its column's heading as data-label, kept up to date as
   the pages fill their tables, so that a narrow screen shows each row as a card of labelled
   values instead of a table wider than the screen (history.css). */
(() => {
  function labelCells(table) {
    const heads = [...table.querySelectorAll("thead th")].map(
      (th) => th.textContent.replace(/\s+/g, " ").trim());
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        [...row.cells].forEach((cell, index) => {
          const label = cell.colSpan === 1 ? heads[index] || "" : "";
          if (label && cell.dataset.label !== label) cell.dataset.label = label;
        });
      }
    }
  }
  for (const table of document.querySelectorAll("table.records")) {
    labelCells(table);
    new MutationObserver(() => labelCells(table)).observe(table, { childList: true, subtree: true,
                                                                   characterData: true });
  }
})();
