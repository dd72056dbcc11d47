// SPDX-License-Identifier: GPL-2.0-or-later
// The security desk's page in Debian's headless Chromium against the real `firegate web`, the
// real daemon and a real Mosquitto broker (driven by test_desk_e2e.py, which starts them and
// checks what this script saw against the store). Run through scripts/browser:
//
//     scripts/browser run --cache DIR desk_e2e.js CONFIG_JSON
//
// CONFIG_JSON: {base, manager, viewer, throttled: {user, password}, publish and restore:
// [mosquitto_pub arguments], firegate: [the binary, --config, CONF], unit, detector, shots,
// daemon_pid}. Prints one JSON document on its last line: the facts seen, step by step; when a
// step fails, `failed` names it and later steps are not run, so the test can say exactly where
// it stopped.
'use strict';

const { chromium, request } = require('playwright-core');
const { execFile, spawn } = require('child_process');
const path = require('path');

const cfg = JSON.parse(process.argv[2]);
const out = { steps: [], console: {}, page_errors: {} };
const WAIT = { timeout: 10000 };
const VIEWPORT = { width: 1280, height: 800 };

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    out.steps.push({ name, ms: Date.now() - started });
  } catch (e) {
    out.failed = { step: name, error: String((e && e.stack) || e) };
    throw e;
  }
}

function publish(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn('mosquitto_pub', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${err}`)),
    );
  });
}

// How many readings of @detector the daemon has taken (`firegate status --detectors`).
function readings(detector) {
  return new Promise((resolve, reject) => {
    execFile(
      cfg.firegate[0],
      [...cfg.firegate.slice(1), 'status', '--detectors', '--json'],
      (err, stdout) => {
        if (err) return reject(err);
        const found = JSON.parse(stdout).find((d) => d.id === detector);
        return found ? resolve(found.readings) : reject(new Error(`no detector ${detector}`));
      },
    );
  });
}

function watch(page, name) {
  out.console[name] = [];
  out.page_errors[name] = [];
  page.on('console', (m) => out.console[name].push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => out.page_errors[name].push(String(e)));
}

async function login(page, who) {
  await page.waitForSelector('[data-testid=login-form]', { state: 'visible', ...WAIT });
  await page.fill('[data-testid=login-user]', who.user);
  await page.fill('[data-testid=login-password]', who.password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/login'), WAIT),
    page.click('[data-testid=login-submit]'),
  ]);
  return response;
}

async function loggedIn(page) {
  await page.waitForSelector('[data-testid=app-view]', { state: 'visible', ...WAIT });
  await page.waitForSelector('[data-testid=floors] .floor', WAIT);
  await page.waitForSelector('body[data-stream=live]', WAIT);
}

// The moment the alarmed unit's tile and its incident row are both on the page.
function alarmShown(page, unit) {
  return page.waitForFunction(
    (u) => {
      const tile = document.querySelector(`[data-testid="unit-${u}"]`);
      const row = document.querySelector('article[data-testid^="incident-"][data-kind="alarm"]');
      return tile && tile.dataset.state === 'alarm' && row ? row.dataset.id : null;
    },
    cfg.unit,
    { polling: 10, timeout: 10000 },
  );
}

async function status(req, method, url, options) {
  const r = await req.fetch(url, { method, failOnStatusCode: false, ...options });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  return { status: r.status(), body, headers: r.headers() };
}

const form = (csrf) => ({
  'Content-Type': 'application/x-www-form-urlencoded',
  ...(csrf === undefined ? {} : { 'X-CSRF-Token': csrf }),
});

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.FIREGATE_CHROMIUM,
    // The tests run as root in CI containers, where Chromium refuses its sandbox; the pages are
    // our own, served over loopback. The alarm tone must start without a click.
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
    headless: true,
  });
  out.browser = browser.version();
  const options = { ignoreHTTPSErrors: true, viewport: VIEWPORT, locale: 'vi-VN' };
  let manager;
  let viewer;
  let mctx;
  let vctx;
  let incident;
  try {
    await step('manager logs in', async () => {
      mctx = await browser.newContext(options);
      manager = await mctx.newPage();
      watch(manager, 'manager');
      const page = await manager.goto(`${cfg.base}/`);
      out.page_headers = page.headers();
      const me = await login(manager, cfg.manager);
      out.manager_login = { status: me.status(), set_cookie: await me.headerValue('set-cookie') };
      await loggedIn(manager);
      out.manager_me = await manager.evaluate(async () => (await fetch('/api/me')).json());
      out.manager_lang = await manager.evaluate(() => document.documentElement.lang);
      out.tile_before = await manager.getAttribute(
        `[data-testid="unit-${cfg.unit}"]`,
        'data-state',
      );
    });

    await step('viewer logs in', async () => {
      vctx = await browser.newContext({ ...options, locale: 'en-GB' });
      viewer = await vctx.newPage();
      watch(viewer, 'viewer');
      await viewer.goto(`${cfg.base}/`);
      const me = await login(viewer, cfg.viewer);
      out.viewer_login = { status: me.status() };
      await loggedIn(viewer);
      out.viewer_lang_first = await viewer.evaluate(() => document.documentElement.lang);
      // The account's choice of language outlives a reload.
      await viewer.click('[data-testid=lang-vi]');
      await viewer.reload();
      await loggedIn(viewer);
      out.viewer_lang_reloaded = await viewer.evaluate(() => document.documentElement.lang);
      await viewer.click('[data-testid=lang-en]');
      out.viewer_lang = await viewer.evaluate(() => document.documentElement.lang);
    });

    await step('an alarm published on the broker reaches both pages', async () => {
      // Where the time goes: the stream's messages as the browser receives them.
      const cdp = await mctx.newCDPSession(manager);
      await cdp.send('Network.enable');
      let streamed = null;
      cdp.on('Network.eventSourceMessageReceived', (e) => {
        if (streamed === null && e.eventName === 'state' && e.data.includes('"kind":"alarm"')) {
          streamed = performance.now();
        }
      });
      const shown = [manager, viewer].map((p) => alarmShown(p, cfg.unit));
      const wall = Date.now();
      const t0 = performance.now();
      const seen = shown.map((p) =>
        p.then(async (handle) => ({
          ms: performance.now() - t0,
          id: await handle.jsonValue(),
        })),
      );
      await publish(cfg.publish);
      out.publish_ms = performance.now() - t0;
      const [m, v] = await Promise.all(seen);
      out.latency_ms = { manager: Math.round(m.ms), viewer: Math.round(v.ms) };
      incident = Number(m.id);
      out.incident = incident;
      const state = await manager.evaluate(async () => (await fetch('/api/state')).json());
      const found = state.incidents.find((i) => i.id === incident);
      out.latency_parts = {
        to_detection_ms: found ? found.first_at - wall : null,
        to_stream_ms: streamed === null ? null : Math.round(streamed - t0),
      };
      await cdp.detach();
      out.incident_row = await manager.evaluate((id) => {
        const row = document.querySelector(`[data-testid="incident-${id}"]`);
        return { kind: row.dataset.kind, state: row.dataset.state, text: row.textContent };
      }, incident);
    });

    await step('the unit shows its detectors and occupants; screenshot of the floors', async () => {
      await manager.click(`[data-testid="unit-${cfg.unit}"]`);
      await manager.waitForSelector('[data-testid=detail]', WAIT);
      out.detail = await manager.evaluate((d) => {
        const row = document.querySelector(`[data-testid="detector-${d}"]`);
        const counts = {};
        for (const dd of document.querySelectorAll('[data-testid^="occupants-"]')) {
          counts[dd.dataset.testid.slice('occupants-'.length)] = dd.textContent;
        }
        return {
          detector_state: row ? row.querySelector('[data-state]').dataset.state : null,
          occupants: counts,
        };
      }, cfg.detector);
      out.shots = [path.join(cfg.shots, 'desk-floor-alarm.png')];
      await manager.screenshot({ path: out.shots[0], fullPage: true, animations: 'disabled' });
    });

    await step('the alarm tone sounds until the sound is acknowledged', async () => {
      await manager.waitForSelector('body[data-sound=on]', WAIT);
      await viewer.waitForSelector('body[data-sound=on]', WAIT);
      out.sound = {
        manager_before: await manager.evaluate(() => document.body.dataset.sound),
        audio: await manager.evaluate(() => document.body.dataset.audio),
        button_visible: await manager.isVisible('[data-testid=sound-ack]'),
      };
      await manager.click('[data-testid=sound-ack]');
      await manager.waitForSelector('body[data-sound=off]', WAIT);
      out.sound.manager_after = await manager.evaluate(() => document.body.dataset.sound);
      out.sound.button_after = await manager.isVisible('[data-testid=sound-ack]');
      out.sound.viewer_still = await viewer.evaluate(() => document.body.dataset.sound);
      await viewer.click('[data-testid=sound-ack]');
      await viewer.waitForSelector('body[data-sound=off]', WAIT);
    });

    await step('the manager acknowledges with the button', async () => {
      const [response] = await Promise.all([
        manager.waitForResponse(
          (r) => r.url().endsWith(`/api/incidents/${incident}/acknowledge`),
          WAIT,
        ),
        manager.click(`[data-testid="ack-${incident}"]`),
      ]);
      out.ack = { status: response.status(), body: await response.json().catch(() => null) };
      await manager.waitForSelector(
        `[data-testid="incident-${incident}"][data-state=acknowledged]`,
        WAIT,
      );
      out.ack.shown_by = await manager.textContent(`[data-testid="acknowledged-by-${incident}"]`);
      out.ack.message = await manager.textContent('[data-testid=action-message]');
      out.shots.push(path.join(cfg.shots, 'desk-incidents.png'));
      await manager.screenshot({ path: out.shots[1], fullPage: true, animations: 'disabled' });
    });

    await step('the viewer sees the incident but cannot act', async () => {
      await viewer.waitForSelector(
        `[data-testid="incident-${incident}"][data-state=acknowledged]`,
        WAIT,
      );
      out.viewer_buttons = await viewer.evaluate(
        (id) =>
          ['ack', 'silence', 'reset', 'false-alarm', 'actions']
            .map((p) => document.querySelectorAll(`[data-testid="${p}-${id}"]`).length)
            .reduce((a, b) => a + b, 0),
        incident,
      );
      out.viewer_note = await viewer.isVisible('[data-testid=view-only]');
      out.forged = await viewer.evaluate(async (id) => {
        const me = await (await fetch('/api/me')).json();
        const got = { role: me.role, may_act: me.may_act };
        for (const [verb, body] of [
          ['acknowledge', ''],
          ['silence', ''],
          ['reset', 'false_alarm=1'],
        ]) {
          const r = await fetch(`/api/incidents/${id}/${verb}`, {
            method: 'POST',
            headers: {
              'X-CSRF-Token': me.csrf,
              'Content-Type': 'application/x-www-form-urlencoded',
            },
            body,
          });
          got[verb] = r.status;
        }
        const state = await (await fetch('/api/state')).json();
        got.after = state.incidents.find((i) => i.id === id) || null;
        return got;
      }, incident);
      out.shots.push(path.join(cfg.shots, 'desk-viewer.png'));
      await viewer.screenshot({ path: out.shots[2], fullPage: true, animations: 'disabled' });
    });

    await step('refusals: 413, 404, 403 and 401', async () => {
      const req = mctx.request;
      const csrf = out.manager_me.csrf;
      const action = `${cfg.base}/api/incidents/${incident}/silence`;
      const r = {};
      r.oversized = await status(req, 'POST', action, {
        headers: form(csrf),
        data: `pad=${'x'.repeat(5000)}`,
      });
      r.oversized_login = await status(req, 'POST', `${cfg.base}/api/login`, {
        headers: form(),
        data: `user=${cfg.manager.user}&password=${'x'.repeat(5000)}`,
      });
      r.unknown_incident = await status(
        req,
        'POST',
        `${cfg.base}/api/incidents/987654/acknowledge`,
        { headers: form(csrf), data: '' },
      );
      r.no_csrf = await status(req, 'POST', action, { headers: form(), data: '' });
      r.wrong_csrf = await status(req, 'POST', action, { headers: form('A'.repeat(43)), data: '' });
      r.unknown_path = await status(req, 'GET', `${cfg.base}/etc/passwd`);
      r.unknown_api = await status(req, 'GET', `${cfg.base}/api/nothing-here`);
      r.after =
        (await status(req, 'GET', `${cfg.base}/api/state`)).body.incidents.find(
          (i) => i.id === incident,
        ) || null;
      const stranger = await request.newContext({
        ignoreHTTPSErrors: true,
        extraHTTPHeaders: { Cookie: `__Host-firegate=${'A'.repeat(43)}` },
      });
      r.unknown_session = {
        me: (await status(stranger, 'GET', `${cfg.base}/api/me`)).status,
        state: (await status(stranger, 'GET', `${cfg.base}/api/state`)).status,
        events: (await status(stranger, 'GET', `${cfg.base}/api/events`)).status,
        history: (await status(stranger, 'GET', `${cfg.base}/api/history`)).status,
        act: (
          await status(stranger, 'POST', `${cfg.base}/api/incidents/${incident}/reset`, {
            headers: form(csrf),
            data: '',
          })
        ).status,
        body: (await status(stranger, 'GET', `${cfg.base}/api/me`)).body,
      };
      await stranger.dispose();
      r.api_headers = (await status(req, 'GET', `${cfg.base}/api/me`)).headers;
      out.refusals = r;
    });

    await step('a logout ends the session everywhere', async () => {
      const second = await vctx.newPage();
      watch(second, 'viewer2');
      await second.goto(`${cfg.base}/`);
      await loggedIn(second);
      const cookie = (await vctx.cookies()).find((c) => c.name === '__Host-firegate');
      out.cookie = cookie
        ? {
            httpOnly: cookie.httpOnly,
            secure: cookie.secure,
            sameSite: cookie.sameSite,
            path: cookie.path,
          }
        : null;
      await viewer.click('[data-testid=logout]');
      await viewer.waitForSelector('body[data-view=login]', WAIT);
      // docs/desk.md: `event: logout` when the session ends; the wait allows for the 15 s
      // keepalive so the steps after this one still run when it comes late, and the test
      // checks the time it took.
      const started = Date.now();
      await second.waitForSelector('body[data-view=login]', { timeout: 17000 });
      out.logout = { other_page_ms: Date.now() - started };
      const old = await request.newContext({
        ignoreHTTPSErrors: true,
        extraHTTPHeaders: { Cookie: `__Host-firegate=${cookie.value}` },
      });
      out.logout.old_cookie = (await status(old, 'GET', `${cfg.base}/api/me`)).status;
      await old.dispose();
    });

    await step('history and its CSV', async () => {
      await manager.click('[data-testid=tab-history]');
      await manager.waitForSelector(`[data-testid="hrow-${incident}"]`, WAIT);
      const href = await manager.getAttribute('[data-testid=history-csv]', 'href');
      const csv = await mctx.request.get(new URL(href, cfg.base).toString(), {
        failOnStatusCode: false,
      });
      out.history = {
        row: await manager.textContent(`[data-testid="hrow-${incident}"]`),
        csv_href: href,
        csv_status: csv.status(),
        csv_type: csv.headers()['content-type'],
        csv_disposition: csv.headers()['content-disposition'],
        csv_has_incident: (await csv.text())
          .split(/\r?\n/)
          .some((l) => l.startsWith(`${incident},`)),
      };
      out.history.bad = await status(
        mctx.request,
        'GET',
        `${cfg.base}/api/history?from=yesterday-ish`,
      );
      out.history.bad_limit = (
        await status(mctx.request, 'GET', `${cfg.base}/api/history?limit=5000`)
      ).status;
      // The page shows the server's refusal: a limit the form's own check would stop, sent anyway.
      await manager.fill('[data-testid=history-limit]', '5000');
      await manager.$eval('[data-testid=history-form]', (f) =>
        f.dispatchEvent(new Event('submit', { cancelable: true })),
      );
      await manager.waitForSelector('[data-testid=history-error]', { state: 'visible', ...WAIT });
      out.history.error_shown = {
        status: await manager.getAttribute('[data-testid=history-error]', 'data-status'),
        text: await manager.textContent('[data-testid=history-error]'),
      };
      await manager.click('[data-testid=tab-now]');
    });

    await step('the manager silences, then resets as a false alarm after confirming', async () => {
      const [silenced] = await Promise.all([
        manager.waitForResponse(
          (r) => r.url().endsWith(`/api/incidents/${incident}/silence`),
          WAIT,
        ),
        manager.click(`[data-testid="silence-${incident}"]`),
      ]);
      out.silence = { status: silenced.status() };
      await manager.waitForSelector(
        `[data-testid="incident-${incident}"][data-state=silenced]`,
        WAIT,
      );
      out.silence.shown_by = await manager.textContent(`[data-testid="silenced-by-${incident}"]`);
      // The heat contact opens again first, so the reset ends the alarm instead of raising a new
      // one (test_daemon_mqtt.py). The detector's alarm latches until the reset, so the daemon's
      // count of its readings says when it has heard the contact open.
      const before = await readings(cfg.detector);
      await publish(cfg.restore);
      const deadline = Date.now() + 10000;
      while ((await readings(cfg.detector)) <= before) {
        if (Date.now() > deadline) throw new Error('the daemon never heard the contact open');
        await new Promise((r) => setTimeout(r, 50));
      }
      await manager.click(`[data-testid="false-alarm-${incident}"]`);
      await manager.waitForSelector(`[data-testid="confirm-false-alarm-${incident}"]`, WAIT);
      out.reset = {
        confirm_asked: (await manager.locator(`[data-testid="reset-${incident}"]`).count()) === 0,
      };
      const [reset] = await Promise.all([
        manager.waitForResponse((r) => r.url().endsWith(`/api/incidents/${incident}/reset`), WAIT),
        manager.click(`[data-testid="confirm-false-alarm-${incident}"]`),
      ]);
      out.reset.status = reset.status();
      out.reset.sent = reset.request().postData();
      await manager.waitForSelector(`[data-testid="incident-${incident}"]`, {
        state: 'detached',
        ...WAIT,
      });
      out.reset.tile = await manager.getAttribute(`[data-testid="unit-${cfg.unit}"]`, 'data-state');
    });

    await step('a new alarm sounds the tone again', async () => {
      const shown = alarmShown(manager, cfg.unit);
      await publish(cfg.publish);
      out.second = { incident: Number(await (await shown).jsonValue()) };
      await manager.waitForSelector('body[data-sound=on]', WAIT);
      out.second.sound = await manager.evaluate(() => document.body.dataset.sound);
      await manager.click('[data-testid=sound-ack]');
      await manager.waitForSelector('body[data-sound=off]', WAIT);
    });

    await step('five wrong passwords are slowed down, and so is the right one', async () => {
      const tctx = await browser.newContext(options);
      const page = await tctx.newPage();
      watch(page, 'throttled');
      await page.goto(`${cfg.base}/`);
      const attempts = [];
      for (let i = 0; i < 5; i++) {
        const r = await login(page, { user: cfg.throttled.user, password: `wrong-password-${i}` });
        await page.waitForSelector(`[data-testid=login-error][data-status="${r.status()}"]`, WAIT);
        attempts.push({
          status: r.status(),
          body: await r.json().catch(() => null),
          retry_after: await r.headerValue('retry-after'),
          shown: await page.textContent('[data-testid=login-error]'),
        });
      }
      const right = await login(page, cfg.throttled);
      const rightBody = await right.json().catch(() => null);
      await page.waitForSelector(
        `[data-testid=login-error][data-status="${right.status()}"]`,
        WAIT,
      );
      out.throttle = {
        attempts,
        right_at_once: {
          status: right.status(),
          body: rightBody,
          shown: await page.textContent('[data-testid=login-error]'),
        },
      };
      const wait = rightBody && Number(rightBody.retry_after_s);
      await page.waitForTimeout((Number.isFinite(wait) ? wait : 1) * 1000 + 150);
      const later = await login(page, cfg.throttled);
      out.throttle.right_after_wait = { status: later.status(), waited_s: wait };
      await loggedIn(page);
      await tctx.close();
    });

    await step('the daemon stops: the page says alarms are not watched', async () => {
      const started = Date.now();
      process.kill(cfg.daemon_pid, 'SIGTERM');
      await manager.waitForSelector('[data-testid=daemon-down]', {
        state: 'visible',
        timeout: 15000,
      });
      out.daemon_down = {
        ms: Date.now() - started,
        text: await manager.textContent('[data-testid=daemon-down]'),
        status: await manager.textContent('[data-testid=status-daemon]'),
        detector_states: await manager.evaluate(() =>
          [
            ...document.querySelectorAll(
              '[data-testid=detail] [data-testid^="detector-"] [data-state]',
            ),
          ].map((n) => n.dataset.state),
        ),
      };
      out.shots.push(path.join(cfg.shots, 'desk-daemon-down.png'));
      await manager.screenshot({ path: out.shots[3], fullPage: true, animations: 'disabled' });
    });
  } catch (e) {
    // recorded in out.failed by step()
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch((e) => {
  out.failed = out.failed || { step: 'setup', error: String((e && e.stack) || e) };
  console.log(JSON.stringify(out));
  process.exit(1);
});
