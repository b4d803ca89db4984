// app.js - the scoreboard dashboard: an overview of the server's own
// series, a series browser that adds charts, time ranges, live updates
// and a URL that holds the view.
//
// Data comes from three endpoints: GET /api/v1/status (retention,
// collector interval, server time), GET /api/v1/series (the browser's
// list) and GET /api/v1/query (one request per chart query). Live
// updates poll: every collector interval each chart asks only for the
// buckets since its newest one (plus two, which may have been partial),
// and the series list is read again. A failed tick marks the page
// disconnected and retries with a growing delay; when the server answers
// again, a new start_time (a restart) drops the charts' data and refills
// it.
//
// URL state (see README "Dashboard"):
//   ?range=5m|15m|1h|all               a live window ending now
//   ?from=<RFC 3339>&to=<RFC 3339>     a fixed window
//   &chart=NAME[;agg=AGG][;by=L1,L2][;match=MATCHER]...   repeatable

/* global uPlot */

const PRESETS = { "5m": 300, "15m": 900, "1h": 3600, all: 0 };
const AGGS = ["avg", "min", "max", "sum", "count", "last", "rate",
  "p50", "p90", "p95", "p99"];
const COLORS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed",
  "#0891b2", "#db2777", "#65a30d", "#9333ea", "#ea580c"];
const MAX_LISTED = 100; // series shown at once in the browser
const MAX_LINES = 50; // lines drawn per chart; more asks for group_by/match
// Charts besides the overview: each polls once per interval, so a link
// with hundreds of charts must not turn the page into a load generator.
const MAX_CHARTS = 24;
// Above this many stored series the browser's list is read every
// SERIES_SLOW_TICKS ticks (and on every search), not every tick.
const SERIES_FAST_MAX = 1000;
const SERIES_SLOW_TICKS = 10;
const MAX_BACKOFF_MS = 10000;
// Tick steps of a byte axis: powers of two, so the ticks fall on round
// binary units (9 MiB, 9.25 MiB, 9.5 MiB), not on round decimal bytes
// (8.58 MiB, 9.06 MiB).
const BYTE_INCRS = Array.from({ length: 81 }, (_, i) => 2 ** (i - 20));
// A server that accepts connections but does not answer (hung, stopped
// with SIGSTOP, swamped) must not look live: a tick unanswered for
// SLOW_MS says so in the header, a request unanswered for
// REQUEST_TIMEOUT_MS is abandoned and counts as a failed tick.
const SLOW_MS = 3000;
const REQUEST_TIMEOUT_MS = 10000;

// The fixed overview: the server's own traffic, latency and memory.
const OVERVIEW = [
  {
    id: "requests", title: "Requests per second by route", unit: "persec",
    queries: [{ name: ["scoreboard_http_requests_total"], agg: "rate",
      by: ["route"], label: (s) => s.labels.route }],
  },
  {
    id: "latency", title: "Request latency p50 / p99 by route", unit: "seconds",
    queries: [
      { name: ["scoreboard_http_request_duration_seconds"],
        match: ["quantile=0.5"], agg: "avg", by: ["route"],
        label: (s) => `${s.labels.route} p50` },
      { name: ["scoreboard_http_request_duration_seconds"],
        match: ["quantile=0.99"], agg: "max", by: ["route"],
        label: (s) => `${s.labels.route} p99` },
    ],
  },
  {
    id: "rss", title: "Process resident memory", unit: "bytes",
    queries: [{ name: ["process_resident_memory_bytes"], agg: "avg",
      label: () => "resident" }],
  },
  {
    id: "cpu", title: "CPU usage", unit: "percent",
    queries: [
      { name: ["process_cpu_seconds_total"], agg: "rate", scale: 100,
        label: () => "scoreboard (% of one CPU)" },
      { name: ["system_cpu_usage_percent"], agg: "avg",
        label: () => "machine (% of all CPUs)" },
    ],
  },
  {
    id: "sysmem", title: "System memory", unit: "bytes",
    queries: [{ name: ["system_memory_total_bytes",
      "system_memory_available_bytes"], agg: "avg",
    label: (s) => s.name.replace(/^system_memory_|_bytes$/g, "") }],
  },
];

const $ = (sel) => document.querySelector(sel);

const state = {
  status: null, // the last GET /api/v1/status
  clockSkew: 0, // server time minus this browser's, seconds
  range: { preset: "15m", from: 0, to: 0 }, // from/to when preset is null
  userCharts: [], // {name, agg, by: [], match: []} in URL order
  charts: [], // live chart objects (overview first)
  series: [], // the last GET /api/v1/series
  failures: 0,
  timer: 0,
  ticking: false,
  ticks: 0,
  seriesStale: true, // read the series list on the next tick
  formDirty: false, // the custom range inputs hold the user's edits
  badRange: null, // [from, to] of a link whose range ends before it starts
};

// ------------------------------------------------------------ formatting

function trimNum(v, digits) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-4)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

function scaled(v, steps, base, digits) {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < steps.length - 1) {
    x /= base;
    i++;
  }
  return `${trimNum(x, digits)} ${steps[i]}`;
}

function fmtSeconds(v, digits) {
  const a = Math.abs(v);
  if (a === 0) return "0 s";
  if (a < 1e-6) return `${trimNum(v * 1e9, digits)} ns`;
  if (a < 1e-3) return `${trimNum(v * 1e6, digits)} µs`;
  if (a < 1) return `${trimNum(v * 1e3, digits)} ms`;
  return `${trimNum(v, digits)} s`;
}

// A value in a unit: "bytes", "seconds", "percent", "persec", or ""
// (plain), each optionally followed by "/s" (a rate of it).
function fmtValue(v, unit, digits = 4) {
  if (v == null) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  let suffix = "";
  let u = unit;
  if (u.endsWith("/s")) {
    suffix = "/s";
    u = u.slice(0, -2);
  }
  let text;
  switch (u) {
    case "bytes": text = scaled(v, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 1024, digits); break;
    case "seconds": text = fmtSeconds(v, digits); break;
    case "percent": text = `${trimNum(v, digits)} %`; break;
    case "persec": text = `${scaled(v, ["", "k", "M", "G", "T"], 1000, digits).trim()}/s`; break;
    default: text = scaled(v, ["", "k", "M", "G", "T"], 1000, digits).trim();
  }
  return text + suffix;
}

function unitLabel(unit) {
  return { bytes: "bytes", seconds: "seconds", percent: "%", persec: "per second",
    "bytes/s": "bytes per second", "seconds/s": "seconds per second",
    "/s": "per second" }[unit] || "";
}

// The unit of a metric name under an aggregation.
function unitOf(name, agg) {
  let u = "";
  if (/_bytes(_total)?$/.test(name)) u = "bytes";
  else if (/_seconds(_total|_sum|_max)?$/.test(name)) u = "seconds";
  else if (/_percent$/.test(name)) u = "percent";
  if (agg === "count") return "";
  if (agg === "rate") return u ? `${u}/s` : "persec";
  return u;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

function fmtTime(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// A time axis label, 24-hour, as fine as the tick spacing (seconds).
function fmtTick(sec, incr) {
  const d = new Date(sec * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (incr < 60) return `${hm}:${pad(d.getSeconds())}`;
  if (incr < 86400) return hm;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

// ------------------------------------------------------------ URL state

// Values inside a chart spec escape '%' and ';' so the spec splits
// cleanly on ';'.
function escPart(s) {
  return s.replace(/%/g, "%25").replace(/;/g, "%3B");
}

function unescPart(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function chartSpec(c) {
  const parts = [escPart(c.name)];
  if (c.agg) parts.push(`agg=${escPart(c.agg)}`);
  if (c.by.length) parts.push(`by=${escPart(c.by.join(","))}`);
  for (const m of c.match) parts.push(`match=${escPart(m)}`);
  return parts.join(";");
}

function parseChartSpec(spec) {
  const parts = spec.split(";");
  const c = { name: unescPart(parts[0]), agg: "", by: [], match: [] };
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const key = p.slice(0, eq);
    const val = unescPart(p.slice(eq + 1));
    if (key === "agg" && AGGS.includes(val)) c.agg = val;
    else if (key === "by") c.by = val.split(",").filter(Boolean);
    else if (key === "match" && val) c.match.push(val);
  }
  if (!c.agg) c.agg = c.name.endsWith("_total") ? "rate" : "avg";
  return c.name ? c : null;
}

function readURL() {
  const p = new URLSearchParams(location.search);
  const from = Date.parse(p.get("from") || "");
  const to = Date.parse(p.get("to") || "");
  state.badRange = null;
  if (Number.isFinite(from) && Number.isFinite(to) && to > from) {
    state.range = { preset: null, from: from / 1000, to: to / 1000 };
  } else {
    // A link whose range ends before it starts: shown in the custom
    // range inputs, marked, for the user to correct.
    if (Number.isFinite(from) && Number.isFinite(to)) state.badRange = [from / 1000, to / 1000];
    const r = p.get("range");
    // Own keys only: "toString" or "constructor" is no preset.
    state.range = { preset: Object.hasOwn(PRESETS, r || "") ? r : "15m", from: 0, to: 0 };
  }
  state.userCharts = p.getAll("chart").map(parseChartSpec).filter(Boolean)
    .slice(0, MAX_CHARTS);
}

// Query strings keep '=', ';', ',', '/' and ':' readable.
function urlValue(s) {
  return encodeURIComponent(s).replace(/%(3D|3B|2C|2F|3A)/g,
    (m) => decodeURIComponent(m));
}

function writeURL(push) {
  const q = [];
  if (state.range.preset) {
    q.push(`range=${state.range.preset}`);
  } else {
    q.push(`from=${urlValue(new Date(state.range.from * 1000).toISOString())}`);
    q.push(`to=${urlValue(new Date(state.range.to * 1000).toISOString())}`);
  }
  for (const c of state.userCharts) q.push(`chart=${urlValue(chartSpec(c))}`);
  const url = `${location.pathname}?${q.join("&")}`;
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// ------------------------------------------------------------ time window

function serverNow() {
  return Date.now() / 1000 + state.clockSkew;
}

function windowSeconds() {
  if (!state.range.preset) return state.range.to - state.range.from;
  const s = PRESETS[state.range.preset];
  return s || (state.status ? state.status.retention_seconds : 3600);
}

// [from, to] in Unix seconds, as of now for a live preset.
function currentWindow() {
  if (!state.range.preset) return [state.range.from, state.range.to];
  const to = serverNow();
  return [to - windowSeconds(), to];
}

// About 300 buckets per window, never below the collector interval or 1 s.
function stepFor(seconds) {
  const ivl = state.status ? state.status.interval_seconds : 1;
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const want = Math.max(seconds / 300, ivl, 1);
  return nice.find((s) => s >= want) || Math.ceil(want);
}

// ------------------------------------------------------------ fetching

async function getJSON(url) {
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let r;
  let body = null;
  try {
    r = await fetch(url, { cache: "no-store", signal });
    body = await r.json().catch((e) => {
      if (signal.aborted) throw e;
      return null; // not JSON: the status tells
    });
  } catch (e) {
    if (signal.aborted) throw new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
    throw e;
  }
  if (!r.ok) {
    const err = new Error(body && body.error ? body.error : `HTTP ${r.status}`);
    err.status = r.status;
    throw err;
  }
  return body;
}

// The JSON spells the non-finite values as strings; they are kept (the
// legend shows them) but not drawn.
function toNumber(v) {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return null;
}

function queryURL(q, from, to, step) {
  const p = new URLSearchParams();
  for (const n of q.name) p.append("name", n);
  for (const m of q.match || []) p.append("match", m);
  p.set("from", String(Math.floor(from)));
  p.set("to", String(Math.ceil(to)));
  p.set("step", `${step}s`);
  p.set("agg", q.agg);
  if (q.by && q.by.length) p.set("group_by", q.by.join(","));
  return `/api/v1/query?${p}`;
}

// ------------------------------------------------------------ charts

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// JSON, not "k=v,k=v": label values may hold ',' and '=', and
// {x: "1,y=2"} must stay another line than {x: "1", y: "2"}.
function seriesKey(qi, s) {
  const labels = Object.keys(s.labels || {}).sort().map((k) => [k, s.labels[k]]);
  return `${qi}|${s.name || ""}|${JSON.stringify(labels)}`;
}

function defaultLabel(s) {
  const l = Object.entries(s.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return l || s.name || "value";
}

class Chart {
  constructor(def, parent, user) {
    this.def = def;
    this.user = user; // the URL entry of a user chart, or null
    this.lines = new Map(); // seriesKey -> {label, points: Map(t -> v)}
    this.lastT = null;
    this.loaded = false; // the window was read once (data or not)
    this.step = 0;
    this.plot = null;
    this.shape = ""; // the series keys the plot was built for
    this.cursorIdx = -1;
    this.build(parent);
  }

  build(parent) {
    const fig = document.createElement("figure");
    fig.className = "chart";
    fig.dataset.chart = this.def.id;
    fig.dataset.points = "0";
    const cap = document.createElement("figcaption");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = this.def.title;
    title.id = `t-${this.def.id}`;
    const unit = document.createElement("span");
    unit.className = "unit";
    unit.textContent = unitLabel(this.def.unit);
    cap.append(title, unit);
    if (this.user) cap.append(...this.controls());
    this.box = document.createElement("div");
    this.box.className = "plot";
    this.box.tabIndex = 0;
    this.box.setAttribute("role", "group");
    this.box.setAttribute("aria-labelledby", title.id);
    this.box.setAttribute("aria-describedby", `k-${this.def.id}`);
    this.box.addEventListener("keydown", (e) => this.onKey(e));
    this.msg = document.createElement("p");
    this.msg.className = "msg";
    this.msg.id = `k-${this.def.id}`;
    this.msg.textContent = "Loading…";
    fig.append(cap, this.box, this.msg);
    parent.append(fig);
    this.fig = fig;
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(fig);
  }

  controls() {
    const sel = document.createElement("select");
    sel.setAttribute("aria-label", `Aggregation of ${this.def.title}`);
    for (const a of AGGS) {
      const o = document.createElement("option");
      o.value = a;
      o.textContent = a;
      sel.append(o);
    }
    sel.value = this.user.agg;
    sel.addEventListener("change", () => {
      this.user.agg = sel.value;
      writeURL(true);
      rebuildUserCharts();
    });
    const rm = document.createElement("button");
    rm.type = "button";
    rm.textContent = "Remove";
    rm.setAttribute("aria-label", `Remove the chart of ${this.def.title}`);
    rm.addEventListener("click", () => {
      state.userCharts = state.userCharts.filter((c) => c !== this.user);
      writeURL(true);
      rebuildUserCharts();
      $("#h-charts").focus?.();
    });
    return [sel, rm];
  }

  destroy() {
    this.resizer.disconnect();
    if (this.plot) this.plot.destroy();
    this.fig.remove();
  }

  reset() {
    this.lines.clear();
    this.lastT = null;
    this.loaded = false;
  }

  // One poll: full window on the first call, the newest buckets after.
  async refresh() {
    const [from, to] = currentWindow();
    const step = stepFor(to - from);
    if (step !== this.step) {
      this.step = step;
      this.reset();
    }
    const incremental = this.lastT != null && state.range.preset;
    const qfrom = incremental ? Math.max(from, this.lastT - 2 * step) : from;
    const results = await Promise.all(this.def.queries.map(
      (q) => getJSON(queryURL(q, qfrom, to, step))));
    results.forEach((res, qi) => this.merge(qi, res, incremental ? qfrom + step : -Infinity));
    this.prune(from);
    this.draw(from, to);
    this.loaded = true;
  }

  merge(qi, res, keepBefore) {
    const q = this.def.queries[qi];
    for (const s of res.series || []) {
      const key = seriesKey(qi, s);
      let line = this.lines.get(key);
      if (!line) {
        line = { label: (q.label || defaultLabel)(s), points: new Map() };
        this.lines.set(key, line);
      }
      for (const [t, v] of s.values || []) {
        // The first bucket of an incremental read may lack its
        // predecessor (a rate): keep the value we already have.
        if (t < keepBefore && line.points.has(t)) continue;
        const n = toNumber(v);
        line.points.set(t, n == null ? null : n * (q.scale || 1));
        if (this.lastT == null || t > this.lastT) this.lastT = t;
      }
    }
  }

  prune(from) {
    const cut = from - this.step;
    for (const [key, line] of this.lines) {
      for (const t of line.points.keys()) if (t < cut) line.points.delete(t);
      if (line.points.size === 0) this.lines.delete(key);
    }
  }

  data() {
    const all = [...this.lines.keys()].sort();
    const keys = all.slice(0, MAX_LINES);
    this.hidden = all.length - keys.length;
    const ts = new Set();
    for (const k of keys) for (const t of this.lines.get(k).points.keys()) ts.add(t);
    const sorted = [...ts].sort((a, b) => a - b);
    // A stretch with no bucket at all (the server or its collector was
    // stopped) is a gap, not a straight line: a row without values in
    // the middle of every stretch over 3 times the usual bucket spacing
    // (the median, so a series pushed every minute stays one line).
    const diffs = sorted.slice(1).map((t, i) => t - sorted[i]).sort((a, b) => a - b);
    const usual = diffs.length ? diffs[diffs.length >> 1] : 0;
    const xs = [];
    sorted.forEach((t, i) => {
      if (i > 0 && t - sorted[i - 1] > 3 * usual) xs.push((t + sorted[i - 1]) / 2);
      xs.push(t);
    });
    // raw keeps NaN and ±Inf for the legend; the plot gets null there.
    this.raw = keys.map((k) => {
      const pts = this.lines.get(k).points;
      return xs.map((t) => (pts.has(t) ? pts.get(t) : null));
    });
    const cols = this.raw.map((col) => col.map((v) => (Number.isFinite(v) ? v : null)));
    return { keys, data: [xs, ...cols] };
  }

  draw(from, to) {
    const { keys, data } = this.data();
    this.window = [from, to];
    let points = 0;
    let odd = 0; // NaN or ±Inf: in the legend, not on the plot
    for (const col of this.raw) {
      for (const v of col) {
        if (Number.isFinite(v)) points++;
        else if (v != null) odd++;
      }
    }
    this.fig.dataset.points = String(points);
    this.fig.dataset.nonfinite = String(odd);
    this.msg.classList.remove("bad");
    this.msg.textContent = points
      ? "Arrow keys read the values; Escape hides them."
      : "No data in this range yet.";
    if (odd) {
      this.msg.textContent = `${odd} value${odd > 1 ? "s are" : " is"} NaN or infinite: ` +
        "shown in the legend, not drawn.";
    }
    if (this.hidden) {
      this.msg.textContent = `${this.hidden} more series are not drawn: ` +
        "narrow the chart with match= or group them with by= in the URL.";
    }
    const shape = keys.join("\n");
    if (!this.plot || shape !== this.shape) {
      this.shape = shape;
      this.create(keys, data);
    } else {
      this.plot.setData(data);
    }
    this.showLatest();
  }

  // Without a cursor on the chart, the legend shows the newest values.
  // A new plot clears its legend when it first draws (after create()
  // returns), hence also its "ready" hook.
  showLatest(plot = this.plot) {
    const n = plot.data[0].length;
    if (n && this.cursorIdx < 0 && plot.cursor.left < 0) plot.setLegend({ idx: n - 1 });
  }

  fail(err) {
    this.loaded = true; // the same query is refused again: no hurry
    this.msg.classList.add("bad");
    this.msg.textContent = `Cannot load: ${err.message}`;
  }

  size() {
    const w = Math.max(200, this.box.clientWidth || this.fig.clientWidth - 20);
    return { width: w, height: window.innerWidth <= 600 ? 170 : 210 };
  }

  resize() {
    if (!this.plot) return;
    const s = this.size();
    if (s.width !== this.plot.width || s.height !== this.plot.height) {
      requestAnimationFrame(() => this.plot && this.plot.setSize(this.size()));
    }
  }

  create(keys, data) {
    if (this.plot) this.plot.destroy();
    const fg = cssVar("--fg");
    const grid = cssVar("--grid");
    const unit = this.def.unit;
    // A color per series identity (its key without the query index), so
    // the p50 and p99 lines of a route share one; the line of a later
    // query for an identity already drawn is dashed.
    const idents = [];
    const look = keys.map((k) => {
      const id = k.slice(k.indexOf("|") + 1);
      const again = idents.includes(id);
      if (!again) idents.push(id);
      return { stroke: COLORS[idents.indexOf(id) % COLORS.length], ...(again ? { dash: [6, 3] } : {}) };
    });
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 } };
    const opts = {
      ...this.size(),
      scales: { x: { time: true, range: () => this.window } },
      series: [
        { label: "time", value: (u, v) => (v == null ? "—" : fmtTime(v)) },
        ...keys.map((k, i) => ({
          label: this.lines.get(k).label,
          ...look[i],
          width: 1.5,
          spanGaps: false,
          value: (u, v, si, di) => fmtValue(di == null ? v : this.raw[si - 1]?.[di] ?? v, unit, 6),
        })),
      ],
      axes: [
        { ...axis, space: 70, values: (u, splits, ax, space, incr) => splits.map((v) => fmtTick(v, incr)) },
        {
          ...axis,
          size: 70,
          ...(unit.startsWith("bytes") ? { incrs: BYTE_INCRS } : {}),
          values: (u, splits) => {
            const ticks = splits.map((v) => fmtValue(v, unit, unit.startsWith("bytes") ? 6 : 3));
            this.fig.dataset.yticks = ticks.join("|");
            return ticks;
          },
        },
      ],
      hooks: { ready: [(u) => this.showLatest(u)] },
      legend: { live: true, markers: { dash: (u, i) => (u.series[i].dash ? "dashed" : "solid") } },
      cursor: { focus: { prox: 16 } },
    };
    this.plot = new uPlot(opts, data, this.box);
  }

  // Keyboard reading: Left/Right/Home/End move the cursor over the
  // points, the legend shows their exact values; Escape hides it.
  onKey(e) {
    if (!this.plot) return;
    const xs = this.plot.data[0];
    if (!xs.length) return;
    let i = this.cursorIdx < 0 ? xs.length - 1 : this.cursorIdx;
    if (e.key === "ArrowLeft") i = Math.max(0, i - 1);
    else if (e.key === "ArrowRight") i = Math.min(xs.length - 1, i + 1);
    else if (e.key === "Home") i = 0;
    else if (e.key === "End") i = xs.length - 1;
    else if (e.key === "Escape") {
      this.cursorIdx = -1;
      this.plot.setCursor({ left: -10, top: -10 });
      this.showLatest();
      return;
    } else return;
    e.preventDefault();
    this.cursorIdx = i;
    const left = this.plot.valToPos(xs[i], "x");
    this.plot.setCursor({ left, top: this.plot.bbox.height / devicePixelRatio / 2 });
  }
}

function userChartDef(c, i) {
  const sel = c.match.length ? `{${c.match.join(", ")}}` : "";
  const by = c.by.length ? ` by ${c.by.join(", ")}` : "";
  return {
    id: `u${i}`,
    title: `${c.name}${sel} · ${c.agg}${by}`,
    unit: unitOf(c.name, c.agg),
    queries: [{ name: [c.name], match: c.match, agg: c.agg, by: c.by }],
  };
}

function rebuildUserCharts() {
  for (const ch of state.charts.filter((c) => c.user)) ch.destroy();
  state.charts = state.charts.filter((c) => !c.user);
  const box = $("#charts");
  state.userCharts.forEach((c, i) => {
    state.charts.push(new Chart(userChartDef(c, i), box, c));
  });
  $("#charts-empty").hidden = state.userCharts.length > 0;
  $("#charts-full").textContent =
    `At most ${MAX_CHARTS} charts at once: remove one to add another.`;
  $("#charts-full").hidden = state.userCharts.length < MAX_CHARTS;
  kick();
}

// Adds a chart, or shows the one already drawing the same query.
function addUserChart(c) {
  const spec = chartSpec(c);
  let ch = state.charts.find((x) => x.user && chartSpec(x.user) === spec);
  if (!ch && state.userCharts.length >= MAX_CHARTS) {
    $("#charts-full").hidden = false;
    return;
  }
  if (!ch) {
    state.userCharts.push(c);
    writeURL(true);
    rebuildUserCharts();
    ch = state.charts[state.charts.length - 1];
  }
  ch.box.focus({ preventScroll: true });
  ch.fig.scrollIntoView({ block: "nearest" });
}

function resetAllData() {
  for (const ch of state.charts) {
    ch.reset();
    ch.step = 0;
  }
}

// ------------------------------------------------------------ series browser

function seriesText(s) {
  const l = Object.entries(s.labels || {}).map(([k, v]) => `${k}="${v}"`);
  return l.length ? `${s.name}{${l.join(", ")}}` : s.name;
}

// Every word must match: "k=v" a label k whose value contains v,
// anything else a part of the name or of a label value.
function seriesMatches(s, words) {
  const labels = s.labels || {};
  return words.every((w) => {
    const eq = w.indexOf("=");
    if (eq > 0) {
      const k = w.slice(0, eq);
      const v = w.slice(eq + 1);
      // The words are lower case: compare keys so too. Own keys only, so
      // "constructor=x" is a label like any other.
      return Object.entries(labels).some(([lk, lv]) => lk.toLowerCase() === k &&
        lv.toLowerCase().includes(v));
    }
    if (s.name.toLowerCase().includes(w)) return true;
    return Object.values(labels).some((v) => v.toLowerCase().includes(w));
  });
}

// A matcher for exactly this label value: KEY=VALUE, except that a
// VALUE starting with '~' would read as KEY=~REGEX: that one becomes a
// regex matching the value itself.
function eqMatcher(k, v) {
  if (!v.startsWith("~")) return `${k}=${v}`;
  return `${k}=~${v.replace(/[\\.[\]()*+?{}|^$]/g, "\\$&")}`;
}

function renderSeries() {
  const words = $("#search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const all = state.series.filter((s) => seriesMatches(s, words));
  all.sort((a, b) => seriesText(a).localeCompare(seriesText(b)));
  const shown = all.slice(0, MAX_LISTED);
  const list = $("#series-list");
  const focused = document.activeElement && list.contains(document.activeElement)
    ? document.activeElement.dataset.key : null;
  const key = shown.map(seriesText).join("\n");
  if (list.dataset.key === key) {
    shown.forEach((s, i) => {
      const count = list.children[i].lastChild;
      const text = `${s.points} points`;
      if (count.textContent !== text) count.textContent = text;
    });
  } else {
    list.dataset.key = key;
    list.replaceChildren(...shown.map((s) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = seriesText(s);
      b.dataset.key = seriesText(s);
      b.setAttribute("aria-label", `Add a chart of ${seriesText(s)}`);
      b.addEventListener("click", () => addUserChart({
        name: s.name,
        agg: s.name.endsWith("_total") ? "rate" : "avg",
        by: [],
        match: Object.entries(s.labels || {}).map(([k, v]) => eqMatcher(k, v)),
      }));
      const n = document.createElement("span");
      n.className = "count";
      n.textContent = `${s.points} points`;
      li.append(b, n);
      return li;
    }));
    if (focused) {
      const again = [...list.querySelectorAll("button")].find((b) => b.dataset.key === focused);
      if (again) again.focus();
    }
  }
  $("#series-count").textContent = all.length > shown.length
    ? `${all.length} series match; the first ${shown.length} are listed. Refine the search.`
    : `${all.length} series match.`;
}

// ------------------------------------------------------------ the tick

function setConn(ok, text) {
  const el = $("#conn");
  if (el.textContent !== text) el.textContent = text;
  el.classList.toggle("bad", !ok);
}

function periodMs() {
  const ivl = state.status ? state.status.interval_seconds : 1;
  return Math.max(250, ivl * 1000);
}

async function loadStatus() {
  const t0 = Date.now() / 1000;
  const st = await getJSON("/api/v1/status");
  const t1 = Date.now() / 1000;
  state.clockSkew = st.time - (t0 + t1) / 2;
  if (state.status && state.status.start_time !== st.start_time) resetAllData();
  state.status = st;
}

async function tick() {
  const t0 = Date.now();
  state.ticking = true;
  const slow = setTimeout(() => setConn(false,
    `waiting: no answer from the server for ${SLOW_MS / 1000} s`), SLOW_MS);
  try {
    if (!state.status || state.failures > 0) await loadStatus();
    const slow = state.series.length > SERIES_FAST_MAX;
    let seriesP = null;
    if (state.seriesStale || !slow || state.ticks % SERIES_SLOW_TICKS === 0) {
      seriesP = getJSON("/api/v1/series").then((s) => {
        state.series = Array.isArray(s) ? s : [];
        state.seriesStale = false;
        renderSeries();
      });
    }
    state.ticks++;
    await Promise.all([seriesP, ...state.charts.map((ch) => ch.refresh().catch((err) => {
      if (err.status && err.status < 500) ch.fail(err); // this chart's query is wrong
      else throw err;
    }))]);
    state.failures = 0;
    setConn(true, `live · v${state.status.version} · every ${state.status.interval_seconds} s`);
  } catch (err) {
    state.failures++;
    setConn(false, `disconnected (${err.message}); retrying`);
  } finally {
    clearTimeout(slow);
    state.ticking = false;
  }
  schedule(Date.now() - t0);
}

function schedule(spentMs) {
  clearTimeout(state.timer);
  if (document.hidden) return; // visibilitychange restarts it
  let wait = periodMs() - spentMs;
  if (state.failures > 0) wait = Math.min(MAX_BACKOFF_MS, periodMs() * 2 ** Math.min(state.failures, 5));
  if (!state.range.preset && state.failures === 0 && state.charts.every((c) => c.loaded)) {
    wait = periodMs() * 5; // a fixed window: only the series list changes
  }
  state.timer = setTimeout(tick, Math.max(0, wait));
}

// Runs a tick now (after a change), unless one is running.
function kick() {
  if (state.ticking) return;
  clearTimeout(state.timer);
  state.timer = setTimeout(tick, 0);
}

// ------------------------------------------------------------ controls

function toLocalInput(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function showRange() {
  for (const b of document.querySelectorAll("[data-range]")) {
    b.setAttribute("aria-pressed", String(b.dataset.range === state.range.preset));
  }
  // The inputs follow the window until the user edits them.
  if (!state.formDirty) {
    const [from, to] = currentWindow();
    $("#from").value = toLocalInput(from);
    $("#to").value = toLocalInput(to);
  }
  const all = document.querySelector('[data-range="all"]');
  if (state.status) all.title = `The whole retention window (${fmtValue(state.status.retention_seconds, "seconds")})`;
}

function clearRangeError() {
  $("#to").setCustomValidity("");
  $("#to").title = "";
}

function setRange(r) {
  state.range = r;
  state.formDirty = false;
  state.badRange = null;
  clearRangeError();
  resetAllData();
  writeURL(true);
  showRange();
  kick();
}

function wire() {
  for (const b of document.querySelectorAll("[data-range]")) {
    b.addEventListener("click", () => setRange({ preset: b.dataset.range, from: 0, to: 0 }));
  }
  $("#custom").addEventListener("input", () => {
    state.formDirty = true;
    clearRangeError();
  });
  $("#custom").addEventListener("submit", (e) => {
    e.preventDefault();
    const from = Date.parse($("#from").value) / 1000;
    const to = Date.parse($("#to").value) / 1000;
    if (!(to > from)) {
      // Beside the field and kept until the next edit (the header's
      // status line is rewritten by the next tick).
      $("#to").setCustomValidity("The range must end after it starts.");
      $("#to").reportValidity();
      return;
    }
    setRange({ preset: null, from, to });
  });
  let debounce = 0;
  $("#search").addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      renderSeries();
      if (state.series.length > SERIES_FAST_MAX) {
        state.seriesStale = true; // a large list: read it again now
        kick();
      }
    }, 80);
  });
  window.addEventListener("popstate", () => {
    readURL();
    state.formDirty = false;
    resetAllData();
    showRange();
    showBadRange();
    rebuildUserCharts();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) kick();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    for (const ch of state.charts) ch.shape = ""; // rebuilt with the new colors
    kick();
  });
  setInterval(showRange, 1000);
}

// The custom range inputs show a link's reversed range, marked, instead
// of the window drawn (a preset) until the user edits them.
function showBadRange() {
  if (!state.badRange) return;
  state.formDirty = true;
  $("#from").value = toLocalInput(state.badRange[0]);
  $("#to").value = toLocalInput(state.badRange[1]);
  const why = "The link's range ends before it starts: the charts show " +
    `the last ${state.range.preset}. Correct the range and apply it.`;
  $("#to").setCustomValidity(why);
  $("#to").title = why;
}

function start() {
  readURL();
  writeURL(false);
  const box = $("#overview");
  state.charts = OVERVIEW.map((def) => new Chart(def, box, null));
  rebuildUserCharts();
  showRange();
  showBadRange();
  wire();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
