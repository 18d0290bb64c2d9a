// Levers page: validate a lever value against its range, re-forecast through POST /api/forecast, redraw.
(function () {
  const L = window.COCKPIT_LABELS;
  const rows = Array.from(document.querySelectorAll("tr.lever"));
  const dims = ["region", "product_line", "channel"];
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  window.cockpitTimings = [];
  let seq = 0, timer = null, changedAt = 0;

  function fmt(x) { return x == null ? "–" : Number(x).toLocaleString(undefined, {maximumFractionDigits: 0}); }
  function pct(x) { return x == null ? "–" : (x >= 0 ? "+" : "") + Number(x).toFixed(2) + "%"; }

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

  function draw(res) {
    const jobs = [];
    for (const d of dims) {
      const traces = [];
      res.by[d].forEach((g, i) => {
        const c = palette[i % palette.length];
        traces.push({x: res.weeks, y: g.hi, line: {width: 0}, showlegend: false, hoverinfo: "skip", mode: "lines", legendgroup: g.key});
        traces.push({x: res.weeks, y: g.lo, fill: "tonexty", fillcolor: c + "40", line: {width: 0}, mode: "lines",
                     name: g.key + " " + L.band, showlegend: false, hoverinfo: "skip", legendgroup: g.key});
        traces.push({x: res.weeks, y: g.base, name: g.key + " " + L.base, mode: "lines", line: {color: c, dash: "dot", width: 1}, legendgroup: g.key});
        traces.push({x: res.weeks, y: g.scenario, name: g.key + " " + L.scenario, mode: "lines", line: {color: c, width: 2}, legendgroup: g.key});
      });
      jobs.push(Plotly.react("chart-" + d, traces, {margin: {t: 10, r: 10, b: 30, l: 60}, height: 260,
        legend: {font: {size: 10}}, xaxis: {type: "date"}}, {displayModeBar: false, responsive: true}));
      const t = document.getElementById("table-" + d);
      t.innerHTML = "<tr><th></th><th>" + L.base + "</th><th>" + L.scenario + "</th><th>" + L.change + "</th></tr>" +
        res.by[d].map(g => "<tr><td>" + g.key + "</td><td>" + fmt(g.total_base) + "</td><td>" + fmt(g.total_scenario) +
          "</td><td>" + pct(g.total_base ? 100 * (g.total_scenario - g.total_base) / g.total_base : null) + "</td></tr>").join("");
    }
    document.getElementById("total-base").textContent = fmt(res.total.base);
    document.getElementById("total-scenario").textContent = fmt(res.total.scenario);
    document.getElementById("total-delta").textContent = fmt(res.total.delta) + " (" + pct(res.total.delta_pct) + ")";
    document.getElementById("series-count").textContent = res.series;
    return Promise.all(jobs);
  }

  async function forecast() {
    const lv = values();
    if (lv === null) return;  // out of range: the message is shown, nothing is sent
    const my = ++seq, t0 = changedAt || performance.now();
    const r = await fetch("/api/forecast", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify({levers: lv})});
    const res = await r.json();
    const tResp = performance.now();
    if (my !== seq) return;  // a newer change is on its way
    const box = document.getElementById("forecast-error");
    if (!r.ok) { box.textContent = res.detail.map(d => (d.field ? d.field + ": " : "") + d.message).join("; "); return; }
    box.textContent = "";
    await draw(res);
    await new Promise(requestAnimationFrame);
    const tDone = performance.now();
    const rec = {request_ms: tResp - t0, redraw_ms: tDone - tResp, total_ms: tDone - t0, server_ms: res.server_ms,
                 total_scenario: res.total.scenario};
    window.cockpitTimings.push(rec);
    document.getElementById("timing").textContent = Math.round(rec.total_ms) + " ms";
    document.body.dataset.forecastSeq = String(window.cockpitTimings.length);
  }

  function schedule() { changedAt = performance.now(); clearTimeout(timer); timer = setTimeout(forecast, 20); }

  for (const r of rows) {
    const name = r.dataset.name, slider = document.getElementById("slider-" + name), input = document.getElementById("lever-" + name);
    slider.addEventListener("input", () => { input.value = slider.value; schedule(); });
    input.addEventListener("change", () => { if (Number.isFinite(Number(input.value))) slider.value = input.value; schedule(); });
  }
  document.getElementById("reset").addEventListener("click", () => {
    for (const r of rows) { document.getElementById("lever-" + r.dataset.name).value = r.dataset.default;
                            document.getElementById("slider-" + r.dataset.name).value = r.dataset.default; }
    schedule();
  });

  function setLevers(levers) {
    for (const r of rows) {
      const v = levers[r.dataset.name] ?? Number(r.dataset.default);
      document.getElementById("lever-" + r.dataset.name).value = v;
      document.getElementById("slider-" + r.dataset.name).value = v;
    }
  }

  async function refreshList(select) {
    const r = await fetch("/api/scenarios"); if (!r.ok) return;
    const list = await r.json();
    for (const id of ["scenario-list", "compare-a", "compare-b"]) {
      const s = document.getElementById(id);
      s.innerHTML = list.map(x => "<option>" + x.scenario_name.replace(/</g, "&lt;") + "</option>").join("");
    }
    if (select) document.getElementById("scenario-list").value = select;
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
    setLevers(res.levers); schedule();
  });

  document.getElementById("compare").addEventListener("click", async () => {
    const a = document.getElementById("compare-a").value, b = document.getElementById("compare-b").value;
    const r = await fetch("/api/scenarios/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b));
    const res = await r.json(); const out = document.getElementById("compare-out");
    if (!r.ok) { out.textContent = res.detail.map(d => d.message).join("; "); return; }
    let html = "<table id='compare-table'><tr><th></th><th>" + res.a.name + "</th><th>" + res.b.name + "</th></tr>";
    html += "<tr><td><b>Σ</b></td><td>" + fmt(res.a.total.scenario) + " (" + pct(res.a.total.delta_pct) + ")</td><td>" +
            fmt(res.b.total.scenario) + " (" + pct(res.b.total.delta_pct) + ")</td></tr>";
    for (const d of dims) res.a.by[d].forEach((g, i) => {
      const h = res.b.by[d][i];
      html += "<tr><td>" + g.key + "</td><td>" + fmt(g.total_scenario) + "</td><td>" + fmt(h.total_scenario) + "</td></tr>";
    });
    out.innerHTML = html + "</table>";
  });

  refreshList(); forecast();
})();
