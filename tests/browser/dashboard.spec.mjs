// dashboard.spec.mjs SCOREBOARD_BIN ARTIFACT_DIR
//
// End-to-end tests of the dashboard in headless Chromium against the
// real binary (started on a free port):
//   1. the overview charts render with data, byte axes on round binary
//      units; a screenshot is saved as ARTIFACT_DIR/dashboard.png;
//   2. a metric pushed with POST /metrics while the page is open shows
//      in the series browser, and in its chart once added, each within
//      two seconds of being stored;
//   3. the URL of that view, opened in a new page, restores the charts
//      and the range;
//   3b. a custom from-to range is applied, kept in the URL, survives a
//      reload and is drawn;
//   3b'. adding a series that is already charted (click, then Enter)
//      focuses that chart instead of adding a copy;
//   3c. the custom range inputs show their whole date at 1280 and 375 px;
//      a range ending before it starts is refused with an error on the
//      field that stays until the next edit;
//   3c'. a link with from after to draws the last 15m and shows its
//      range in the inputs, marked invalid, for the user to correct;
//   3d'. a chart's legend shows its newest values from its first drawing;
//   3d. a fixed range with no data in it is read every 5 intervals, not
//      every interval;
//   4. keyboard: Tab reaches the range presets and the search box, a
//      range preset is chosen with Enter, a focused chart's legend steps
//      through its points with the arrow keys;
//   5. a 375 px wide screen scrolls no sideways; the dark scheme changes
//      the colors;
//   4b. a chart of +Inf (avg) or NaN (last) values says so in its legend
//      and message instead of "no data";
//   4c. two series whose label texts join alike ({x: "1,y=2"} and
//      {x: "1", y: "2"}) are two lines;
//   4d. a series whose label value starts with '~' (which KEY=~ would
//      read as a regex) is charted when clicked in the list;
//   5b. hostile input: ?range=toString (an Object property, no preset)
//      falls back to 15m; a search word constructor=x breaks nothing;
// and through all of them no console error, page error, failed request
// or HTTP error status. Last, on a page of its own (refused connections
// are expected there):
//   6a. when the server stops answering (SIGSTOP: connections are still
//      accepted), the page says so instead of looking live;
//   6b. the time it was stopped shows as a gap in the charts (a point
//      without value when read with the arrow keys), not a straight line;
//   6. when the server stops, the page says it is disconnected; when a
//      new server starts on the same port, the page reconnects by itself
//      and draws the new server's data.
//
// Every wait is bounded. The two-second bound of test 2 is the issue's
// requirement; a miss is measured again once with a fresh metric, so one
// scheduling hiccup on a loaded machine does not fail the run, while a
// page that polls too slowly fails both. Exit 0 = pass, 1 = fail,
// 77 = Chromium cannot run here (skipped).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, startServer, stopServer, waitOverview } from "./lib.mjs";

// SB_CHROMIUM overrides /usr/bin/chromium (lib.mjs); a missing one skips.
const [bin, artifacts] = process.argv.slice(2);
if (!bin || !artifacts) {
  console.error("usage: dashboard.spec.mjs SCOREBOARD_BIN ARTIFACT_DIR");
  process.exit(2);
}

mkdirSync(artifacts, { recursive: true });

const LIVE_MS = 2000; // the issue's bound for a pushed metric to show
const WAIT_MS = 30000; // any other wait
const problems = []; // console errors, failed requests, HTTP errors
let failed = 0;

function ok(name, extra = "") {
  console.log(`ok - ${name}${extra ? ` (${extra})` : ""}`);
}

function notOk(name, err) {
  failed++;
  console.log(`not ok - ${name}: ${err && err.stack ? err.stack : err}`);
}

async function check(name, fn) {
  try {
    const extra = await fn();
    ok(name, extra);
  } catch (err) {
    notOk(name, err);
  }
}

function watch(page, tag) {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${tag} console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${tag} page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    const why = r.failure()?.errorText || "";
    // The test's own navigations cancel the page's polls in flight.
    if (why === "net::ERR_ABORTED") return;
    problems.push(`${tag} request failed: ${r.url()} ${why}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${tag} HTTP ${r.status()}: ${r.url()}`);
  });
}

async function push(base, name, labels, value) {
  const r = await fetch(`${base}/metrics`, {
    method: "POST",
    body: JSON.stringify({ name, labels, value }),
  });
  if (r.status !== 204) throw new Error(`POST /metrics: ${r.status} ${await r.text()}`);
}

function userCharts(page) {
  return page.$$eval("#charts figure.chart .title", (els) => els.map((e) => e.textContent));
}

// Pushes a fresh metric (and keeps pushing it), waits for it in the
// series list, adds its chart, waits for points. Returns the two delays
// in ms, measured from the first stored point.
async function pushAndFind(page, base, name) {
  const labels = { source: "browser-test" };
  await push(base, name, labels, 42);
  const t0 = Date.now();
  const pusher = setInterval(() => push(base, name, labels, 40 + Math.random() * 4).catch(() => {}), 250);
  try {
    await page.fill("#search", `${name} source=browser`);
    const button = page.locator("#series-list button", { hasText: name });
    await button.first().waitFor({ timeout: WAIT_MS });
    const listed = Date.now() - t0;
    const t1 = Date.now();
    await button.first().click();
    await page.waitForFunction((n) => [...document.querySelectorAll("#charts figure.chart")]
      .some((f) => f.querySelector(".title").textContent.startsWith(n) && Number(f.dataset.points) > 0),
    name, { timeout: WAIT_MS, polling: 50 });
    return { listed, charted: Date.now() - t1 };
  } finally {
    clearInterval(pusher);
  }
}

async function main() {
  let srv = await startServer(bin);
  let browser;
  try {
    try {
      browser = await launchBrowser();
    } catch (err) {
      if (err.skip) {
        console.error(`SKIP: headless Chromium cannot start here: ${err.message}`);
        return 77;
      }
      throw err;
    }
    const page = await browser.ctx.newPage();
    watch(page, "page1");

    await check("overview charts render with data", async () => {
      const t0 = Date.now();
      await page.goto(`${srv.base}/`, { waitUntil: "load" });
      await waitOverview(page, WAIT_MS);
      const n = await page.locator("#overview figure.chart").count();
      if (n < 5) throw new Error(`${n} overview charts`);
      // A route's p50 and p99 lines share a color, p99 dashed; routes
      // differ (10 colors, 8 routes).
      const marks = await page.$$eval('[data-chart="latency"] .u-legend .u-series', (rows) => rows.slice(1)
        .map((r) => [r.querySelector(".u-label").textContent, r.querySelector(".u-marker").style.border]));
      const p50 = new Map(marks.filter(([l]) => l.endsWith(" p50")).map(([l, b]) => [l.slice(0, -4), b]));
      const colors = [...p50.values()].map((b) => b.replace(/^.*(rgb.*)$/, "$1"));
      if (p50.size < 2 || new Set(colors).size !== p50.size) throw new Error(`p50 markers ${JSON.stringify(marks)}`);
      for (const [l, b] of marks.filter(([x]) => x.endsWith(" p99"))) {
        const mine = p50.get(l.slice(0, -4)) || "";
        if (!/dashed/.test(b) || b.replace("dashed", "solid") !== mine) {
          throw new Error(`${l}: marker ${b}, its p50's ${mine}`);
        }
      }
      // Byte axes tick on round binary units (9.25 MiB), not 8.58 MiB.
      for (const id of ["rss", "sysmem"]) {
        const ticks = (await page.getAttribute(`[data-chart="${id}"]`, "data-yticks")) || "";
        const odd = ticks.split("|").filter((t) => {
          const m = /^(-?[\d.]+) (B|KiB|MiB|GiB|TiB)$/.exec(t);
          return !m || Math.abs(Number(m[1]) * 1024 - Math.round(Number(m[1]) * 1024)) > 1e-6;
        });
        if (!ticks || odd.length) throw new Error(`${id} axis ticks ${ticks}`);
      }
      const shot = join(artifacts, "dashboard.png");
      await page.screenshot({ path: shot, fullPage: false });
      return `${n} charts, first data after ${Date.now() - t0} ms; ${shot}`;
    });

    let url = "";
    await check("a pushed metric shows in the browser and its chart within 2 s", async () => {
      let m = await pushAndFind(page, srv.base, `browser_test_metric_${process.pid}`);
      const first = m;
      if (m.listed > LIVE_MS || m.charted > LIVE_MS) {
        await page.goto(`${srv.base}/`);
        m = await pushAndFind(page, srv.base, `browser_test_again_${process.pid}`);
      }
      if (m.listed > LIVE_MS) throw new Error(`listed after ${m.listed} ms (first try ${first.listed})`);
      if (m.charted > LIVE_MS) throw new Error(`charted after ${m.charted} ms (first try ${first.charted})`);
      url = page.url();
      if (!/[?&]chart=browser_test_/.test(url)) throw new Error(`URL lacks the chart: ${url}`);
      return `listed ${m.listed} ms, charted ${m.charted} ms`;
    });

    await check("a bookmarked URL restores the same charts and range", async () => {
      if (!url) throw new Error("no URL from the previous test");
      await page.click('[data-range="5m"]');
      await page.waitForFunction(() => location.search.includes("range=5m"), null, { timeout: WAIT_MS });
      url = page.url();
      const want = await userCharts(page);
      const page2 = await browser.ctx.newPage();
      watch(page2, "page2");
      await page2.goto(url);
      await page2.waitForFunction(() => {
        const f = document.querySelectorAll("#charts figure.chart");
        return f.length > 0 && [...f].every((x) => Number(x.dataset.points) > 0);
      }, null, { timeout: WAIT_MS, polling: 50 });
      const got = await userCharts(page2);
      const pressed = await page2.getAttribute('[data-range="5m"]', "aria-pressed");
      await page2.close();
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`charts ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
      }
      if (pressed !== "true") throw new Error("the 5m range is not restored");
      return `${got.length} chart(s) from ${url.replace(srv.base, "")}`;
    });

    await check("a custom range is applied, kept in the URL and drawn", async () => {
      await page.goto(`${srv.base}/?range=15m`);
      await waitOverview(page, WAIT_MS);
      const [from, to] = await page.evaluate(() => {
        const local = (ms) => {
          const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
          return d.toISOString().slice(0, 19);
        };
        return [local(Date.now() - 600000), local(Date.now() + 60000)];
      });
      await page.fill("#from", from);
      await page.fill("#to", to);
      await page.click("#custom button[type=submit]");
      await page.waitForFunction(() => /[?&]from=.*&to=/.test(location.search), null, { timeout: WAIT_MS });
      await waitOverview(page, WAIT_MS);
      const pressed = await page.$$eval("[data-range]", (bs) => bs.filter((b) => b.getAttribute("aria-pressed") === "true").length);
      if (pressed !== 0) throw new Error("a preset still shows as chosen");
      const url = page.url();
      await page.reload();
      await waitOverview(page, WAIT_MS);
      if (page.url() !== url) throw new Error(`reload changed the URL: ${url} -> ${page.url()}`);
      // Chromium drops ":00" seconds from the value: compare the times.
      const fromNow = await page.inputValue("#from");
      if (Date.parse(fromNow) !== Date.parse(from)) throw new Error(`from is ${fromNow}, not ${from}`);
      return url.replace(srv.base, "");
    });

    await check("the custom range form: dates not clipped; a reversed range refused where it stays", async () => {
      await page.goto(`${srv.base}/?range=15m`);
      await waitOverview(page, WAIT_MS);
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 800 });
        const clipped = await page.$$eval("#custom input", (is) => is.filter((i) => {
          const w = i.offsetWidth;
          i.style.maxWidth = "none";
          const natural = i.offsetWidth;
          i.style.maxWidth = "";
          return w < natural;
        }).map((i) => i.id));
        if (clipped.length) throw new Error(`at ${width} px the date of ${clipped} is cut off`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.fill("#from", "2026-12-04T09:00:00");
      await page.fill("#to", "2026-12-04T07:00:00");
      await page.click("#custom button[type=submit]");
      await page.waitForTimeout(2500); // the next ticks must not wipe the error
      const why = await page.evaluate(() => document.querySelector("#to").validationMessage);
      if (!/end after it starts/.test(why)) throw new Error(`no error on the field: '${why}'`);
      if (!/[?&]range=15m/.test(page.url())) throw new Error(`range changed: ${page.url()}`);
      await page.fill("#to", "2026-12-04T10:00:00"); // an edit clears it
      if (await page.evaluate(() => document.querySelector("#to").validationMessage)) {
        throw new Error("the error stays after an edit");
      }
      return why;
    });

    await check("a link whose range ends before it starts shows 15m and says so on the range inputs", async () => {
      await page.goto(`${srv.base}/?from=2026-12-04T09:00:00Z&to=2026-12-04T07:00:00Z`);
      await waitOverview(page, WAIT_MS);
      await page.waitForTimeout(1500); // a tick or more must not undo it
      const why = await page.evaluate(() => document.querySelector("#to").validationMessage);
      if (!/ends before it starts/.test(why)) throw new Error(`no error on the field: '${why}'`);
      const from = Date.parse(await page.inputValue("#from"));
      const to = Date.parse(await page.inputValue("#to"));
      if (!(from - to === 2 * 3600 * 1000)) throw new Error(`inputs ${from} ${to} do not hold the link's range`);
      if (await page.getAttribute('[data-range="15m"]', "aria-pressed") !== "true") throw new Error("15m not shown");
      await page.click('[data-range="5m"]'); // choosing a range clears it
      if (await page.evaluate(() => document.querySelector("#to").validationMessage)) {
        throw new Error("the error stays after choosing 5m");
      }
      return why;
    });

    await check("a chart's legend shows the newest values as soon as it is drawn", async () => {
      // A fixed range is read again only after 5 intervals: the legend
      // must not wait for that second read.
      const iso = (ms) => new Date(ms).toISOString();
      await page.goto(`${srv.base}/?from=${iso(Date.now() - 600000)}&to=${iso(Date.now() + 60000)}`);
      await waitOverview(page, WAIT_MS);
      const times = () => page.$$eval("#overview figure.chart .u-legend .u-series:first-child .u-value",
        (vs) => vs.map((v) => v.textContent));
      await page.waitForFunction(() => [...document.querySelectorAll(
        "#overview figure.chart .u-legend .u-series:first-child .u-value")].every((v) => v.textContent !== "—"),
      null, { timeout: 2000, polling: 50 }).catch(async () => {
        throw new Error(`legend times ${JSON.stringify(await times())}`);
      });
      return (await times())[0];
    });

    await check("a fixed range without data is not read again every second", async () => {
      await page.goto(`${srv.base}/?from=1999-01-01T00:00:00Z&to=1999-01-01T01:00:00Z`);
      await page.waitForFunction(() => [...document.querySelectorAll("#overview figure.chart .msg")]
        .every((m) => m.textContent.startsWith("No data")), null, { timeout: WAIT_MS, polling: 50 });
      let queries = 0;
      const count = (r) => { if (r.url().includes("/api/v1/query")) queries++; };
      page.on("request", count);
      await page.waitForTimeout(6000);
      page.off("request", count);
      // A fixed window is read again every 5 intervals: at most 2 rounds
      // of the 7 overview queries in 6 s (one round a second before).
      if (queries > 14) throw new Error(`${queries} range queries in 6 s`);
      return `${queries} range queries in 6 s`;
    });

    await check("keyboard: Tab reaches the presets and the search box", async () => {
      await page.goto(`${srv.base}/?range=15m`);
      await waitOverview(page, WAIT_MS);
      const seen = [];
      for (let i = 0; i < 40 && !seen.includes("search"); i++) {
        await page.keyboard.press("Tab");
        seen.push(await page.evaluate(() => {
          const el = document.activeElement;
          return el.dataset.range ? `range:${el.dataset.range}` : el.id || el.tagName;
        }));
      }
      if (!seen.includes("range:1h")) throw new Error(`no preset in the tab order: ${seen}`);
      if (!seen.includes("search")) throw new Error(`no search box in the tab order: ${seen}`);
      await page.focus('[data-range="1h"]');
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => location.search.includes("range=1h"), null, { timeout: WAIT_MS });
      const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      if (ring === "none") throw new Error("the focused preset shows no focus ring");
      // A focused chart reads its points with the arrow keys.
      await waitOverview(page, WAIT_MS);
      await page.waitForFunction(() => Number(document.querySelector('[data-chart="rss"]').dataset.points) > 1,
        null, { timeout: WAIT_MS });
      const legendTime = () => page.textContent('[data-chart="rss"] .u-legend .u-series .u-value');
      await page.focus('[data-chart="rss"] .plot');
      await page.keyboard.press("End");
      const last = await legendTime();
      await page.keyboard.press("ArrowLeft");
      const before = await legendTime();
      if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(last) || !(before < last)) {
        throw new Error(`arrow keys: legend time ${last} then ${before}`);
      }
      return `${seen.length} tabs; chart read at ${last} then ${before}`;
    });

    await check("375 px wide without sideways scrolling; dark scheme", async () => {
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(`${srv.base}/`);
      await waitOverview(page, WAIT_MS);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > 375) throw new Error(`page is ${wide} px wide`);
      const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await page.emulateMedia({ colorScheme: "dark" });
      const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      if (light === dark) throw new Error(`background ${light} in both schemes`);
      await page.screenshot({ path: join(artifacts, "dashboard-phone-dark.png") });
      return `light ${light}, dark ${dark}`;
    });

    await check("adding a series already charted focuses that chart, adds no copy", async () => {
      await page.goto(`${srv.base}/?range=5m`);
      await waitOverview(page, WAIT_MS);
      await page.fill("#search", "process_resident_memory_bytes");
      const b = page.locator("#series-list button", { hasText: "process_resident_memory_bytes" }).first();
      await b.waitFor({ timeout: WAIT_MS });
      await b.click();
      await b.focus();
      await page.keyboard.press("Enter"); // the same series again, by keyboard
      const n = await page.locator("#charts figure.chart").count();
      const inURL = (page.url().match(/[?&]chart=/g) || []).length;
      if (n !== 1 || inURL !== 1) throw new Error(`${n} charts, ${inURL} in the URL`);
      const focused = await page.evaluate(() => document.activeElement.closest("#charts figure.chart") !== null);
      if (!focused) throw new Error("the chart is not focused");
    });

    await check("NaN and ±Inf values show in the legend, not as missing data", async () => {
      const inf = `browser_inf_${process.pid}`;
      const nan = `browser_nan_${process.pid}`;
      await push(srv.base, inf, {}, "+Inf");
      await push(srv.base, nan, {}, "NaN");
      await page.goto(`${srv.base}/?range=5m&chart=${inf}&chart=${nan};agg=last`);
      const read = () => page.$$eval("#charts figure.chart", (fs) => fs.map((f) => ({
        value: f.querySelector(".u-legend .u-series:nth-child(2) .u-value")?.textContent,
        msg: f.querySelector(".msg").textContent,
      })));
      await page.waitForFunction(() => {
        const v = [...document.querySelectorAll("#charts figure.chart .u-legend .u-series:nth-child(2) .u-value")];
        return v.length === 2 && v[0].textContent === "+Inf" && v[1].textContent === "NaN";
      }, null, { timeout: WAIT_MS, polling: 50 }).catch(async () => {
        throw new Error(`legend and message: ${JSON.stringify(await read())}`);
      });
      const got = await read();
      if (!got.every((g) => /NaN or infinite/.test(g.msg))) throw new Error(JSON.stringify(got));
      return `legend ${got[0].value}, ${got[1].value}`;
    });

    await check("series whose label values hold ',' and '=' stay apart in a chart", async () => {
      const name = `browser_collide_${process.pid}`;
      await push(srv.base, name, { x: "1,y=2" }, 1);
      await push(srv.base, name, { x: "1", y: "2" }, 5);
      await page.goto(`${srv.base}/?range=5m&chart=${name}`);
      const labels = () => page.$$eval("#charts figure.chart .u-legend .u-series .u-label",
        (ls) => ls.slice(1).map((l) => l.textContent));
      await page.waitForFunction(() => Number(document.querySelector("#charts figure.chart")?.dataset.points) > 0,
        null, { timeout: WAIT_MS, polling: 50 });
      const got = await labels();
      if (got.length !== 2) throw new Error(`lines ${JSON.stringify(got)}`);
      return got.join(" | ");
    });

    await check("a series whose label value starts with '~' is charted by a click", async () => {
      const name = `browser_tilde_${process.pid}`;
      const pusher = setInterval(() => push(srv.base, name, { path: "~/a.b(c)" }, 7).catch(() => {}), 250);
      try {
        await push(srv.base, name, { path: "~/a.b(c)" }, 7);
        await page.goto(`${srv.base}/?range=5m`);
        await page.fill("#search", name);
        const b = page.locator("#series-list button", { hasText: name }).first();
        await b.waitFor({ timeout: WAIT_MS });
        await b.click();
        await page.waitForFunction(() => Number(document.querySelector("#charts figure.chart")?.dataset.points) > 0,
          null, { timeout: WAIT_MS, polling: 50 }).catch(async () => {
          throw new Error(`chart ${await page.textContent("#charts figure.chart")}`);
        });
        return await page.textContent("#charts figure.chart .title");
      } finally {
        clearInterval(pusher);
      }
    });

    await check("hostile URL and search words that name Object's own properties", async () => {
      // "toString" is no range preset: the page falls back to 15m and
      // draws, rather than asking the server for from=NaN.
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${srv.base}/?range=toString`);
      await waitOverview(page, WAIT_MS);
      if (!/[?&]range=15m/.test(page.url())) throw new Error(`URL not repaired: ${page.url()}`);
      // A label word "constructor=x" matches no label and breaks nothing.
      await push(srv.base, "browser_proto_metric", { Constructor: "xyz" }, 1);
      await page.fill("#search", "constructor=x");
      await page.waitForFunction(() => /^1 series match/.test(document.querySelector("#series-count").textContent),
        null, { timeout: WAIT_MS, polling: 50 });
      await page.fill("#search", "constructor=nothing");
      await page.waitForFunction(() => /^0 series match/.test(document.querySelector("#series-count").textContent),
        null, { timeout: WAIT_MS, polling: 50 });
      await page.waitForTimeout(1500); // a tick or two with that search
      if (await page.evaluate(() => document.querySelector("#conn").classList.contains("bad"))) {
        throw new Error(`page says ${await page.textContent("#conn")}`);
      }
    });

    await check("a link with hundreds of charts draws at most 24 and says so", async () => {
      const charts = Array.from({ length: 200 }, (_, i) => `chart=browser_many_${i}`).join("&");
      await page.goto(`${srv.base}/?range=5m&${charts}`);
      await waitOverview(page, WAIT_MS);
      await page.waitForFunction(() => !document.querySelector("#charts-full").hidden,
        null, { timeout: WAIT_MS, polling: 50 });
      const n = await page.evaluate(() => document.querySelectorAll("#charts figure.chart").length);
      if (n !== 24) throw new Error(`${n} charts drawn`);
      const inUrl = (page.url().match(/[?&]chart=/g) || []).length;
      if (inUrl > 24) throw new Error(`${inUrl} charts kept in the URL`);
      return `${n} charts, ${inUrl} in the URL`;
    });

    await check("no console errors, failed requests or HTTP errors", async () => {
      if (problems.length) throw new Error(problems.slice(0, 20).join("\n"));
    });

    let stoppedPage = null; // page4, kept for the next check
    await check("says so when the server accepts connections but stops answering", async () => {
      const page4 = await browser.ctx.newPage();
      const bad = () => document.querySelector("#conn").classList.contains("bad");
      let ok = false;
      try {
        await page4.goto(`${srv.base}/?range=5m`);
        await waitOverview(page4, WAIT_MS);
        process.kill(srv.proc.pid, "SIGSTOP"); // the kernel still accepts connections
        try {
          await page4.waitForFunction(bad, null, { timeout: WAIT_MS, polling: 100 });
          const hung = await page4.textContent("#conn");
          // Then the requests time out: a failed tick, retried.
          await page4.waitForFunction(() => document.querySelector("#conn").textContent
            .startsWith("disconnected (no answer within"), null, { timeout: WAIT_MS, polling: 100 })
            .catch(() => {});
          const gaveUp = await page4.textContent("#conn");
          if (!gaveUp.startsWith("disconnected (no answer within")) throw new Error(`header says ${gaveUp}`);
          ok = true;
          return `${hung}; then ${gaveUp}`;
        } finally {
          process.kill(srv.proc.pid, "SIGCONT");
          await page4.waitForFunction(() => document.querySelector("#conn").textContent.startsWith("live"),
            null, { timeout: WAIT_MS }).catch(() => {});
        }
      } finally {
        if (ok) stoppedPage = page4;
        else await page4.close();
      }
    });

    await check("the time the server was stopped is a gap in the charts, not a line", async () => {
      if (!stoppedPage) throw new Error("no page from the previous test");
      const page4 = stoppedPage;
      try {
        await page4.waitForFunction(() => document.querySelector("#conn").textContent.startsWith("live"),
          null, { timeout: WAIT_MS });
        // Read the memory chart's points from the newest back: one of
        // them must be the gap (no value) left by the >10 s stop.
        const value = '[data-chart="rss"] .u-legend .u-series:nth-child(2) .u-value';
        const time = '[data-chart="rss"] .u-legend .u-series:nth-child(1) .u-value';
        for (let attempt = 0; attempt < 20; attempt++) {
          await page4.focus('[data-chart="rss"] .plot');
          await page4.keyboard.press("End");
          for (let i = 0; i < 60; i++) {
            if ((await page4.textContent(value)) === "—") return `gap at ${await page4.textContent(time)}`;
            await page4.keyboard.press("ArrowLeft");
          }
          await page4.keyboard.press("Escape");
          await page4.waitForTimeout(1000); // the points after the stop may not be in yet
        }
        throw new Error("no gap among the newest 60 points of the memory chart");
      } finally {
        await page4.close();
      }
    });

    await check("reconnects by itself when the server restarts", async () => {
      const page3 = await browser.ctx.newPage();
      const bad = () => document.querySelector("#conn").classList.contains("bad");
      await page3.goto(`${srv.base}/?range=5m`);
      await waitOverview(page3, WAIT_MS);
      const code = await stopServer(srv);
      if (code !== 0) throw new Error(`server exit ${code}`);
      await page3.waitForFunction(bad, null, { timeout: WAIT_MS });
      const t0 = Date.now();
      srv = await startServer(bin, [], 20000, [], srv.port);
      await page3.waitForFunction(() => {
        const conn = document.querySelector("#conn");
        return !conn.classList.contains("bad") && conn.textContent.startsWith("live");
      }, null, { timeout: WAIT_MS });
      await waitOverview(page3, WAIT_MS);
      await page3.close();
      return `live again ${Date.now() - t0} ms after the restart`;
    });
  } finally {
    if (browser) await browser.close();
    const code = await stopServer(srv);
    if (code !== 0) notOk("server stops cleanly", `exit ${code}\n${srv.stderr().slice(-2000)}`);
    writeFileSync(join(artifacts, "server.log"), srv.stderr());
  }
  return failed ? 1 : 0;
}

const guard = setTimeout(() => {
  console.log("not ok - the whole run took over 5 minutes");
  process.exit(1);
}, 300000);
guard.unref();

main().then((code) => {
  console.log(code === 0 ? "browser tests: all passed" : code === 77 ? "browser tests: skipped" : `browser tests: ${failed} failed`);
  process.exit(code);
}, (err) => {
  console.log(`not ok - ${err.stack || err}`);
  process.exit(1);
});
