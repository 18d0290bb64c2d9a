// Levers page: validate a lever value against its range, re-forecast through POST /api/forecast, redraw.
// The first forecast (levers at their defaults) and the saved scenarios come inline with the page, so it draws
// without waiting for a request. Per group a chart holds three traces: the band (one closed polygon), the base
// and the scenario line; no plotly legend (the table under each chart is the legend). The first draw is a full
// Plotly.react; after a lever change only the band and the scenario line move (the base does not depend on the
// levers), through Plotly.animate without a full redraw and with the y range computed here (a full react
// re-derives every trace, axis and legend: about 2.5 times the work). A change arriving while a redraw runs
// waits and only the newest is drawn.
(function () {
  const scriptStart = performance.now();  // after plotly.js ran: the page load's parts are timed from here
  const L = window.COCKPIT_LABELS;
  const rows = Array.from(document.querySelectorAll("tr.lever"));
  const dims = ["region", "product_line", "channel"];
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  const config = {displayModeBar: false, responsive: true};
  const layouts = {};
  for (const d of dims) layouts[d] = {margin: {t: 10, r: 10, b: 30, l: 60}, height: 260, showlegend: false,
                                      xaxis: {type: "date"}};
  window.cockpitTimings = [];
  let seq = 0, timer = null, changedAt = 0, drawing = null, pending = null;

  function fmt(x) { return x == null ? "–" : Number(x).toLocaleString(undefined, {maximumFractionDigits: 0}); }
  function pct(x) { return x == null ? "–" : (x >= 0 ? "+" : "") + Number(x).toFixed(2) + "%"; }
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;"); }

  function values() {
    const out = {}; let ok = true;
    for (const r of rows) {
      const name = r.dataset.name, input = document.getElementById("lever-" + name);
      const err = document.getElementById("error-" + name);
      const v = Number(input.value), lo = Number(r.dataset.min), hi = Number(r.dataset.max);
      if (input.value.trim() === "" || !Number.isFinite(v) || v < lo || v > hi) {
        err.textContent = name + ": " + L.range + " " + lo + " – " + hi + " " + r.dataset.unit;
        input.classList.add("bad"); ok = false;
      } else {
        err.textContent = ""; input.classList.remove("bad");
        if (v !== Number(r.dataset.default)) out[name] = v;
      }
    }
    return ok ? out : null;
  }

  function traces(res, d) {
    const out = [], back = res.weeks.slice().reverse(), x = res.weeks.concat(back);
    res.by[d].forEach((g, i) => {
      const c = palette[i % palette.length];
      out.push({x: x, y: g.hi.concat(g.lo.slice().reverse()), fill: "toself", fillcolor: c + "40", line: {width: 0},
                mode: "lines", hoverinfo: "skip", name: g.key + " " + L.band});
      out.push({x: res.weeks, y: g.base, name: g.key + " " + L.base, mode: "lines", line: {color: c, dash: "dot", width: 1}});
      out.push({x: res.weeks, y: g.scenario, name: g.key + " " + L.scenario, mode: "lines", line: {color: c, width: 2}});
    });
    return out;
  }

  // What a chart holds besides the moving series: its groups, weeks and base. When they are the same, the
  // chart takes the new band and scenario in place; otherwise (first draw, another snapshot) it is redrawn.
  const drawn = {};
  const still = {transition: {duration: 0}, frame: {duration: 0, redraw: false}, mode: "immediate"};

  function yRange(gs) {
    let lo = 0, hi = 0;
    for (const g of gs) for (const a of [g.lo, g.hi, g.base, g.scenario]) for (const v of a) {
      if (v < lo) lo = v; if (v > hi) hi = v;
    }
    return [lo * 1.05, hi > 0 ? hi * 1.05 : 1];
  }

  function drawChart(res, d) {
    const gs = res.by[d], range = yRange(gs);
    const key = JSON.stringify([res.weeks, gs.map(g => [g.key, g.base])]);
    if (drawn[d] !== key) {
      drawn[d] = key;
      layouts[d].yaxis = {range: range, autorange: false};
      return Plotly.react("chart-" + d, traces(res, d), layouts[d], config);
    }
    const data = [], idx = [];
    gs.forEach((g, i) => {
      data.push({y: g.hi.concat(g.lo.slice().reverse())}); idx.push(3 * i);
      data.push({y: g.scenario}); idx.push(3 * i + 2);
    });
    return Plotly.animate("chart-" + d, {data: data, traces: idx, layout: {yaxis: {range: range}}}, still);
  }

  // Charts out of the viewport are not redrawn on a change: they take the newest answer in the browser's next idle
  // time (while the next request is under way) or as soon as they scroll into view, whichever comes first.
  const visible = {}, stale = {};
  let observed = false;
  const observer = new IntersectionObserver(entries => {
    observed = true;
    for (const e of entries) {
      const d = e.target.id.slice("chart-".length);
      visible[d] = e.isIntersecting;
      if (e.isIntersecting && stale[d]) catchUp();
    }
  });
  for (const d of dims) observer.observe(document.getElementById("chart-" + d));
  // charts not drawn yet or behind the newest answer (a test waits for 0 before a full-page screenshot)
  window.cockpitChartsBehind = () => Object.keys(stale).length +
    dims.filter(d => !document.getElementById("chart-" + d).classList.contains("js-plotly-plot")).length;

  async function catchUp() {
    if (drawing || !Object.keys(stale).length) return;
    drawing = true;
    try {
      const jobs = [];
      for (const d of Object.keys(stale)) { jobs.push(drawChart(stale[d], d)); delete stale[d]; }
      await Promise.all(jobs);
      const first = window.cockpitTimings[0];
      if (first && first.inline && first.all_charts_at_ms == null) first.all_charts_at_ms = performance.now();
    } finally {
      drawing = null;
    }
    if (pending) { const [r2, rec2] = pending; pending = null; await show(r2, rec2); }
  }

  // Tables and totals first (cheap, and they settle the layout), then the charts on screen.
  function draw(res, parts) {
    const tt = performance.now();
    for (const d of dims) {
      document.getElementById("table-" + d).innerHTML =
        "<tr><th></th><th>" + L.base + "</th><th>" + L.scenario + "</th><th>" + L.change + "</th></tr>" +
        res.by[d].map((g, i) => "<tr><td><span class='swatch' style='background:" + palette[i % palette.length] +
          "'></span>" + esc(g.key) + "</td><td>" + fmt(g.total_base) + "</td><td>" + fmt(g.total_scenario) +
          "</td><td>" + pct(g.total_base ? 100 * (g.total_scenario - g.total_base) / g.total_base : null) + "</td></tr>").join("");
    }
    document.getElementById("total-base").textContent = fmt(res.total.base);
    document.getElementById("total-scenario").textContent = fmt(res.total.scenario);
    document.getElementById("total-delta").textContent = fmt(res.total.delta) + " (" + pct(res.total.delta_pct) + ")";
    document.getElementById("series-count").textContent = res.series;
    parts.tables_ms = performance.now() - tt;
    if (!observed) {  // the first draw, before the observer has reported: ask the layout
      for (const d of dims) {
        const box = document.getElementById("chart-" + d).getBoundingClientRect();
        visible[d] = box.bottom > 0 && box.top < window.innerHeight;
      }
    }
    const jobs = [];
    parts.charts_drawn = 0;
    for (const d of dims) {
      const tc = performance.now();
      if (visible[d]) { jobs.push(drawChart(res, d)); delete stale[d]; parts.charts_drawn += 1; }
      else stale[d] = res;
      parts["chart_" + d + "_ms"] = performance.now() - tc;
    }
    return Promise.all(jobs);
  }

  // Draw one answer and record its timings; an answer that comes while another is being drawn waits, and only
  // the newest waiting one is drawn after it.
  async function show(res, rec) {
    if (drawing) { pending = [res, rec]; return; }
    drawing = true;
    try {
      const parts = {}, tStart = performance.now();
      await draw(res, parts);
      const tDrawn = performance.now();
      await new Promise(requestAnimationFrame);
      const tDone = performance.now();
      Object.assign(rec, parts, {redraw_ms: tDone - rec.responded_at, draw_ms: tDrawn - tStart,
                                 wait_ms: tStart - rec.responded_at, frame_ms: tDone - tDrawn,
                                 total_ms: tDone - rec.changed_at, done_at_ms: tDone,
                                 total_scenario: res.total.scenario, server_ms: res.server_ms});
      window.cockpitTimings.push(rec);
      // the first draw of the page: its own time (its total_ms counts from navigation start)
      document.getElementById("timing").textContent = Math.round(rec.inline ? rec.redraw_ms : rec.total_ms) + " ms";
      document.body.dataset.forecastSeq = String(window.cockpitTimings.length);
    } finally {
      drawing = null;
    }
    if (pending) { const [r2, rec2] = pending; pending = null; await show(r2, rec2); }
    else if (Object.keys(stale).length) requestIdleCallback(catchUp, {timeout: 1000});
  }

  async function forecast() {
    const lv = values();
    if (lv === null) return;  // out of range: the message is shown, nothing is sent
    const my = ++seq, t0 = changedAt || performance.now();
    const r = await fetch("/api/forecast", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify({levers: lv})});
    const tHead = performance.now();
    const res = await r.json();
    const tResp = performance.now();
    if (my !== seq) return;  // a newer change is on its way
    const box = document.getElementById("forecast-error");
    if (!r.ok) { box.textContent = res.detail.map(d => (d.field ? d.field + ": " : "") + d.message).join("; "); return; }
    box.textContent = "";
    await show(res, {changed_at: t0, responded_at: tResp, request_ms: tResp - t0, json_parse_ms: tResp - tHead});
  }

  function schedule(wait) {
    changedAt = performance.now(); clearTimeout(timer); timer = setTimeout(forecast, wait);
  }

  for (const r of rows) {
    const name = r.dataset.name, slider = document.getElementById("slider-" + name), input = document.getElementById("lever-" + name);
    // dragging a slider fires input events every few ms: wait for a short pause before asking the server
    slider.addEventListener("input", () => { input.value = slider.value; schedule(60); });
    // a change event is a committed value: ask at once
    input.addEventListener("change", () => { if (Number.isFinite(Number(input.value))) slider.value = input.value; schedule(0); });
  }
  document.getElementById("reset").addEventListener("click", () => {
    for (const r of rows) { document.getElementById("lever-" + r.dataset.name).value = r.dataset.default;
                            document.getElementById("slider-" + r.dataset.name).value = r.dataset.default; }
    schedule(20);
  });

  function setLevers(levers) {
    for (const r of rows) {
      const v = levers[r.dataset.name] ?? Number(r.dataset.default);
      document.getElementById("lever-" + r.dataset.name).value = v;
      document.getElementById("slider-" + r.dataset.name).value = v;
    }
  }

  function fillList(list, select) {
    for (const id of ["scenario-list", "compare-a", "compare-b"]) {
      const s = document.getElementById(id);
      s.innerHTML = list.map(x => "<option>" + esc(x.scenario_name) + "</option>").join("");
    }
    if (select) document.getElementById("scenario-list").value = select;
  }

  async function refreshList(select) {
    const r = await fetch("/api/scenarios"); if (!r.ok) return;
    fillList(await r.json(), select);
  }

  document.getElementById("save").addEventListener("click", async () => {
    const lv = values(), status = document.getElementById("save-status");
    if (lv === null) return;
    const name = document.getElementById("scenario-name").value;
    status.textContent = "…";
    const r = await fetch("/api/scenarios", {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify({name: name, levers: lv})});
    const res = await r.json();
    if (!r.ok) { status.className = "error"; status.textContent = res.detail.map(d => (d.field ? d.field + ": " : "") + d.message).join("; "); return; }
    status.className = "ok"; status.textContent = L.saved + " " + res.name + " (" + res.rows + ")";
    await refreshList(res.name);
  });

  document.getElementById("load").addEventListener("click", async () => {
    const name = document.getElementById("scenario-list").value; if (!name) return;
    const r = await fetch("/api/scenarios/" + encodeURIComponent(name)); const res = await r.json();
    if (!r.ok) return;
    setLevers(res.levers); schedule(20);
  });

  document.getElementById("compare").addEventListener("click", async () => {
    const a = document.getElementById("compare-a").value, b = document.getElementById("compare-b").value;
    const r = await fetch("/api/scenarios/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b));
    const res = await r.json(); const out = document.getElementById("compare-out");
    if (!r.ok) { out.textContent = res.detail.map(d => d.message).join("; "); return; }
    let html = "<table id='compare-table'><tr><th></th><th>" + esc(res.a.name) + "</th><th>" + esc(res.b.name) + "</th></tr>";
    html += "<tr><td><b>Σ</b></td><td>" + fmt(res.a.total.scenario) + " (" + pct(res.a.total.delta_pct) + ")</td><td>" +
            fmt(res.b.total.scenario) + " (" + pct(res.b.total.delta_pct) + ")</td></tr>";
    for (const d of dims) res.a.by[d].forEach((g, i) => {
      const h = res.b.by[d][i];
      html += "<tr><td>" + esc(g.key) + "</td><td>" + fmt(g.total_scenario) + "</td><td>" + fmt(h.total_scenario) + "</td></tr>";
    });
    out.innerHTML = html + "</table>";
  });

  // The page's own data: the default forecast and the saved scenarios, rendered into it by the server.
  const inline = JSON.parse(document.getElementById("levers-data").textContent);
  fillList(inline.scenarios || []);
  if (inline.forecast && Object.keys(values() || {}).length === 0) {
    const t = performance.now();
    const nav = performance.getEntriesByType("navigation")[0] || {};
    show(inline.forecast, {changed_at: 0, responded_at: t, request_ms: 0, json_parse_ms: 0, inline: true,
                           html_response_end_ms: nav.responseEnd, script_start_ms: scriptStart, inline_parsed_ms: t});
  } else {
    forecast();  // no inline forecast (none prepared yet), or the browser restored edited inputs
  }
})();
