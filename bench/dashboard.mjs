// bench/dashboard.mjs SCOREBOARD_BIN RUNS IDLE_SECONDS
//
// The dashboard's costs, printed as bench/run.sh raw result lines
// ("result<TAB>key<TAB>scoreboard<TAB>value") on stdout:
//   dashboard_page_bytes, dashboard_page_gzip_bytes
//       bytes on the wire for GET / and every /assets/ file the page
//       names, without and with Accept-Encoding: gzip;
//   dashboard_first_chart_ms, dashboard_all_charts_ms
//       from navigation start to the first overview chart holding data,
//       and to all of them, in a fresh headless Chromium (new profile,
//       empty cache) on loopback; one figure per load, RUNS loads;
//   dashboard_idle_cpu_s_per_min, dashboard_live_cpu_s_per_min,
//   dashboard_live_rps
//       server CPU (schedstat of its threads) over IDLE_SECONDS with no
//       page open, then with one dashboard open on the default 15m range,
//       and the requests per second that page makes; RUNS times.
// The server runs under $BENCH_SERVER_WRAP (e.g. "taskset -c 1").

import { readFileSync, readdirSync } from "node:fs";
import { launchBrowser, startServer, stopServer } from "../tests/browser/lib.mjs";

const [bin, runsArg, idleArg] = process.argv.slice(2);
const RUNS = Number(runsArg || 3);
const IDLE = Number(idleArg || 20);
if (!bin || !(RUNS >= 1) || !(IDLE > 0)) {
  console.error("usage: dashboard.mjs SCOREBOARD_BIN RUNS IDLE_SECONDS");
  process.exit(2);
}
const wrap = (process.env.BENCH_SERVER_WRAP || "").split(" ").filter(Boolean);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function record(key, value) {
  if (!Number.isFinite(value)) throw new Error(`${key}: no figure (${value})`);
  console.log(`result\t${key}\tscoreboard\t${value}`);
}

// Nanoseconds on CPU of every live thread of pid.
function cpuNs(pid) {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      n += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

// The server's pid: the child itself, or the program taskset execs.
const serverPid = (srv) => srv.proc.pid;

async function pageWeight(base) {
  const html = await (await fetch(`${base}/`)).text();
  const paths = ["/", ...[...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1])];
  let raw = 0;
  let gz = 0;
  for (const p of paths) {
    // fetch() would decode gzip; count the bytes of each form from the
    // Content-Length the server sends.
    for (const enc of ["identity", "gzip"]) {
      const r = await fetch(`${base}${p}`, { headers: { "Accept-Encoding": enc } });
      if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`);
      const len = Number(r.headers.get("content-length"));
      await r.arrayBuffer();
      if (enc === "gzip") gz += len;
      else raw += len;
    }
  }
  record("dashboard_page_bytes", raw);
  record("dashboard_page_gzip_bytes", gz);
}

async function firstChart(base) {
  const browser = await launchBrowser();
  try {
    const page = await browser.ctx.newPage();
    await page.goto(`${base}/`, { waitUntil: "commit" });
    const first = await page.waitForFunction(() => {
      const f = [...document.querySelectorAll("#overview figure.chart")];
      return f.some((x) => Number(x.dataset.points) > 0) && performance.now();
    }, null, { timeout: 60000, polling: "raf" });
    const all = await page.waitForFunction(() => {
      const f = [...document.querySelectorAll("#overview figure.chart")];
      return f.length > 0 && f.every((x) => Number(x.dataset.points) > 0) && performance.now();
    }, null, { timeout: 60000, polling: "raf" });
    record("dashboard_first_chart_ms", await first.jsonValue());
    record("dashboard_all_charts_ms", await all.jsonValue());
  } finally {
    await browser.close();
  }
}

async function liveCost(base, pid) {
  let c0 = cpuNs(pid);
  await sleep(IDLE * 1000);
  record("dashboard_idle_cpu_s_per_min", ((cpuNs(pid) - c0) / 1e9) * (60 / IDLE));
  const browser = await launchBrowser();
  try {
    const page = await browser.ctx.newPage();
    let requests = 0;
    page.on("request", () => requests++);
    await page.goto(`${base}/`);
    await sleep(2000); // past the page's first full reads
    requests = 0;
    c0 = cpuNs(pid);
    await sleep(IDLE * 1000);
    record("dashboard_live_cpu_s_per_min", ((cpuNs(pid) - c0) / 1e9) * (60 / IDLE));
    record("dashboard_live_rps", requests / IDLE);
  } finally {
    await browser.close();
  }
}

async function main() {
  const srv = await startServer(bin, [], 20000, wrap);
  try {
    await sleep(2500); // the collectors' first ticks: data to draw
    await pageWeight(srv.base);
    for (let i = 0; i < RUNS; i++) await firstChart(srv.base);
  } finally {
    await stopServer(srv);
  }
  for (let i = 0; i < RUNS; i++) {
    const s = await startServer(bin, [], 20000, wrap);
    try {
      await sleep(2000);
      await liveCost(s.base, serverPid(s));
    } finally {
      await stopServer(s);
    }
  }
}

main().catch((err) => {
  console.error(`dashboard bench: ${err.stack || err}`);
  process.exit(1);
});
