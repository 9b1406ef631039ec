// report.html's script: step through the messages (← →), show each frame's bytes field by field,
// zoom the diagram inside its panel, and say what a role on the map is. Plain browser JavaScript,
// no library, no network: everything it shows is in the page's #run data, and so are its words
// (run.ui, in the report's language: lab/report/words/), so this file holds no text of its own.
'use strict';
(function () {
  const run = JSON.parse(document.getElementById('run').textContent);
  const arrows = Array.from(document.querySelectorAll('#diagram g.message')).sort((a, b) => a.dataset.index - b.dataset.index);
  const diagram = document.getElementById('diagram');
  const detail = document.getElementById('detail');
  const stage = document.getElementById('stage');
  const position = document.getElementById('position');
  const ui = run.ui;
  let current = -1;

  /** A DOM element: el('p', { class: 'x' }, 'text', child, …). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c);
    return e;
  }

  /** A template of run.ui with its {names} filled in: a list of strings and elements, for el(). */
  function fill(template, values) {
    return template.split(/\{(\w+)\}/).map((piece, k) => (k % 2 === 0 ? piece : values[piece] ?? ''));
  }
  /** The same, as one string (for values that are all text). */
  const say = (template, values) => fill(template, values || {}).join('');

  const framesText = (f) => (f.length === 0 ? (run.capture ? ui.notInCapture : ui.noCapture) : f.length === 1 ? say(ui.frame, { n: f[0] }) : say(ui.frames, { list: f.join(', ') }));

  // ── stepping ──────────────────────────────────────────────────────────────────────────────

  function select(i) {
    if (i < 0 || i >= arrows.length) return;
    if (current >= 0) arrows[current].classList.remove('current');
    current = i;
    const g = arrows[i];
    g.classList.add('current');
    const part = g.closest('details');
    if (part && !part.open) part.open = true;
    // Keep the arrow in view by scrolling the diagram panel, never the page sideways.
    const panel = diagram.getBoundingClientRect();
    const head = diagram.querySelector('.head').getBoundingClientRect().height;
    const box = g.getBoundingClientRect();
    if (box.top < panel.top + head || box.bottom > panel.bottom) diagram.scrollTop += box.top - panel.top - head - (panel.height - head) / 3;
    position.textContent = say(ui.position, { i: i + 1, n: arrows.length });
    showMessage(run.messages[i]);
  }

  function showStage() {
    const r = stage.getBoundingClientRect();
    if (Math.abs(r.top) > 4) stage.scrollIntoView({ block: 'start' });
  }

  document.getElementById('prev').addEventListener('click', () => select(Math.max(0, current - 1)));
  document.getElementById('next').addEventListener('click', () => select(Math.min(arrows.length - 1, current + 1)));
  arrows.forEach((g, i) => g.addEventListener('click', () => select(i)));

  let zoom = 1;
  function setZoom(z) {
    zoom = Math.min(3, Math.max(0.5, z));
    diagram.style.setProperty('--zoom', String(zoom));
  }
  document.getElementById('zoom-in').addEventListener('click', () => setZoom(zoom * 1.25));
  document.getElementById('zoom-out').addEventListener('click', () => setZoom(zoom / 1.25));
  document.getElementById('zoom-fit').addEventListener('click', () => setZoom(1));

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
    const keys = {
      ArrowRight: () => select(Math.min(arrows.length - 1, current + 1)),
      ArrowLeft: () => select(Math.max(0, current - 1)),
      n: () => select(Math.min(arrows.length - 1, current + 1)),
      p: () => select(Math.max(0, current - 1)),
      Home: () => select(0),
      End: () => select(arrows.length - 1),
      '+': () => setZoom(zoom * 1.25),
      '=': () => setZoom(zoom * 1.25),
      '-': () => setZoom(zoom / 1.25),
      0: () => setZoom(1),
    };
    const act = keys[e.key];
    if (!act) return;
    e.preventDefault();
    if (e.key.startsWith('Arrow') || e.key === 'n' || e.key === 'p' || e.key === 'Home' || e.key === 'End') showStage();
    act();
  });

  // ── one message ───────────────────────────────────────────────────────────────────────────

  function showMessage(m) {
    const frameArea = el('div', { class: 'frame-area' });
    const buttons = m.frames.map((n, k) =>
      el('button', { 'data-frame': n, onclick: () => showFrame(n, frameArea, buttons, k) }, say(ui.frame, { n })),
    );
    detail.replaceChildren(...[
      el('h3', {}, `${m.i + 1}. ${m.from} → ${m.to}: ${m.summary}`),
      el('p', { class: 'meta' }, say(ui.meta, { step: m.step, since: m.since, wireAt: m.wireAt ? ` · ${m.wireAt}` : '', frames: framesText(m.frames) })),
      m.lines.length ? el('pre', { class: 'narration' }, m.lines.join('\n')) : null,
      tlsBox(m),
      buttons.length > 1 ? el('p', { class: 'frames' }, ui.severalFrames, buttons) : null,
      frameArea,
    ].filter(Boolean));
    detail.scrollTop = 0;
    if (m.frames.length) showFrame(m.frames[0], frameArea, buttons, 0);
  }

  function tlsBox(m) {
    const t = run.tls;
    if (!t) return null;
    // A label, then its value (a value in the page's words, ui.notFound, is set apart the same way).
    const kv = (k, v) => el('div', { class: 'kv' }, el('b', {}, k, ui.colon), el('span', { class: 'value' }, v));
    if (t.kind === 'classic' && m.tlsType === 'ClientKeyExchange') {
      return el('div', { class: 'box tls-keys' },
        el('p', {}, t.words),
        kv(ui.clientRandom, t.clientRandom),
        kv(ui.serverRandom, t.serverRandom),
        kv(ui.preMaster, t.preMaster),
        kv(ui.prfInputs, ui.prfFormula),
        kv(ui.master, t.master),
        kv(say(ui.keyLogLine, { line: t.keyLogLine ?? '', file: run.keyLog ?? ui.keyLog }), (t.keyLogLines || []).join('\n') || ui.notFound),
        el('p', { class: 'check' }, ui.checkYourself, el('code', {}, `grep ${t.clientRandom} ${run.keyLog ?? '.lab/keylog.txt'}`)),
      );
    }
    if (t.kind === 'modern' && (m.tlsType === 'ServerHello' || m.tlsType === 'ClientHello')) {
      return el('div', { class: 'box tls-keys' },
        el('p', {}, t.words),
        kv(say(ui.secretsIn, { file: run.keyLog ?? ui.theKeyLog }), (t.keyLogLines || []).map((l) => l.split(' ')[0]).join(', ') || ui.notFound),
      );
    }
    return null;
  }

  // ── one frame, byte by byte ───────────────────────────────────────────────────────────────

  function showFrame(n, area, buttons, k) {
    buttons.forEach((b, j) => b.classList.toggle('on', j === k));
    const frame = run.frames[n];
    if (!frame) {
      area.replaceChildren(el('p', { class: 'hint' }, say(ui.frameMissing, { n })));
      return;
    }
    // A "source" is a run of bytes the fields point into: the frame itself, or a decrypted record.
    const shown = frame.hex.length / 2;
    const sources = [{ id: 'frame', title: say(ui.frameTitle, { n, length: frame.length }) + (frame.length > shown ? say(ui.firstShown, { shown }) : ''), hex: frame.hex, layers: frame.layers.filter((l) => !l.decrypted) }];
    // Each encrypted record this frame starts, opened with the key log: its plaintext is a source of its own.
    for (const l of frame.layers.filter((x) => x.decrypted)) {
      const d = l.decrypted;
      const known = sources.find((s) => s.record === d.record);
      if (known) known.layers.push(l);
      // The key's name (a key-log label, or the RFC's key block) is a name, not words: set apart.
      else sources.push({ id: `record${d.record}`, record: d.record, title: fill(ui.decrypted, { from: ui.sides[d.from] ?? d.from, record: d.record, key: el('span', { class: 'mono' }, d.key) }), hex: d.hex, layers: [l] });
    }
    const explain = el('div', { class: 'explain' }, ui.howTo);
    const rows = [];
    const tables = [];
    const hexes = [];
    sources.forEach((s, si) => {
      const fields = [];
      const body = [];
      s.layers.forEach((layer, li) => {
        body.push(el('tr', {}, el('th', { colspan: 3, class: `l${li % 8}` }, `${layer.name}: ${layer.summary}`)));
        for (const f of layer.fields) {
          const fi = fields.length;
          fields.push({ ...f, layer: li });
          const row = el('tr', { class: 'field', 'data-ws': f.ws, 'data-source': si, 'data-field': fi },
            el('td', {}, f.name, f.partial ? ui.part : null), el('td', { class: 'value' }, f.value), el('td', { class: 'ws' }, f.ws || ''));
          row.addEventListener('mouseenter', () => light(si, f, true));
          row.addEventListener('mouseleave', () => light(si, f, false));
          row.addEventListener('click', () => choose(si, fi));
          rows.push(row);
          body.push(row);
        }
      });
      s.fields = fields;
      tables.push(el('table', {}, body));
      hexes.push(hexDump(s, si));
    });

    function spans(si) {
      return hexes[si].querySelectorAll('span.b');
    }
    function light(si, f, on) {
      const all = spans(si);
      for (let o = f.offset; o < f.offset + f.bytes && o < all.length; o++) all[o].classList.toggle('on', on);
    }
    function choose(si, fi) {
      const s = sources[si];
      const f = s.fields[fi];
      spans(si).forEach((b) => b.classList.remove('on'));
      rows.forEach((r) => r.classList.toggle('on', Number(r.dataset.source) === si && Number(r.dataset.field) === fi));
      light(si, f, true);
      // Bring the field's first byte into view in its hex box (not the page).
      const first = spans(si)[f.offset];
      const box = hexes[si];
      if (first && (first.offsetTop < box.scrollTop || first.offsetTop > box.scrollTop + box.clientHeight - 20)) box.scrollTop = first.offsetTop - box.clientHeight / 3;
      const words = f.ws ? run.words.fields[f.ws] : run.words.parts[f.part];
      const check = f.ws && run.capture ? `tshark -r ${run.capture} -Y 'frame.number == ${n}' -T fields -e ${f.ws}` : undefined;
      explain.replaceChildren(
        el('b', {}, f.name, f.partial ? ui.partOf : null, ui.colon), el('span', { class: 'mono' }, f.value),
        el('div', {}, words || ''),
        el('div', { class: 'mono' }, say(si === 0 ? ui.bytesOfFrame : ui.bytesOfRecord, { first: f.offset, last: f.offset + f.bytes - 1, count: say(f.bytes === 1 ? ui.byte : ui.bytes, { n: f.bytes }) })),
        check ? el('div', {}, ui.checkYourself, el('code', {}, check)) : null,
      );
    }

    function hexDump(s, si) {
      const bytes = s.hex.length / 2;
      // Each byte belongs to the smallest field that covers it (a field may sit inside a bigger one).
      const owner = new Array(bytes).fill(-1);
      const size = new Array(bytes).fill(Infinity);
      s.fields.forEach((f, fi) => {
        for (let o = f.offset; o < f.offset + f.bytes && o < bytes; o++) if (f.bytes < size[o]) { owner[o] = fi; size[o] = f.bytes; }
      });
      const pre = el('div', { class: 'hex', 'data-source': si });
      for (let row = 0; row < bytes; row += 16) {
        pre.append(el('span', { class: 'off' }, row.toString(16).padStart(4, '0') + '  '));
        for (let o = row; o < Math.min(bytes, row + 16); o++) {
          const fi = owner[o];
          const layer = fi >= 0 ? s.fields[fi].layer : -1;
          const b = el('span', { class: `b${layer >= 0 ? ` l${layer % 8}` : ''}`, 'data-o': o }, s.hex.slice(o * 2, o * 2 + 2));
          if (fi >= 0) b.addEventListener('click', () => choose(si, fi));
          pre.append(b, o % 16 === 7 ? '  ' : ' ');
        }
        pre.append('\n');
      }
      return pre;
    }

    area.replaceChildren(
      ...sources.map((s, si) => el('div', { class: 'dissection' },
        el('div', { class: 'fields' }, el('h4', {}, s.title), tables[si], si === 0 ? explain : null),
        hexes[si],
      )),
    );
  }

  // ── the map ───────────────────────────────────────────────────────────────────────────────

  function showRole(name) {
    const r = run.roles[name] || {};
    document.querySelectorAll('svg.map .node').forEach((n) => n.classList.toggle('selected', n.dataset.role === name));
    const mine = run.messages.filter((m) => m.from === name || m.to === name);
    detail.replaceChildren(...[
      el('h3', {}, name, r.router ? ui.router : null),
      el('p', {}, r.what || ''),
      el('p', { class: 'mono' }, r.address || ''),
      r.namespace ? el('p', {}, ui.runThere, el('code', {}, say(ui.runCommand, { ns: r.namespace }))) : null,
      r.interfaces ? el('pre', {}, [ui.interfaces, ...r.interfaces, ui.routes, ...(r.routes || [])].join('\n')) : null,
      el('p', {}, mine.length ? say(ui.sentReceived, { sent: mine.filter((m) => m.from === name).length, received: mine.filter((m) => m.to === name).length }) : ui.silent),
      el('ul', {}, mine.slice(0, 60).map((m) => el('li', {}, el('button', { onclick: () => select(m.i) }, `${m.i + 1}`), ` ${m.from} → ${m.to}: ${m.summary}`))),
    ].filter(Boolean));
    showStage();
  }
  document.querySelectorAll('svg.map .node, #diagram .actor').forEach((n) => {
    n.addEventListener('click', () => showRole(n.dataset.role));
    n.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); showRole(n.dataset.role); } });
  });
})();
