// lib.mjs - shared by the dashboard's browser tests and its bench:
// start the real binary on a free port, launch Debian's Chromium
// headless through playwright-core (pinned in web/package-lock.json).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

export const CHROMIUM = process.env.SB_CHROMIUM || "/usr/bin/chromium";

// Starts `[...wrap] bin serve --listen 127.0.0.1:PORT ...extra` and
// resolves with {proc, port, base, stderr()} once the "listening
// address=" line shows, or rejects after timeoutMs. wrap is a command
// prefix such as ["taskset", "-c", "1"] (the bench pins the server);
// port 0 lets the kernel pick a free one.
export function startServer(bin, extra = [], timeoutMs = 20000, wrap = [], port = 0) {
  return new Promise((resolve, reject) => {
    const argv = [...wrap, bin, "serve", "--listen", `127.0.0.1:${port}`, ...extra];
    const proc = spawn(argv[0], argv.slice(1), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no listening line within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    function finish(e, port) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        proc.kill("SIGKILL");
        reject(e);
      } else {
        resolve({ proc, port, base: `http://127.0.0.1:${port}`, stderr: () => err });
      }
    }
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (d) => {
      if (err.length < 1 << 20) err += d;
      const m = /listening address=127\.0\.0\.1:(\d+)/.exec(err);
      if (m) finish(null, Number(m[1]));
    });
    proc.on("exit", (code) => finish(new Error(`server exited (${code}) before listening:\n${err}`)));
    proc.on("error", (e) => finish(e));
  });
}

// SIGTERM, then SIGKILL if it has not exited after graceMs. Resolves
// with the exit code (null when killed).
export function stopServer(srv, graceMs = 10000) {
  return new Promise((resolve) => {
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
      resolve(srv.proc.exitCode);
      return;
    }
    const t = setTimeout(() => srv.proc.kill("SIGKILL"), graceMs);
    srv.proc.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
    srv.proc.kill("SIGTERM");
  });
}

// A headless Chromium with a fresh profile; close() also removes it.
export async function launchBrowser(viewport = { width: 1280, height: 900 }) {
  if (!existsSync(CHROMIUM)) {
    const e = new Error(`${CHROMIUM} is missing`);
    e.skip = true;
    throw e;
  }
  const profile = mkdtempSync(join(tmpdir(), "sb-chromium-"));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      timeout: 60000,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage"],
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    e.skip = true; // Chromium is there but cannot start here
    throw e;
  }
  return {
    ctx,
    async close() {
      await ctx.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Resolves when every overview chart holds at least one point; rejects
// after timeoutMs.
export async function waitOverview(page, timeoutMs) {
  await page.waitForFunction(() => {
    const figs = document.querySelectorAll("#overview figure.chart");
    return figs.length > 0 && [...figs].every((f) => Number(f.dataset.points) > 0);
  }, null, { timeout: timeoutMs, polling: 50 });
}
