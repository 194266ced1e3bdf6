// Loads a page in headless Chromium and waits, in real time, until the in-browser check
// has a verdict (`.phone-verdict[data-verified]`), then prints the page's HTML and, when
// asked, saves a screenshot. `--dump-dom` with a virtual time budget cannot wait for this:
// compiling and running WebAssembly takes real time, which a loaded machine stretches.
//
//   node --experimental-websocket .ci/page-wait.js URL [SCREENSHOT.png WIDTH HEIGHT]
//
// Drives Chromium over the DevTools protocol (no npm packages); exits 1 after 90 s
// without a verdict.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [url, shot, width = '412', height = '1500'] = process.argv.slice(2);
if (!url) {
  console.error('usage: page-wait.js URL [SCREENSHOT WIDTH HEIGHT]');
  process.exit(2);
}
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'page-wait-'));
const chrome = spawn('chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
  `--user-data-dir=${profile}`, `--window-size=${width},${height}`,
  '--remote-debugging-port=0', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });

const done = (code) => {
  const finish = () => {
    try {
      fs.rmSync(profile, { recursive: true, force: true });
    } catch (_) {
      // A profile Chromium still writes to is left to the temp directory's cleaner.
    }
    process.exit(code);
  };
  chrome.once('exit', finish);
  chrome.kill('SIGKILL');
  setTimeout(finish, 2_000);
};
setTimeout(() => { console.error('page-wait: no verdict within 90 s'); done(1); }, 90_000);

let port = null;
let err = '';
chrome.stderr.on('data', (d) => {
  err += d;
  const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err);
  if (m && !port) {
    port = m[1];
    run().catch((e) => { console.error('page-wait:', e.message); done(1); });
  }
});

async function run() {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const page = targets.find((t) => t.type === 'page');
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((ok, no) => { ws.onopen = ok; ws.onerror = no; });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const send = (method, params = {}) => new Promise((ok) => {
    id += 1;
    pending.set(id, ok);
    ws.send(JSON.stringify({ id, method, params }));
  });
  const evaluate = async (expression) =>
    (await send('Runtime.evaluate', { expression, returnByValue: true })).result.result.value;

  await send('Emulation.setDeviceMetricsOverride', {
    width: Number(width), height: Number(height), deviceScaleFactor: 1, mobile: false,
  });
  await send('Page.navigate', { url });
  for (;;) {
    await new Promise((ok) => setTimeout(ok, 100));
    const verdict = await evaluate(
      "(document.querySelector('.phone-verdict') || {dataset: {}}).dataset.verified || ''");
    if (verdict) break;
  }
  process.stdout.write(await evaluate('document.documentElement.outerHTML'));
  if (shot) {
    const png = await send('Page.captureScreenshot', { format: 'png' });
    fs.writeFileSync(shot, Buffer.from(png.result.data, 'base64'));
  }
  done(0);
}
