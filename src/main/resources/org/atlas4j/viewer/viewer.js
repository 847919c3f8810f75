// atlas4j viewer: pan/zoom over multi-resolution atlas levels, hover for what a cell holds. No network, no libraries.
(function () {
  'use strict';
  const D = window.ATLAS_DATA;
  const canvas = document.getElementById('atlas');
  const ctx = canvas.getContext('2d');
  const mini = document.getElementById('minimap');
  const mctx = mini.getContext('2d');
  const tip = document.getElementById('tooltip');
  const HEADER = 34;
  // world: the atlas is the unit square; view: screen = (world - origin) * scale
  let scale = 1, ox = 0, oy = 0, levelIndex = 0, pinned = null, classFilter = -1, hover = null;
  const images = new Map(); // src -> Image, created only when a tile first becomes visible (lazy)
  const cellMaps = D.levels.map(l => { const m = new Map(); l.cells.forEach(c => m.set(c.row * l.size + c.col, c)); return m; });
  let maxAttr = D.levels.map(l => l.cells.reduce((m, c) => c.attr ? Math.max(m, ...c.attr.map(Math.abs)) : m, 0));

  document.getElementById('title').textContent = D.title;
  const sel = document.getElementById('classFilter');
  // the filter shows a model class's attribution when the run has it, else a data label's share of the cell
  const filterNames = D.hasAttribution ? D.classNames : D.labelNames;
  sel.previousSibling.textContent = D.hasAttribution ? 'class attribution ' : 'label ';
  filterNames.forEach((n, i) => { const o = document.createElement('option'); o.value = i; o.textContent = n; sel.appendChild(o); });
  sel.onchange = () => { classFilter = sel.value === '' ? -1 : +sel.value; draw(); };
  if (D.layers && D.layers.length > 1) {
    document.getElementById('layerBox').hidden = false;
    const ls = document.getElementById('layerSwitch');
    D.layers.forEach(l => { const o = document.createElement('option'); o.value = l.href; o.textContent = l.name; o.selected = l.current; ls.appendChild(o); });
    ls.onchange = () => { window.location.href = ls.value; };
  }
  const links = document.getElementById('links');
  (D.links || []).forEach(l => { const a = document.createElement('a'); a.href = l.href; a.textContent = l.label; links.appendChild(a); });

  function resize() {
    canvas.width = window.innerWidth; canvas.height = window.innerHeight - HEADER;
    draw();
  }
  function reset() {
    scale = Math.min(canvas.width, canvas.height) * 0.95;
    ox = -(canvas.width / scale - 1) / 2; oy = -(canvas.height / scale - 1) / 2;
    chooseLevel(); draw();
  }
  // the finest level whose cells are at least ~96 px on screen: zooming in 2× steps to the next level, like map tiles
  function chooseLevel() {
    let best = 0;
    D.levels.forEach((l, i) => { if (scale / l.size >= 96) best = i; });
    levelIndex = best;
  }
  function image(src) {
    let im = images.get(src);
    if (!im) { im = new Image(); im.onload = () => draw(); im.src = src; images.set(src, im); }
    return im;
  }
  function opacity(level, c) {
    if (classFilter < 0) return 1;
    if (c.attr && maxAttr[level] > 0) return Math.max(0.05, Math.min(1, c.attr[classFilter] / maxAttr[level] * 2));
    const n = c.hist ? (c.hist[classFilter] || 0) : 0;
    return Math.max(0.05, n / c.count);
  }
  function draw() {
    ctx.fillStyle = '#1b1b1b'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    const L = D.levels[levelIndex], n = L.size, cs = scale / n;
    const c0 = Math.max(0, Math.floor(ox * n)), c1 = Math.min(n - 1, Math.floor((ox + canvas.width / scale) * n));
    const r0 = Math.max(0, Math.floor(oy * n)), r1 = Math.min(n - 1, Math.floor((oy + canvas.height / scale) * n));
    let visible = 0;
    for (let r = r0; r <= r1; r++) for (let col = c0; col <= c1; col++) {
      const c = cellMaps[levelIndex].get(r * n + col); if (!c) continue;
      visible++;
      const side = cs * c.side, x = (col / n - ox) * scale + (cs - side) / 2, y = (r / n - oy) * scale + (cs - side) / 2;
      ctx.globalAlpha = opacity(levelIndex, c);
      const im = image(c.tile);
      if (im.complete && im.naturalWidth) ctx.drawImage(im, x, y, side, side); else { ctx.fillStyle = '#333'; ctx.fillRect(x, y, side, side); }
      if (hover && hover.level === levelIndex && hover.cell === c) { ctx.globalAlpha = 1; ctx.strokeStyle = '#8cf'; ctx.lineWidth = 2; ctx.strokeRect(x, y, side, side); }
    }
    ctx.globalAlpha = 1;
    document.getElementById('status').textContent = `level ${n}×${n} (${L.cells.length} cells, ${visible} visible) · zoom ${(scale / Math.min(canvas.width, canvas.height)).toFixed(2)}×`;
    drawMinimap();
  }
  function drawMinimap() {
    const L = D.levels[0], n = L.size, s = mini.width / n;
    mctx.fillStyle = '#111'; mctx.fillRect(0, 0, mini.width, mini.height);
    L.cells.forEach(c => { mctx.fillStyle = D.colours[c.top % D.colours.length]; mctx.globalAlpha = opacity(0, c); mctx.fillRect(c.col * s, c.row * s, s, s); });
    mctx.globalAlpha = 1; mctx.strokeStyle = '#fff'; mctx.lineWidth = 1.5;
    mctx.strokeRect(ox * mini.width, oy * mini.height, canvas.width / scale * mini.width, canvas.height / scale * mini.height);
  }
  function zoomBy(f, sx, sy) {
    const wx = ox + sx / scale, wy = oy + sy / scale;
    scale = Math.max(50, Math.min(scale * f, 200000));
    ox = wx - sx / scale; oy = wy - sy / scale;
    chooseLevel(); draw(); if (!pinned) hideTip();
  }
  function cellAt(sx, sy) {
    const L = D.levels[levelIndex], n = L.size;
    const wx = ox + sx / scale, wy = oy + sy / scale;
    if (wx < 0 || wy < 0 || wx >= 1 || wy >= 1) return null;
    const c = cellMaps[levelIndex].get(Math.floor(wy * n) * n + Math.floor(wx * n));
    return c ? { level: levelIndex, cell: c } : null;
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch])); }
  function showTip(h, sx, sy) {
    const L = D.levels[h.level], c = h.cell;
    let html = `<div><b>cell ${c.id}</b> of level ${L.size}×${L.size} · row ${c.row}, col ${c.col}</div>`;
    html += `<div class="count">samples: <b>${c.count}</b></div>`;
    html += '<table><tr><td>by count</td><td>' + c.topCounts.map(t => `${esc(D.labelNames[t[0]] || t[0])} ${t[1]}`).join(', ') + '</td></tr>';
    if (c.attr) {
      const order = c.attr.map((v, i) => [i, v]).sort((a, b) => b[1] - a[1]).slice(0, 3);
      html += '<tr><td>by attribution</td><td>' + order.map(t => `${esc(D.classNames[t[0]] || t[0])} ${t[1].toFixed(2)}`).join(', ') + '</td></tr>';
    }
    html += '</table>';
    html += `<img class="icon" src="${c.tile}" alt="icon">`;
    html += `<div>real examples (patches around the sampled positions):</div><div class="examples">`;
    const p = L.exampleSide, k = 48 / p;
    for (let e = 0; e < c.examples; e++) {
      html += `<div class="example" style="background-image:url('${L.sprite}');background-size:${L.examplesPerCell * p * k}px auto;background-position:-${e * p * k}px -${c.spriteRow * p * k}px"></div>`;
    }
    html += '</div>';
    tip.innerHTML = html; tip.hidden = false;
    const w = tip.offsetWidth, hgt = tip.offsetHeight;
    tip.style.left = Math.min(window.innerWidth - w - 5, sx + 16) + 'px';
    tip.style.top = Math.min(window.innerHeight - hgt - 5, sy + HEADER + 16) + 'px';
  }
  function hideTip() { tip.hidden = true; tip.classList.remove('pinned'); pinned = null; }

  let drag = null; const pointers = new Map(); let pinch = null;
  canvas.addEventListener('wheel', e => { e.preventDefault(); zoomBy(Math.exp(-e.deltaY * 0.002), e.offsetX, e.offsetY); }, { passive: false });
  canvas.addEventListener('pointerdown', e => {
    pointers.set(e.pointerId, { x: e.offsetX, y: e.offsetY });
    if (pointers.size === 2) { const [a, b] = [...pointers.values()]; pinch = Math.hypot(a.x - b.x, a.y - b.y); }
    drag = { x: e.offsetX, y: e.offsetY, moved: false }; canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', e => {
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, { x: e.offsetX, y: e.offsetY });
    if (pointers.size === 2 && pinch) {
      const [a, b] = [...pointers.values()], d = Math.hypot(a.x - b.x, a.y - b.y);
      zoomBy(d / pinch, (a.x + b.x) / 2, (a.y + b.y) / 2); pinch = d; return;
    }
    if (drag && pointers.size === 1) {
      const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      if (drag.moved) { ox -= dx / scale; oy -= dy / scale; drag.x = e.offsetX; drag.y = e.offsetY; draw(); return; }
    }
    if (pinned) return;
    hover = cellAt(e.offsetX, e.offsetY);
    if (hover) showTip(hover, e.offsetX, e.offsetY); else tip.hidden = true;
    draw();
  });
  canvas.addEventListener('pointerup', e => {
    pointers.delete(e.pointerId); if (pointers.size < 2) pinch = null;
    if (drag && !drag.moved) {
      const h = cellAt(e.offsetX, e.offsetY);
      if (h) { pinned = h; showTip(h, e.offsetX, e.offsetY); tip.classList.add('pinned'); } else hideTip();
    }
    drag = null;
  });
  canvas.addEventListener('pointerleave', () => { if (!pinned) { tip.hidden = true; hover = null; draw(); } });
  mini.addEventListener('click', e => {
    const wx = e.offsetX / mini.width, wy = e.offsetY / mini.height;
    ox = wx - canvas.width / scale / 2; oy = wy - canvas.height / scale / 2; draw();
  });
  window.addEventListener('keydown', e => {
    const step = 80 / scale;
    switch (e.key) {
      case '+': case '=': zoomBy(1.5, canvas.width / 2, canvas.height / 2); break;
      case '-': case '_': zoomBy(1 / 1.5, canvas.width / 2, canvas.height / 2); break;
      case '0': reset(); break;
      case 'ArrowLeft': ox -= step; draw(); break;
      case 'ArrowRight': ox += step; draw(); break;
      case 'ArrowUp': oy -= step; draw(); break;
      case 'ArrowDown': oy += step; draw(); break;
      case 'Escape': hideTip(); break;
      default: return;
    }
    e.preventDefault();
  });
  window.addEventListener('resize', resize);

  // for tests and scripting: state and geometry without pixel guessing
  window.atlasViewer = {
    data: D,
    levelSize: () => D.levels[levelIndex].size,
    zoomBy: (f) => zoomBy(f, canvas.width / 2, canvas.height / 2),
    // page coordinates of a cell's centre at the current level, or null when it is off screen
    cellCentre: (id) => {
      const L = D.levels[levelIndex], c = L.cells.find(x => x.id === id); if (!c) return null;
      const x = ((c.col + 0.5) / L.size - ox) * scale, y = ((c.row + 0.5) / L.size - oy) * scale;
      if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return null;
      return { x: x, y: y + HEADER };
    },
    // the visible cell with the most samples whose centre lies within (maxX, maxY) of the page, with that centre
    largestVisibleCell: (maxX, maxY) => {
      const L = D.levels[levelIndex];
      let best = null;
      for (const c of L.cells) {
        const p = window.atlasViewer.cellCentre(c.id);
        if (!p || p.x > (maxX || Infinity) || p.y > (maxY || Infinity)) continue;
        if (!best || c.count > best.count) best = { id: c.id, count: c.count, centre: p };
      }
      return best;
    },
    visibleCells: () => { const L = D.levels[levelIndex]; return L.cells.filter(c => window.atlasViewer.cellCentre(c.id)).map(c => c.id); },
    loadedImages: () => images.size,
    // zoom (around the centre) until the given level shows; for tests and measurements
    showLevel: (size) => {
      for (let k = 0; k < 60 && D.levels[levelIndex].size < size; k++) zoomBy(1.25, canvas.width / 2, canvas.height / 2);
      for (let k = 0; k < 60 && D.levels[levelIndex].size > size; k++) zoomBy(0.8, canvas.width / 2, canvas.height / 2);
      return D.levels[levelIndex].size;
    },
    // mean milliseconds of one full redraw of the current view, over n frames
    measureDraw: (n) => { const t0 = performance.now(); for (let i = 0; i < n; i++) draw(); return (performance.now() - t0) / n; },
  };
  canvas.width = window.innerWidth; canvas.height = window.innerHeight - HEADER;
  reset();
  window.atlasViewer.ready = true;
})();
