// Emily Sovereign live console: reads /console/stream (server-sent events, bearer token) and
// draws each frame in SVG. No framework, no request to any other host. Read-only.
"use strict";
(() => {
  const KEY = "emily-console-token";
  const NS = "http://www.w3.org/2000/svg";
  const KEEP = 240; // frames kept for the time charts (a minute at 4 Hz)
  const REG_WINDOW_S = 60;
  const TIERS = ["instinct", "none", "suppressed"];
  const frames = [];
  const $ = (id) => document.getElementById(id);

  // -- token: from the URL fragment (never sent to the server), kept for this tab only --------
  function token() {
    const found = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (found) {
      sessionStorage.setItem(KEY, decodeURIComponent(found[1]));
      frames.length = 0;
      window.history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(KEY);
  }

  function status(state, text) {
    const s = $("status");
    s.dataset.state = state;
    s.textContent = text;
  }

  function login(message) {
    status("down", "token needed");
    $("panels").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    $("token").value = "";
    connect(value);
  });

  // -- the stream: fetch with a header (EventSource cannot send one), parsed by hand ----------
  async function connect(secret) {
    status("idle", "connecting…");
    let response;
    try {
      response = await fetch("console/stream", {
        headers: { Authorization: "Bearer " + secret }, cache: "no-store",
      });
    } catch (error) {
      return retry(secret, "server unreachable");
    }
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      return login("The token was refused: use the one in EMILY_HOME/api-token.");
    }
    if (!response.ok) return retry(secret, "HTTP " + response.status);
    $("login").hidden = true;
    $("panels").hidden = false;
    status("live", "live");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        break;
      }
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart()).join("\n");
        if (data) {
          try {
            render(JSON.parse(data));
          } catch (error) {
            console.error("console: a frame could not be drawn", error);
          }
        }
      }
    }
    retry(secret, "stream ended");
  }

  function retry(secret, why) {
    status("down", why + "; retrying");
    setTimeout(() => connect(secret), 2000);
  }

  // -- SVG helpers ---------------------------------------------------------------------------
  function svg(tag, attrs, parent, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  const html = (tag, parent, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  };
  const lerp = (v, a, b, lo, hi) => (b === a ? lo : lo + ((v - a) / (b - a)) * (hi - lo));
  const points = (xs, ys) => xs.map((x, i) => x.toFixed(1) + "," + ys[i].toFixed(1)).join(" ");
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
  const ms = (v) => (v === null || v === undefined ? "–" : v < 1 ? (v * 1000).toFixed(0) + " µs"
    : v.toFixed(2) + " ms");

  function line(parent, values, top, bottom, left, right, cls, max) {
    const ys = values.map((v) => (v === null ? NaN : v));
    const hi = max || Math.max(1e-9, ...ys.filter((v) => !isNaN(v)));
    const skip = KEEP - ys.length; // the newest frame sits at the right edge
    const xs = ys.map((_, i) => lerp(i + skip, 0, KEEP - 1, left, right));
    const kept = xs.map((x, i) => [x, ys[i]]).filter((p) => !isNaN(p[1]));
    svg("polyline", {
      class: cls,
      points: points(kept.map((p) => p[0]), kept.map((p) => lerp(p[1], 0, hi, bottom, top))),
    }, parent);
    return hi;
  }

  // -- panels --------------------------------------------------------------------------------
  function oscillator(o) {
    const box = $("osc");
    box.replaceChildren();
    const [L, R, T, B] = [40, 792, 8, 128];
    const x = (t) => lerp(t, -o.window_s, 0, L, R);
    const y = (g) => lerp(g, 0, 1, B, T);
    for (const [a, b] of o.closed) {
      svg("rect", { class: "closed", x: x(a), y: T, width: Math.max(x(b) - x(a), 1), height: B - T }, box);
    }
    for (const g of [0, 0.5, 1]) {
      svg("line", { class: "grid", x1: L, x2: R, y1: y(g), y2: y(g) }, box);
      svg("text", { class: "axis", x: 4, y: y(g) + 4 }, box, g.toFixed(1));
    }
    svg("line", { class: "threshold", x1: L, x2: R, y1: y(o.threshold), y2: y(o.threshold) }, box);
    const xs = o.t.map(x);
    svg("polyline", { class: "phase", points: points(xs, o.phase.map((p) => y(p / (2 * Math.PI)))) }, box);
    svg("polyline", { id: "osc-gain", class: "gain", points: points(xs, o.gain.map(y)) }, box);
    svg("text", { class: "axis", x: L, y: 146 }, box, "−" + o.window_s + " s");
    svg("text", { class: "axis", x: R - 24, y: 146 }, box, "now");
    svg("text", { class: "label", x: L + 120, y: 146 }, box, "— gain   ┈ phase/2π   ╌ suppress below");
    $("osc-text").textContent =
      `${o.frequency_hz.toFixed(2)} Hz · phase ${(o.phase_rad / Math.PI).toFixed(2)}π · power ` +
      `${o.effective_power.toFixed(2)} · gain now ${o.gain_now.toFixed(2)} · open ` +
      `${pct(o.open_fraction)} of each cycle` +
      (o.last_reset_ago_s === null ? "" : ` · last phase reset ${o.last_reset_ago_s.toFixed(1)} s ago`);
  }

  function traffic() {
    const box = $("rate");
    box.replaceChildren();
    const [L, R] = [40, 396];
    const hi = line(box, frames.map((f) => f.traffic.per_s), 8, 100, L, R, "rate");
    svg("text", { class: "axis", x: 2, y: 14 }, box, Math.round(hi) + "/s");
    svg("text", { class: "axis", x: 2, y: 100 }, box, "0");
    const w = (R - L) / KEEP;
    const skip = KEEP - frames.length;
    frames.forEach((f, i) => {
      let top = 110;
      for (const tier of TIERS) {
        const h = 36 * (f.traffic.shares[tier] || 0);
        if (h > 0) svg("rect", { class: tier, x: L + (i + skip) * w, y: top, width: w + 0.3, height: h }, box);
        top += h;
      }
    });
    const last = frames[frames.length - 1].traffic;
    $("rate-text").textContent = `${last.per_s === null ? "–" : last.per_s.toFixed(0)} stimuli/s · ` +
      `${last.answered.toLocaleString()} answered · shares: hit ${pct(last.shares.instinct)}, miss ` +
      `${pct(last.shares.none)}, suppressed ${pct(last.shares.suppressed)}`;
  }

  function latency(l) {
    const box = $("lat");
    box.replaceChildren();
    const p99 = frames.map((f) => f.latency.p99_ms);
    const hi = Math.max(1e-6, ...p99.filter((v) => v !== null));
    line(box, p99, 8, 140, 40, 396, "p99", hi);
    line(box, frames.map((f) => f.latency.p50_ms), 8, 140, 40, 396, "p50", hi);
    svg("text", { class: "axis", x: 2, y: 14 }, box, ms(hi));
    svg("text", { class: "axis", x: 2, y: 140 }, box, "0");
    $("lat-text").textContent = `p50 ${ms(l.p50_ms)} · p90 ${ms(l.p90_ms)} · p99 ${ms(l.p99_ms)}` +
      ` · max ${ms(l.max_ms)} over the last ${l.count.toLocaleString()} answers (green p50, amber p99)`;
  }

  function regulator(r) {
    const state = $("reg-state");
    state.textContent = r.state;
    state.className = r.state;
    const causes = [r.forced_reason && "forced: " + r.forced_reason,
      r.dependencies_down.length && "down: " + r.dependencies_down.join(", ")].filter(Boolean);
    $("reg-why").textContent = causes.join(" · ");
    const box = $("reg");
    box.replaceChildren();
    const [L, R] = [0, 400];
    const x = (ago) => lerp(Math.min(ago, REG_WINDOW_S), REG_WINDOW_S, 0, L, R);
    const ts = r.transitions;
    let from = REG_WINDOW_S;
    let current = ts.length ? ts[0].from_state : r.state;
    for (const t of ts) {
      if (t.ago_s < REG_WINDOW_S) {
        svg("rect", { class: current, x: x(from), y: 4, width: Math.max(x(t.ago_s) - x(from), 0), height: 20 }, box);
        from = t.ago_s;
      }
      current = t.to_state;
    }
    svg("rect", { class: current, x: x(from), y: 4, width: Math.max(R - x(from), 0), height: 20 }, box);
    for (const t of ts) {
      if (t.ago_s < REG_WINDOW_S) svg("line", { class: "tick", x1: x(t.ago_s), x2: x(t.ago_s), y1: 2, y2: 26 }, box);
    }
    svg("text", { class: "axis", x: 0, y: 38 }, box, "−60 s");
    svg("text", { class: "axis", x: 374, y: 38 }, box, "now");
    const log = $("reg-log");
    log.replaceChildren();
    for (const t of ts.slice(-8).reverse()) {
      html("li", log, `${t.ago_s.toFixed(1)} s ago: ${t.from_state} → ${t.to_state} (${t.reason})`);
    }
  }

  function reflexes(x) {
    const dl = $("reflex-stats");
    dl.replaceChildren();
    const rows = [["reflexes stored", x.size.toLocaleString()], ["learned here", x.learned.toLocaleString()],
      ["lessons pending", x.pending_lessons.toLocaleString()], ["hit rate", pct(x.hit_rate)],
      ["miss rate (novel)", pct(x.miss_rate)], ["wrong hits (labelled)", pct(x.wrong_rate)]];
    for (const [k, v] of rows) {
      html("dt", dl, k);
      html("dd", dl, v);
    }
    const box = $("reflex-rates");
    box.replaceChildren();
    line(box, frames.map((f) => f.reflexes.hit_rate), 4, 60, 40, 396, "hitr", 1);
    line(box, frames.map((f) => f.reflexes.miss_rate), 4, 60, 40, 396, "missr", 1);
    svg("text", { class: "axis", x: 2, y: 12 }, box, "100%");
    svg("text", { class: "axis", x: 2, y: 62 }, box, "0");
  }

  function dag(nodes, h, index) {
    const figure = html("figure");
    const box = svg("svg", { viewBox: "0 0 190 170", class: "dag" }, figure);
    const defs = svg("defs", {}, box);
    const marker = svg("marker", { id: "arrow" + index, viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    svg("path", { class: "arrow", d: "M0,0 L10,5 L0,10 z" }, marker);
    const place = {};
    nodes.forEach((name, i) => {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length;
      place[name] = [95 + 58 * Math.cos(a), 82 + 58 * Math.sin(a)];
    });
    for (const [a, b] of h.edges) {
      if (!place[a] || !place[b]) continue;
      const [x1, y1] = place[a];
      const [x2, y2] = place[b];
      const d = Math.hypot(x2 - x1, y2 - y1) || 1;
      const r = 13;
      svg("line", { class: "edge", x1: x1 + ((x2 - x1) * r) / d, y1: y1 + ((y2 - y1) * r) / d,
        x2: x2 - ((x2 - x1) * r) / d, y2: y2 - ((y2 - y1) * r) / d,
        "marker-end": `url(#arrow${index})` }, box);
    }
    for (const name of nodes) {
      const [cx, cy] = place[name];
      svg("circle", { class: "node", cx, cy, r: 12 }, box);
      svg("text", { class: "label", x: cx, y: cy + 4, "text-anchor": "middle" }, box, name.slice(0, 3));
      svg("title", {}, box, name);
    }
    html("figcaption", figure, `${pct(h.share)} of samples` + (h.edges.length ? "" : " · independent"));
    svg("title", {}, box, h.description);
    return figure;
  }

  function heat(nodes, m) {
    const holder = $("heat");
    holder.replaceChildren();
    if (!nodes.length) return;
    const c = 34;
    const pad = 90;
    const box = svg("svg", { viewBox: `0 0 ${pad + c * nodes.length + 4} ${pad + c * nodes.length + 4}`,
      id: "heatmap", width: pad + c * nodes.length + 4 }, holder);
    nodes.forEach((name, i) => {
      svg("text", { class: "label", x: pad - 4, y: pad + c * i + c / 2 + 4, "text-anchor": "end" }, box, name);
      svg("text", { class: "label", x: pad + c * i + c / 2, y: pad - 6, "text-anchor": "start",
        transform: `rotate(-45 ${pad + c * i + c / 2} ${pad - 6})` }, box, name);
      nodes.forEach((_, j) => {
        const v = m[i][j];
        svg("rect", { class: "cellbg", x: pad + c * j, y: pad + c * i, width: c, height: c }, box);
        svg("rect", { class: "cell", x: pad + c * j, y: pad + c * i, width: c, height: c, "fill-opacity": v }, box);
        if (v > 0) svg("text", { class: v > 0.5 ? "label hot" : "label", x: pad + c * j + c / 2, y: pad + c * i + c / 2 + 4,
          "text-anchor": "middle" }, box, v.toFixed(2));
      });
    });
    html("p", holder, "row → column: share of the hypotheses with that edge", "line");
  }

  function cognition(c) {
    const text = $("cog-text");
    const dags = $("dags");
    dags.replaceChildren();
    if (!c.enabled) {
      text.textContent = "cognition is off in this runtime";
      $("heat").replaceChildren();
      return;
    }
    if (!c.hypotheses.length) {
      text.textContent = `waiting for cognition… (${c.batches} batches, ${c.failures} failures)` +
        (c.last_error ? " · last error: " + c.last_error : "");
      return;
    }
    text.replaceChildren();
    html("span", text, `batch ${c.batches} · ${c.latency_s.toFixed(2)} s · diversity ${c.diversity.toFixed(2)}`);
    if (c.mode_collapse) html("b", text, " · mode collapse", "collapse");
    c.hypotheses.forEach((h, i) => dags.appendChild(dag(c.nodes, h, i)));
    heat(c.nodes, c.marginals);
  }

  function remediation(r) {
    const body = $("remedies").tBodies[0];
    body.replaceChildren();
    if (!r.records.length) {
      html("td", html("tr", body), "no remediation action yet").colSpan = 5;
      return;
    }
    for (const rec of r.records) {
      const row = html("tr", body);
      html("td", row, rec.at.replace("T", " ").slice(0, 19));
      html("td", row, rec.action + (r.active && r.active.includes(rec.id) ? " (in force)" : ""));
      html("td", row, rec.outcome, rec.outcome);
      html("td", row, rec.why);
      html("td", row, rec.who);
    }
  }

  function render(frame) {
    frames.push(frame);
    if (frames.length > KEEP) frames.shift();
    document.body.dataset.frame = frame.seq;
    oscillator(frame.oscillator);
    traffic();
    latency(frame.latency);
    regulator(frame.regulator);
    reflexes(frame.reflexes);
    cognition(frame.cognition);
    remediation(frame.remediation);
  }

  const secret = token();
  if (secret) connect(secret);
  else login("");
})();
