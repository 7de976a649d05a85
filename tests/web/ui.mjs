// ui.mjs -- drives Debian's chromium (headless, through playwright-core) against
// the web UI served by the gateway: choose several images (one of them not an
// image), upload, watch the states change to done, check the result images and
// download links, take a screenshot and check that it shows the page.
// Prints "PASS web <case>" / "FAIL web <case>: why" lines (tests/run.sh protocol).
//   node ui.mjs GATEWAY_URL SHOT.png IMAGE... -- BAD_FILE -- REF_SHA256...
import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [url, shot, ...rest] = process.argv.slice(2);
const cut = rest.indexOf('--');
const cut2 = rest.indexOf('--', cut + 1);
const images = rest.slice(0, cut);
const bad = rest.slice(cut + 1, cut2);
const refs = rest.slice(cut2 + 1);

let failures = 0;
function pass(name) { console.log(`PASS web ${name}`); }
function fail(name, why) { failures++; console.log(`FAIL web ${name}: ${String(why).replace(/\s+/g, ' ')}`); }
async function check(name, fn) {
  try { const why = await fn(); if (why) fail(name, why); else pass(name); }
  catch (e) { fail(name, e.message); }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const consoleErrors = [];
  page.on('pageerror', e => consoleErrors.push(e.message));

  await check('page loads', async () => {
    const r = await page.goto(url, { waitUntil: 'load' });
    if (!r.ok()) return `HTTP ${r.status()}`;
    const title = await page.title();
    if (!/image pipeline/i.test(title)) return `title is "${title}"`;
    for (const sel of ['#file', '#upload', '#tasks'])
      if (!(await page.$(sel))) return `${sel} missing`;
  });

  await check('upload several images', async () => {
    await page.evaluate(() => { // every state a card shows, as it changes
      window.seenStates = new Set();
      new MutationObserver(ms => ms.forEach(m => m.target.dataset && m.target.dataset.state &&
        window.seenStates.add(m.target.dataset.state)))
        .observe(document.getElementById('tasks'), { subtree: true, attributes: true, attributeFilter: ['data-state'] });
    });
    await page.setInputFiles('#file', [...images, ...bad]);
    if (await page.isDisabled('#upload')) return 'upload button stays disabled';
    await page.click('#upload');
    await page.waitForFunction(n => document.querySelectorAll('.task').length === n,
      images.length + bad.length, { timeout: 10000 });
  });

  await check('states reach done', async () => {
    await page.waitForFunction(n => document.querySelectorAll('.task[data-state="done"]').length === n,
      images.length, { timeout: 30000 });
  });

  await check('states were watched changing', async () => {
    const seen = await page.evaluate(() => [...window.seenStates]);
    if (!seen.includes('ready') || !seen.includes('done')) return `saw only ${seen}`;
  });

  await check('a bad file shows its error', async () => {
    const errs = await page.$$eval('.task[data-state="error"] .error-text', es => es.map(e => e.textContent));
    if (errs.length !== bad.length) return `expected ${bad.length} errors, got ${JSON.stringify(errs)}`;
    if (!errs.every(t => /PNG or JPEG/.test(t))) return `unexpected text ${JSON.stringify(errs)}`;
  });

  await check('result images shown', async () => {
    await page.waitForFunction(n => [...document.querySelectorAll('img.result')]
      .filter(i => i.complete && i.naturalWidth > 0).length === n, images.length, { timeout: 10000 });
  });

  await check('download links give the filtered bytes', async () => {
    const hrefs = await page.$$eval('a.download', as => as.map(a => [a.href, a.getAttribute('download')]));
    if (hrefs.length !== images.length) return `expected ${images.length} links, got ${hrefs.length}`;
    const got = [];
    for (const [href, name] of hrefs) {
      if (!/-edges\.png$/.test(name)) return `download name ${name}`;
      const r = await page.request.get(href);
      if (!r.ok()) return `${href}: HTTP ${r.status()}`;
      got.push(createHash('sha256').update(await r.body()).digest('hex'));
    }
    const want = [...refs].sort(), have = [...got].sort();
    if (JSON.stringify(want) !== JSON.stringify(have)) return `sha256 differ: ${have} vs ${want}`;
  });

  await check('screenshot shows the page', async () => {
    await page.screenshot({ path: shot, fullPage: true });
    const b64 = readFileSync(shot).toString('base64');
    // Decode the screenshot in the page itself and look at its pixels.
    const stats = await page.evaluate(async data => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + data;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      const colors = new Set();
      let dark = 0, green = 0;
      for (let i = 0; i < px.length; i += 4 * 7) {
        colors.add((px[i] >> 3) << 10 | (px[i + 1] >> 3) << 5 | px[i + 2] >> 3);
        if (px[i] < 60 && px[i + 1] < 60 && px[i + 2] < 60) dark++;
        if (px[i] === 0xbb && px[i + 1] === 0xf7 && px[i + 2] === 0xd0) green++;
      }
      return { w: c.width, h: c.height, colors: colors.size, dark, green };
    }, b64);
    if (stats.w < 800 || stats.h < 600) return `screenshot is ${stats.w}x${stats.h}`;
    if (stats.colors < 50) return `only ${stats.colors} colours: blank?`;
    if (stats.dark < 1000) return 'no dark header or result images';
    if (stats.green < 10) return 'no "done" badge visible';
  });

  await check('no script errors', async () => consoleErrors.length ? consoleErrors.join('; ') : '');
} finally {
  await browser.close();
}
process.exit(0);
