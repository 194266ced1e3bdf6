// agritrace in-browser verifier: loads agritrace_wasm.wasm (the crate's own verifier
// compiled to WebAssembly) and checks trace bundles on this device, against pinned keys.
//
//   const v = await agritrace.load(wasmBytesOrResponse);   // or agritrace.loadSync(bytes)
//   (options {entropy: false}: check signatures one by one instead of in batches)
//   v.checkBundle(bundleBytes, {origin, log, witnesses, quorum, subject}) -> verdict
//   v.checkSignature(key32, signature64, message) -> true | false
//
// On a consumer page, an element with id "phone-check" (data-wasm, data-bundle, data-pins,
// data-lang) gets wired: its link to "#check" (also followed when the page is opened at
// #check) and its file input run the check and show the verdict next to the server's.
// A plain script, no modules, so a saved page works too.
(function (global) {
  'use strict';

  async function load(source, options) {
    let bytes = source;
    if (typeof Response !== 'undefined' && source instanceof Response) {
      if (!source.ok) throw new Error('verifier: HTTP ' + source.status);
      bytes = await source.arrayBuffer();
    }
    const { instance } = await WebAssembly.instantiate(bytes, {});
    return seed(new Verifier(instance.exports), options);
  }

  // Random coefficients for batch signature checks come from this device's cryptographic
  // generator; without one (or with {entropy: false}) the module checks signatures one by
  // one: slower, the same verdicts.
  function seed(verifier, options) {
    const c = globalThis.crypto;
    if (c && c.getRandomValues && !(options && options.entropy === false)) {
      verifier.put(0, c.getRandomValues(new Uint8Array(32)));
      verifier.x.agritrace_provide_entropy();
    }
    return verifier;
  }

  // Compiles and instantiates on this thread (a test page that must finish before its
  // load event); pages use `load`.
  function loadSync(bytes, options) {
    const module = new WebAssembly.Module(bytes);
    return seed(new Verifier(new WebAssembly.Instance(module, {}).exports), options);
  }

  class Verifier {
    constructor(exports) {
      this.x = exports;
    }

    put(slot, bytes) {
      const at = this.x.agritrace_input(slot, bytes.length);
      if (at === 0 && bytes.length > 0) throw new Error('input too large for the verifier');
      new Uint8Array(this.x.memory.buffer, at, bytes.length).set(bytes);
    }

    checkBundle(bundle, pins) {
      this.put(0, new Uint8Array(bundle));
      this.put(1, new TextEncoder().encode(typeof pins === 'string' ? pins : JSON.stringify(pins)));
      const len = this.x.agritrace_check_bundle();
      const at = this.x.agritrace_output();
      return JSON.parse(new TextDecoder().decode(new Uint8Array(this.x.memory.buffer, at, len)));
    }

    checkSignature(key, signature, message) {
      const input = new Uint8Array(96 + message.length);
      input.set(key, 0);
      input.set(signature, 32);
      input.set(message, 96);
      this.put(0, input);
      const r = this.x.agritrace_check_signature();
      if (r < 0) throw new Error('signature check: input too short');
      return r === 1;
    }
  }

  const WORDS = {
    zh: {
      checking: '正在本机验证……',
      ok: '本机验证通过',
      bad: '本机验证未通过',
      records: '记录',
      count: (n, c) => n.toLocaleString() + ' 条，' + c + ' 条链',
      checkpoint: '日志检查点',
      witnesses: '见证人',
      none: '无',
      took: '用时',
      fault: '问题记录',
      part: '失败部分',
      reason: '原因',
      other: '此文件属于另一个编号',
      failed: '无法在本机验证：',
    },
    en: {
      checking: 'Checking on this phone…',
      ok: 'VERIFIED on this phone',
      bad: 'NOT VERIFIED on this phone',
      records: 'records',
      count: (n, c) => n.toLocaleString() + ' in ' + c + ' chains',
      checkpoint: 'log checkpoint',
      witnesses: 'witnesses',
      none: 'none',
      took: 'took',
      fault: 'record at fault',
      part: 'failed part',
      reason: 'reason',
      other: 'this file is for another ID',
      failed: 'could not check on this phone: ',
    },
  };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(out, w, v, ms) {
    out.replaceChildren();
    out.className = 'phone-verdict ' + (v.verified ? 'ok' : 'bad');
    out.dataset.verified = String(v.verified);
    out.appendChild(el('strong', 'phone-title', v.verified ? w.ok : w.bad));
    const dl = el('dl');
    const row = (k, val) => {
      dl.appendChild(el('dt', '', k));
      dl.appendChild(el('dd', '', val));
    };
    if (v.verified) {
      row(w.records, w.count(v.records, v.chains));
      row(w.checkpoint, v.checkpoint.origin + ' @ ' + v.checkpoint.size.toLocaleString());
      row(w.witnesses, v.witnesses.length ? v.witnesses.join(', ') : w.none);
    } else {
      row(w.part, v.part === 'subject' ? w.other : v.part);
      const reason = el('dd', 'phone-error', v.error);
      dl.appendChild(el('dt', '', w.reason));
      dl.appendChild(reason);
      for (const f of v.faults.slice(0, 5)) {
        row(w.fault, (f.subject || '?') + ' · ' + (f.record || '').slice(0, 16) + '… · ' + f.reason);
      }
    }
    row(w.took, ms.toFixed(0) + ' ms');
    out.appendChild(dl);
  }

  function wire() {
    const box = document.getElementById('phone-check');
    if (!box) return;
    const w = WORDS[box.dataset.lang] || WORDS.en;
    const out = box.querySelector('.phone-verdict');
    let verifier = null;
    // data-wasm is the module's URL, or "#id" of an element holding it in base64 (a
    // self-contained page that works saved, offline).
    const wasm = async () => {
      const w = box.dataset.wasm;
      if (w.startsWith('#')) {
        const text = document.querySelector(w).textContent.trim();
        return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
      }
      return fetch(w);
    };
    const verifierFor = async () => {
      if (!verifier) verifier = await load(await wasm());
      return verifier;
    };
    const run = async (bundleBytes) => {
      const t0 = performance.now();
      out.replaceChildren(el('span', '', w.checking));
      out.className = 'phone-verdict';
      try {
        const v = await verifierFor();
        const bytes = await bundleBytes();
        const verdict = v.checkBundle(bytes, box.dataset.pins);
        show(out, w, verdict, performance.now() - t0);
      } catch (e) {
        out.className = 'phone-verdict bad';
        out.dataset.verified = 'error';
        out.textContent = w.failed + e.message;
      }
    };
    const fromServer = () =>
      run(async () => {
        // Revalidated each time: the bundle grows with the log.
        const r = await fetch(box.dataset.bundle, { cache: 'no-cache' });
        if (!r.ok) throw new Error('bundle: HTTP ' + r.status);
        return r.arrayBuffer();
      });
    for (const a of box.querySelectorAll('a[href="#check"]')) {
      a.addEventListener('click', (e) => {
        e.preventDefault();
        history.replaceState(null, '', '#check');
        fromServer();
      });
    }
    const file = box.querySelector('input[type=file]');
    if (file) {
      file.addEventListener('change', () => {
        if (file.files.length) run(() => file.files[0].arrayBuffer());
      });
    }
    if (location.hash === '#check' && box.dataset.bundle) fromServer();
  }

  global.agritrace = { load, loadSync, Verifier, wire };
  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wire);
    else wire();
  }
})(typeof globalThis !== 'undefined' ? globalThis : this);
