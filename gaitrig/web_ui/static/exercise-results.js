/* A trial's exercise-specific results (GET /api/trials/{id}/results, rig/exercise_results.py):
   its figures as a definition list, and for quiet standing the CoP trace with its 95 %
   prediction ellipse as an SVG. Shared by the therapist console's summary and the session page. */
"use strict";

window.GaitResults = (function () {
  var SVG = "http://www.w3.org/2000/svg";

  function svgEl(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  /** The ellipse (centre, semi-axes, angle) and the CoP trace, ML right, AP up, equal scale. */
  function ellipsePlot(results, size) {
    var e = results.ellipse;
    var trace = results.trace || { x_mm: [], y_mm: [] };
    var a = e.angle_deg * Math.PI / 180, major = e.semi_axes_mm[0], minor = e.semi_axes_mm[1];
    var cx = e.centre_mm[0], cy = e.centre_mm[1];
    var outline = [];
    for (var k = 0; k <= 96; k++) {
      var t = 2 * Math.PI * k / 96;
      outline.push([cx + major * Math.cos(t) * Math.cos(a) - minor * Math.sin(t) * Math.sin(a),
                    cy + major * Math.cos(t) * Math.sin(a) + minor * Math.sin(t) * Math.cos(a)]);
    }
    var xs = trace.x_mm.concat(outline.map(function (p) { return p[0]; }));
    var ys = trace.y_mm.concat(outline.map(function (p) { return p[1]; }));
    var half = Math.max(Math.max.apply(null, xs) - Math.min.apply(null, xs),
                        Math.max.apply(null, ys) - Math.min.apply(null, ys)) / 2 * 1.15 || 1;
    var mx = (Math.max.apply(null, xs) + Math.min.apply(null, xs)) / 2;
    var my = (Math.max.apply(null, ys) + Math.min.apply(null, ys)) / 2;
    function px(x) { return ((x - mx) / half + 1) * size / 2; }
    function py(y) { return (1 - (y - my) / half) * size / 2; }
    function points(list) { return list.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join(" "); }
    var svg = svgEl("svg", { viewBox: "0 0 " + size + " " + size, width: size, height: size,
                             class: "sway-plot", role: "img",
                             "aria-label": "Centre of pressure with its 95 % prediction ellipse" });
    svg.appendChild(svgEl("rect", { x: 0, y: 0, width: size, height: size, fill: "none", stroke: "#c8d0d8" }));
    var cop = trace.x_mm.map(function (x, i) { return [x, trace.y_mm[i]]; });
    if (cop.length) {
      svg.appendChild(svgEl("polyline", { points: points(cop), fill: "none", stroke: "#7f7f7f",
                                          "stroke-width": 0.8, class: "sway-trace" }));
    }
    svg.appendChild(svgEl("polygon", { points: points(outline), fill: "none", stroke: "#15803d",
                                       "stroke-width": 2, class: "sway-ellipse" }));
    var label = svgEl("text", { x: 6, y: size - 6, "font-size": 11, fill: "#334" });
    label.textContent = "ML →, AP ↑ (" + (2 * half).toFixed(0) + " mm across)";
    svg.appendChild(label);
    return svg;
  }

  /** Fill ``container`` with the figures of ``results`` (and the sway plot if any). */
  function render(container, results) {
    container.replaceChildren();
    container.setAttribute("data-exercise", results.exercise);
    var list = document.createElement("dl");
    list.className = "summary-grid exercise-results";
    results.figures.forEach(function (f) {
      var div = document.createElement("div");
      div.setAttribute("data-figure", f.key);
      var dt = document.createElement("dt");
      dt.textContent = f.label;
      if (f.note) {
        var small = document.createElement("small");
        small.textContent = " " + f.note;
        dt.appendChild(small);
      }
      var dd = document.createElement("dd");
      dd.textContent = f.text;
      div.appendChild(dt);
      div.appendChild(dd);
      list.appendChild(div);
    });
    container.appendChild(list);
    if (results.ellipse) container.appendChild(ellipsePlot(results, 240));
    container.setAttribute("data-loaded", "true");
  }

  return { render: render, ellipsePlot: ellipsePlot };
})();
