/* Draws the chart specifications of a page (segtasks/ui/charts.py) with uPlot.
 * Every chart: hover for values (legend and tooltip: the value, and where the night was
 * judged its baseline, change and z), drag to zoom, double-click to reset; before any
 * hover the legend shows the last point (the latest night, the largest batch size).
 * Times are UTC, as on the pages.
 * Text from the database (run ids, reasons) is only ever set as textContent. */
(function () {
  "use strict";
  var TONES = { bad: "#c62828", warn: "#ef6c00", good: "#2e7d32", ok: "#607d8b",
                info: "#1565c0", muted: "#9e9e9e", unsure: "#b08900", disturbed: "#6a3d9a",
                outputs: "#a3187a" };
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec"];
  var DAY = 86400;
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#17becf"];
  var EVENT_COLORS = { software: "#8e24aa", level: "#00897b" };
  var charts = [];

  function fmt(v, digits, unit) {
    if (v == null) return "–";
    return v.toFixed(digits) + (unit ? " " + unit : "");
  }

  function xText(spec, v) {
    if (v == null) return "–";
    if (spec.x.kind === "time") return new Date(v * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    return spec.x.label + " " + v;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* A time tick as short as its spacing allows: "7 Dec" for days, "7 Dec 02:00" within a
   * day, "Dec 2026" for months; a tick's year is shown where it changes. Ticks less than a
   * minute apart (nights minutes apart: runs from the command line) are labelled on the
   * minute only: "02:00" under 02:00:30 would be wrong, and said twice. */
  function timeTicks(u, splits, axisIdx, space, incr) {
    var lastYear = null;
    return splits.map(function (v) {
      if (v == null) return "";
      var d = new Date(v * 1000);
      if (incr < 60 && d.getUTCSeconds() !== 0) return "";
      var year = d.getUTCFullYear();
      var text;
      if (incr >= 28 * DAY) text = MONTHS[d.getUTCMonth()] + " " + year;
      else {
        text = d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
        if (incr < DAY) text += " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
        if (lastYear !== null && year !== lastYear) text += " " + year;
      }
      lastYear = year;
      return text;
    });
  }

  /* The last x that any drawn series has a value at: what the legend shows before any
   * hover (uPlot's own legend shows "--" until then). */
  function lastIndex(spec) {
    for (var i = spec.xs.length - 1; i >= 0; i--) {
      for (var k = 0; k < spec.series.length; k++) {
        if (spec.series[k].style !== "band" && spec.series[k].values[i] != null) return i;
      }
    }
    return null;
  }

  function seriesOptions(spec) {
    var color = 0;
    var last = lastIndex(spec);
    var out = [{ label: spec.x.label, value: function (u, v, i, idx) {
      if (idx != null) return xText(spec, v);
      if (last == null) return "";
      return (spec.x.kind === "time" ? "latest, " : "") + xText(spec, spec.xs[last]);
    } }];
    spec.series.forEach(function (s) {
      var stroke = s.tone ? TONES[s.tone] : PALETTE[color++ % PALETTE.length];
      var o = { label: s.label, scale: s.scale, stroke: stroke, width: 2, spanGaps: true,
                value: function (u, v, i, idx) {
                  if (idx != null) return fmt(v, s.digits, s.unit);
                  var at = last == null ? null : s.values[last];
                  return at == null ? "" : fmt(at, s.digits, s.unit);
                } };
      if (s.dash) o.dash = [6, 4];
      if (s.style === "points") {
        o.paths = function () { return null; };
        o.points = { show: true, size: 11, width: 2, stroke: stroke,
                     fill: s.tone === "muted" ? "#fff" : stroke };
      } else if (s.style === "band") {
        o.width = 1;
        o.stroke = "rgba(21,101,192,0.45)";
        o.points = { show: false };
      } else {
        o.points = { show: true, size: 6 };
      }
      out.push(o);
    });
    return out;
  }

  function axesOptions(spec) {
    var x = { label: spec.x.label, labelSize: 20 };
    if (spec.x.kind === "time") {
      x.space = 80;  // px per tick at least: "7 Dec 02:00" never overlaps the next
      x.values = timeTicks;
    } else if (spec.x.kind === "log2") {
      x.values = function (u, splits) { return splits.map(function (v) { return v == null ? "" : String(v); }); };
    }
    var axes = [x];
    spec.axes.forEach(function (a) {
      axes.push({ scale: a.scale, label: a.label, side: a.side === "right" ? 1 : 3, size: 70,
                  labelSize: 20, grid: { show: a.side !== "right" } });
    });
    return axes;
  }

  function drawEvents(spec) {
    return function (u) {
      if (!spec.events || !spec.events.length) return;
      var ctx = u.ctx;
      ctx.save();
      spec.events.forEach(function (e) {
        var x = Math.round(u.valToPos(e.x, "x", true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.strokeStyle = EVENT_COLORS[e.kind] || "#757575";
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      });
      ctx.restore();
    };
  }

  function tooltip(spec, box) {
    var tip = document.createElement("div");
    tip.className = "chart-tip";
    tip.style.display = "none";
    box.appendChild(tip);
    return function (u) {
      var i = u.cursor.idx;
      if (i == null || u.cursor.left < 0) { tip.style.display = "none"; return; }
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      var x = u.data[0][i];
      var head = document.createElement("b");
      // a night's label says its start already ("Night 5 · 7 Dec 02:00")
      head.textContent = spec.labels && spec.labels[i] ? spec.labels[i] : xText(spec, x);
      tip.appendChild(head);
      spec.series.forEach(function (s, k) {
        var v = u.data[k + 1][i];
        if (v == null || s.style === "band") return;
        var line = document.createElement("div");
        line.textContent = s.label + ": " + fmt(v, s.digits, s.unit);
        tip.appendChild(line);
        var note = s.notes && s.notes[i];
        if (note) {
          var more = document.createElement("div");
          more.className = "chart-tip-note";
          more.textContent = note;
          tip.appendChild(more);
        }
      });
      (spec.events || []).forEach(function (e) {
        if (e.x !== x) return;
        var line = document.createElement("div");
        line.textContent = e.kind + ": " + e.label;
        tip.appendChild(line);
      });
      tip.style.display = "block";
      var left = u.cursor.left + u.bbox.left / devicePixelRatio + 14;
      if (left + tip.offsetWidth > box.clientWidth) left = Math.max(0, left - tip.offsetWidth - 28);
      tip.style.left = left + "px";
      tip.style.top = (u.cursor.top + 10) + "px";
    };
  }

  /* A single night or batch size still gets a readable axis around it (uPlot would
   * otherwise span a thousand days); otherwise the data's range, or the zoomed one. */
  function xRange(spec) {
    var xs = spec.xs.filter(function (x) { return x != null; });
    var only = xs.length && Math.min.apply(null, xs) === Math.max.apply(null, xs) ? xs[0] : null;
    return function (u, min, max) {
      if (only === null) return [min, max];
      return spec.x.kind === "time" ? [only - 86400, only + 86400] : [only / 2, only * 2];
    };
  }

  /* A y scale around its data; never below zero for data that is not (images/s, GiB):
   * uPlot's padding would otherwise show negative throughput. */
  function yRange(u, min, max) {
    if (min == null || max == null) return [0, 1];
    var r = uPlot.rangeNum(min, max, 0.1, true);
    if (min >= 0 && r[0] < 0) r[0] = 0;
    return r;
  }

  function draw(box, spec) {
    var data = [spec.xs].concat(spec.series.map(function (s) { return s.values; }));
    var scales = { x: spec.x.kind === "time" ? { time: true, range: xRange(spec) }
                                             : { time: false, distr: 3, log: 2, range: xRange(spec) } };
    spec.axes.forEach(function (a) { scales[a.scale] = { range: yRange }; });
    var opts = {
      width: Math.max(box.clientWidth, 320), height: 320,
      series: seriesOptions(spec), axes: axesOptions(spec), scales: scales,
      bands: (spec.bands || []).map(function (b) {
        return { series: [b[0] + 1, b[1] + 1], fill: "rgba(21,101,192,0.10)" };
      }),
      // ticks at UTC midnights, as the labels and the pages read times
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: { draw: [drawEvents(spec)], setCursor: [tooltip(spec, box)] },
    };
    var plot = new uPlot(opts, data, box);
    var points = 0;
    spec.series.forEach(function (s) {
      if (s.style === "band") return;
      s.values.forEach(function (v) { if (v != null) points += 1; });
    });
    box.dataset.points = String(points);
    box.dataset.drawn = "true";
    charts.push({ id: spec.id, plot: plot, points: points });
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(box.clientWidth, 320);
        if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height: 320 });
      }).observe(box);
    }
  }

  /* Links to Airflow's own pages: inside Airflow's tab frame (same origin), move Airflow's
   * single-page app there instead of loading a second Airflow inside the frame. */
  function openInAirflow(event) {
    var a = event.target.closest && event.target.closest("a[data-airflow]");
    if (!a || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    try {
      var top = window.top;
      if (top === window || top.location.origin !== window.location.origin) return;
      var state = top.history.state || {};
      top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10),
                              idx: (state.idx || 0) + 1 }, "", a.getAttribute("href"));
      top.dispatchEvent(new PopStateEvent("popstate", { state: top.history.state }));
      event.preventDefault();
    } catch (err) {
      /* not reachable: the link opens in this frame */
    }
  }

  document.addEventListener("click", openInAirflow);
  document.querySelectorAll(".chart-box").forEach(function (box) {
    var script = box.parentNode.querySelector("script.chart-spec");
    draw(box, JSON.parse(script.textContent));
  });
  window.segbenchCharts = charts;
})();
