// Lingua cluster dashboard: reads the live feed (/api/v1/events, Server-Sent Events over
// fetch) and renders it. No dependencies. Authenticated by the HttpOnly login cookie the
// browser sends by itself (the admin token never appears in a URL or in this script).
(() => {
  const $ = (sel) => document.querySelector(sel);
  const tid = (id) => document.querySelector(`[data-testid="${id}"]`);

  const esc = (v) =>
    String(v ?? '').replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );
  const num = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
  const ago = (ms, now) => {
    if (!ms) return '–';
    const s = Math.max(0, (now - ms) / 1000);
    return s < 60 ? `${s.toFixed(1)} s ago` : `${Math.floor(s / 60)} min ago`;
  };
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

  function setText(id, text, value) {
    const el = tid(id);
    el.textContent = text;
    if (value !== undefined) el.dataset.value = String(value);
  }

  function setFeed(state, text) {
    const el = tid('feed-status');
    el.dataset.state = state;
    el.textContent = text;
  }

  function banner(text) {
    const el = $('#banner');
    el.hidden = !text;
    el.textContent = text || '';
  }

  // --- charts: hand-drawn SVG (bars for a rate, lines with point marks for latency) ----------
  function drawChart(el, series, opts) {
    const W = 600;
    const H = 140;
    const L = 36;
    const B = 18;
    const n = series[0].values.length;
    const all = series.flatMap((s) => s.values.filter((v) => v !== null));
    const max = niceMax(Math.max(opts.minMax, ...all));
    const step = (W - L - 4) / Math.max(1, n);
    const x = (i) => L + step * (i + 0.5);
    const y = (v) => H - B - (v / max) * (H - B - 8);
    let svg = `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(opts.label)}">`;
    for (const f of [0, 0.5, 1]) {
      const gy = y(max * f);
      svg += `<line class="grid" x1="${L}" x2="${W}" y1="${gy}" y2="${gy}"/>`;
      svg += `<text class="axis" x="${L - 4}" y="${gy + 3}" text-anchor="end">${esc(fmtAxis(max * f))}</text>`;
    }
    svg += `<text class="axis" x="${L}" y="${H - 4}">${esc(opts.from)}</text>`;
    svg += `<text class="axis" x="${W - 4}" y="${H - 4}" text-anchor="end">now</text>`;
    series.forEach((s, k) => {
      if (opts.bars) {
        s.values.forEach((v, i) => {
          if (!v) return;
          const top = y(v);
          svg += `<rect class="bar${k}" x="${(x(i) - step / 2 + 0.5).toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, step - 1).toFixed(1)}" height="${(y(0) - top).toFixed(1)}"><title>${esc(fmtAxis(v))}</title></rect>`;
        });
        return;
      }
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        svg += `<circle class="p${k}" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5"><title>${esc(fmtAxis(v))}</title></circle>`;
        pen = true;
      });
      if (d) svg += `<path class="s${k}" d="${d}"/>`;
    });
    if (!all.some((v) => v > 0)) {
      svg += `<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">${esc(opts.empty)}</text>`;
    }
    el.innerHTML = `${svg}</svg>`;
    el.dataset.points = String(all.filter((v) => v > 0).length);
  }

  /** 1, 2 or 5 times a power of ten, at least v. */
  function niceMax(v) {
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function fmtAxis(v) {
    if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
    return v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1);
  }

  // --- tables -------------------------------------------------------------------------
  function rows(id, html, cols, empty) {
    tid(id).querySelector('tbody').innerHTML =
      html || `<tr><td colspan="${cols}" class="muted">${esc(empty)}</td></tr>`;
  }

  function renderInstances(instances, now) {
    const html = instances
      .map((i) => {
        const st = i.alive ? (i.draining ? 'draining' : 'alive') : 'dead';
        return `<tr><td>${esc(i.id)}</td><td><span class="state ${st}">${st}</span></td>
          <td>${esc(i.port ?? '–')}</td><td>${num(i.sessions)}</td><td>${num(i.node_conns)}</td>
          <td>${num(i.inbox_pending)}</td><td>${esc(ago(i.last_seen, now))}</td></tr>`;
      })
      .join('');
    rows('instances-table', html, 7, 'no instances');
  }

  function renderNodes(nodes, now) {
    const html = nodes
      .map((n) => {
        const pct = Math.round((n.load || 0) * 100);
        // v1.9: a hot node (load above the gateway's threshold) is chosen after cooler ones.
        const hot = n.hot ? ' <span class="state hot" title="load above the hot threshold">hot</span>' : '';
        return `<tr><td>${esc(n.node_id)}</td><td><span class="state ${esc(n.state)}"${n.unavailable_reason ? ` title="${esc(n.unavailable_reason)}"` : ''}>${esc(n.state)}</span>${hot}</td>
          <td>${esc(n.instance || '–')}</td>
          <td><span class="bar"><i style="width:${pct}%"></i></span>${n.running}/${n.max_concurrent_jobs}</td>
          <td class="wrap pool">${esc(n.pools.join(' '))}</td><td>${esc(ago(n.last_heartbeat, now))}</td></tr>`;
      })
      .join('');
    rows('nodes-table', html, 6, 'no nodes registered');
  }

  function renderMatrix(m) {
    const el = tid('pool-matrix');
    if (!m.sources.length) {
      el.innerHTML = '<p class="muted">no pools yet (no node has registered)</p>';
      return;
    }
    let html = '<table class="matrix"><thead><tr><th class="src">src \\ tgt</th>';
    for (const t of m.targets) html += `<th>${esc(t)}</th>`;
    html += '</tr></thead><tbody>';
    for (const s of m.sources) {
      html += `<tr><th class="src">${esc(s)}</th>`;
      for (const t of m.targets) {
        const c = m.cells[s]?.[t];
        if (!c) html += '<td class="none">·</td>';
        else {
          const cls = c.nodes === 0 ? 'empty' : c.free_slots === 0 ? 'full' : 'free';
          html += `<td class="${cls}" data-pool="${esc(`${s}:${t}`)}" title="${c.nodes} nodes, ${c.available} with a free slot">${c.nodes} · ${c.free_slots}</td>`;
        }
      }
      html += '</tr>';
    }
    el.innerHTML = `${html}</tbody></table>`;
  }

  function renderJobs(byState) {
    const html = Object.entries(byState)
      .map(([s, n]) => `<tr><td><span class="state ${esc(s)}">${esc(s)}</span></td><td>${num(n)}</td></tr>`)
      .join('');
    rows('jobs-table', html, 2, 'no jobs yet');
  }

  function renderFailovers(list) {
    const html = list
      .map(
        (f) => `<tr><td>${esc(clock(f.ts))}</td><td>${esc(f.job_id)}</td><td>${esc(f.cause)}</td>
          <td>${f.attempt}</td><td>${esc(f.node || '–')}</td></tr>`,
      )
      .join('');
    rows('failovers', html, 5, 'none');
  }

  function renderDlq(list) {
    const html = list.map((d) => `<tr><td>${esc(d.instance)}</td><td>${num(d.length)}</td></tr>`).join('');
    rows('dlq-table', html, 2, 'empty');
  }

  function render(snap) {
    const { cluster, stats } = snap;
    const now = cluster.ts;
    const t = stats.totals;
    setText('instances-alive', String(t.instances_alive), t.instances_alive);
    setText('instances-total', String(t.instances));
    setText('nodes-online', String(t.nodes_online), t.nodes_online);
    setText('nodes-total', String(t.nodes));
    setText('sessions', t.sessions === null ? '–' : String(t.sessions));
    setText('jobs-rate', num(stats.last_minute.completed_per_s, 2));
    setText('latency', `${num(stats.last_minute.latency_p50_ms)} / ${num(stats.last_minute.latency_p95_ms)}`);
    setText('jobs-live', String(stats.jobs.live + stats.jobs.waiting));
    setText('failovers-minute', String(stats.last_minute.failovers));
    setText('dlq-length', String(cluster.dlq_length), cluster.dlq_length);
    const tl = stats.timeline;
    const from = `-${Math.round(tl.window_ms / 60000)} min`;
    $('#jobs-window').textContent =
      `${from}, ${tl.bucket_ms / 1000} s buckets${tl.truncated ? ' (sampled)' : ''}`;
    const jobsEl = tid('jobs-chart');
    drawChart(jobsEl, [{ values: tl.buckets.map((b) => b.jobs_per_s) }], {
      minMax: 1,
      bars: true,
      from,
      label: 'completed jobs per second',
      empty: 'no completed jobs in the window',
    });
    jobsEl.dataset.total = String(tl.buckets.reduce((n, b) => n + b.completed, 0));
    drawChart(
      tid('latency-chart'),
      [
        { values: tl.buckets.map((b) => b.latency_p50_ms) },
        { values: tl.buckets.map((b) => b.latency_p95_ms) },
      ],
      { minMax: 10, from, label: 'job latency p50 and p95', empty: 'no latency samples yet' },
    );
    renderInstances(cluster.instances, now);
    renderNodes(cluster.nodes, now);
    renderMatrix(cluster.pool_matrix);
    renderJobs(stats.jobs.by_state);
    renderFailovers(cluster.recent_failovers);
    renderDlq(cluster.dlq);
    $('#updated').textContent = `updated ${clock(now)}`;
    $('#served-by').textContent = snap.served_by ? `via ${snap.served_by}` : '';
  }

  // --- the feed: SSE frames read from a fetch body, reconnecting ---------------------------
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function onBlock(block) {
    let data = '';
    for (const line of block.split('\n')) if (line.startsWith('data:')) data += line.slice(5).trim();
    if (!data) return;
    const msg = JSON.parse(data);
    if (msg.error) {
      setFeed('error', 'Redis unavailable');
      banner(`The gateway cannot read the cluster: ${msg.error}`);
      return;
    }
    banner('');
    setFeed('live', 'live');
    render(msg);
  }

  async function follow() {
    for (;;) {
      const ctl = new AbortController();
      let last = Date.now();
      const watchdog = setInterval(() => {
        if (Date.now() - last > 5000) ctl.abort();
      }, 1000);
      try {
        const res = await fetch('/api/v1/events', {
          credentials: 'same-origin',
          cache: 'no-store',
          signal: ctl.signal,
        });
        if (res.status === 401) {
          // The login expired (or the admin token changed): back to the login form.
          setFeed('error', 'unauthorized');
          clearInterval(watchdog);
          location.assign('/dashboard');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          last = Date.now();
          buf += value;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            onBlock(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      } catch {
        // connection lost or aborted by the watchdog: reconnect below
      }
      clearInterval(watchdog);
      setFeed('connecting', 'reconnecting');
      await sleep(1000);
    }
  }

  // --- meeting rooms: polled from /api/v1/rooms (not on the event feed) ----------------
  async function pollRooms() {
    for (;;) {
      try {
        const res = await fetch('/api/v1/rooms', { credentials: 'same-origin', cache: 'no-store' });
        if (res.ok) {
          const { rooms } = await res.json();
          const html = rooms
            .map((r) => {
              const members = r.members
                .map(
                  (m) => `${esc(m.display_name)} <small>${esc(m.src_lang)} → ${esc(m.listen_lang)}</small>`,
                )
                .join('<br>');
              return `<tr><td>${esc(r.tenant)}</td><td>${esc(r.room_id)}</td><td>${members}</td>
                <td>${esc(r.languages.join(' · '))}</td><td data-rate>${esc(String(r.utterances_per_min ?? 0))}</td>
                <td>${esc(`${Math.round(r.expires_in_ms / 1000)} s`)}</td></tr>`;
            })
            .join('');
          rows('rooms-table', html, 6, 'no meeting rooms');
        }
      } catch {
        // the feed shows the connection state; try again below
      }
      await sleep(2000);
    }
  }

  follow();
  pollRooms();
})();
