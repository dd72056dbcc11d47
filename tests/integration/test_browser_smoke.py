#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/browser with Debian's headless Chromium: the cache is prepared once and a second
prepare does nothing; a Node script run through it opens a page served over loopback with a
Content-Security-Policy, clicks a button whose handler lives in an external script, sees the
text change, reads a response header and takes a PNG screenshot; an inline script on a page
under `default-src 'self'` does not run (and does on the same page served without the policy,
so the check can fail).

The cache is $FIREGATE_BUILD_DIR/browser, so only the first run on a build directory pays for
the npm install (docs/browser-tests.md).
"""

import http.server
import json
import os
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

BROWSER = fgtest.ROOT / "scripts" / "browser"
BUILD = Path(os.environ.get("FIREGATE_BUILD_DIR", fgtest.ROOT / "build" / "debug"))
CACHE = BUILD / "browser"
CSP = "default-src 'self'"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

INDEX = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>firegate browser smoke</title>
<script src="/app.js" defer></script></head>
<body><button id="ack" type="button">Acknowledge</button>
<p id="state">alarm open</p></body></html>
"""
APP_JS = b"""document.getElementById('ack').addEventListener('click', () => {
  document.getElementById('state').textContent = 'acknowledged';
});
"""
# The external probe loads first and records what the policy refused; the inline script after
# it would overwrite the text if it ran.
INLINE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>inline</title>
<script src="/probe.js"></script></head>
<body><p id="inline">inline blocked</p>
<script>document.getElementById('inline').textContent = 'inline ran';</script>
</body></html>
"""
PROBE_JS = b"""window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.violations.push(e.effectiveDirective + ' ' + e.blockedURI);
});
"""
PAGES = {
    "/": ("text/html; charset=utf-8", INDEX, True),
    "/app.js": ("text/javascript", APP_JS, True),
    "/inline": ("text/html; charset=utf-8", INLINE, True),
    "/inline-no-csp": ("text/html; charset=utf-8", INLINE, False),
    "/probe.js": ("text/javascript", PROBE_JS, True),
}

DRIVER = r"""
const { chromium } = require('playwright-core');
const [base, shot] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.FIREGATE_CHROMIUM,
    // The tests run as root in CI containers, and Chromium refuses to start as root with its
    // sandbox; the pages are our own, served over loopback.
    args: ['--no-sandbox'],
    headless: true,
  });
  const out = { version: browser.version() };
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const response = await page.goto(base + '/', { waitUntil: 'load' });
    out.status = response.status();
    out.csp = await response.headerValue('content-security-policy');
    out.before = await page.textContent('#state');
    await page.click('#ack');
    await page.waitForFunction(
      () => document.getElementById('state').textContent !== 'alarm open', null,
      { timeout: 5000 });
    out.after = await page.textContent('#state');
    await page.screenshot({ path: shot });
    out.pageErrors = errors;

    for (const [key, path] of [['inline', '/inline'], ['noCsp', '/inline-no-csp']]) {
      const p = await browser.newPage();
      const messages = [];
      p.on('console', (m) => messages.push(m.type() + ': ' + m.text()));
      await p.goto(base + path, { waitUntil: 'load' });
      out[key] = {
        text: await p.textContent('#inline'),
        violations: await p.evaluate(() => window.violations),
        console: messages,
      };
      await p.close();
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e && e.stack || e);
  process.exit(1);
});
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        page = PAGES.get(self.path)
        if page is None:
            self.send_error(404)
            return
        kind, body, with_csp = page
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if with_csp:
            self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def browser(*args, timeout):
    started = time.monotonic()
    done = fgtest.run(BROWSER, *args, timeout=timeout)
    return done, time.monotonic() - started


def explain(done):
    return f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


class BrowserSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prepared, cls.prepare_seconds = browser("prepare", "--cache", CACHE, timeout=240)
        if cls.prepared.returncode != 0:
            raise AssertionError(f"browser prepare failed: {explain(cls.prepared)}")
        cls.again, cls.again_seconds = browser("prepare", "--cache", CACHE, timeout=30)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                script = Path(tmp) / "smoke.js"
                script.write_text(DRIVER)
                shot = Path(tmp) / "page.png"
                base = f"http://127.0.0.1:{server.server_address[1]}"
                cls.ran, cls.run_seconds = browser("run", "--cache", CACHE, script, base, shot,
                                                   timeout=120)
                cls.screenshot = shot.read_bytes() if shot.exists() else b""
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
        cls.result = None
        if cls.ran.returncode == 0 and cls.ran.stdout.strip():
            cls.result = json.loads(cls.ran.stdout.strip().splitlines()[-1])
        print(f"browser: prepare {cls.prepare_seconds:.1f} s, again {cls.again_seconds:.2f} s, "
              f"run {cls.run_seconds:.1f} s", file=sys.stderr)

    def results(self):
        self.assertIsNotNone(self.result, explain(self.ran))
        return self.result

    def test_a_second_prepare_does_nothing(self):
        self.assertEqual(self.again.returncode, 0, explain(self.again))
        self.assertIn("cache ready", self.again.stderr)
        self.assertNotIn("installing", self.again.stderr)
        # It takes a few hundredths of a second; the margin is for a loaded CI machine.
        self.assertLess(self.again_seconds, 5)

    def test_it_drives_debians_chromium(self):
        self.assertRegex(self.results()["version"], r"^\d+\.\d+\.\d+\.\d+$")

    def test_a_click_runs_the_external_handler(self):
        out = self.results()
        self.assertEqual(out["status"], 200)
        self.assertEqual(out["before"], "alarm open")
        self.assertEqual(out["after"], "acknowledged")
        self.assertEqual(out["pageErrors"], [])

    def test_response_headers_are_readable(self):
        self.assertEqual(self.results()["csp"], CSP)

    def test_the_screenshot_is_a_png(self):
        self.results()
        self.assertTrue(self.screenshot.startswith(PNG_MAGIC), self.screenshot[:16])
        self.assertGreater(len(self.screenshot), 1000)

    def test_the_policy_blocks_an_inline_script(self):
        inline = self.results()["inline"]
        self.assertEqual(inline["text"], "inline blocked", inline)
        self.assertEqual(inline["violations"], ["script-src-elem inline"], inline)
        self.assertTrue(any("Content Security Policy" in line for line in inline["console"]),
                        inline)

    def test_without_the_policy_the_inline_script_runs(self):
        no_csp = self.results()["noCsp"]
        self.assertEqual(no_csp["text"], "inline ran", no_csp)
        self.assertEqual(no_csp["violations"], [], no_csp)

    def test_run_without_a_prepared_cache_says_how_to_prepare(self):
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "noop.js"
            script.write_text("")
            done, _ = browser("run", "--cache", Path(tmp) / "empty", script, timeout=30)
        self.assertEqual(done.returncode, 125, explain(done))
        self.assertIn("scripts/browser prepare --cache", done.stderr)


if __name__ == "__main__":
    unittest.main()
