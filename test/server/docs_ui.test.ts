// /docs: Swagger UI served by the server itself, loaded in headless Chromium, which must render
// the routes of /openapi.json. Chromium comes from Debian's package (`make browser` installs it);
// CI sets ALLSOURCE_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { startServerProcess } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const CHROMIUM = process.env.ALLSOURCE_CHROMIUM ?? '/usr/bin/chromium';

it('serves the docs page and its assets from the server, with a strict CSP', async (t) => {
  const server = await startServerProcess(tmpDir());
  t.after(() => server.kill());
  const page = await fetch(`${server.url}/docs`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /text\/html/);
  assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
  const html = await page.text();
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN: every asset comes from this server');
  for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']) {
    const r = await fetch(`${server.url}${asset}`);
    assert.equal(r.status, 200, asset);
    assert.ok((await r.arrayBuffer()).byteLength > 0, asset);
  }
});

it('renders every route in headless Chromium', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env.ALLSOURCE_REQUIRE_BROWSER === '1') assert.fail(`no browser at ${CHROMIUM}`);
    t.skip(`no browser at ${CHROMIUM}; run make browser`);
    return;
  }
  const dir = tmpDir();
  const server = await startServerProcess(path.join(dir, 'data'));
  t.after(() => server.kill());
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${path.join(dir, 'profile')}`,
      '--virtual-time-budget=20000',
      '--dump-dom',
      `${server.url}/docs`,
    ],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
    paths: Record<string, unknown>;
  };
  // Swagger UI breaks long paths with zero-width spaces or <wbr>; neither is part of a route.
  const dom = stdout.replace(/\u200b|<wbr>|&ZeroWidthSpace;/g, '');
  assert.match(dom, /AllSource/);
  for (const route of Object.keys(doc.paths)) {
    assert.ok(dom.includes(route), `${route} is not on the rendered page`);
  }
});
