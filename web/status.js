// The public status page: reads /status.json (no sign-in) every 30
// seconds and renders it. Every text from the server is set with
// textContent, never as HTML.

const REFRESH_MS = 30000;

const LABELS = {
  operational: 'Operational',
  maintenance: 'Under maintenance',
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};

const OVERALL = {
  operational: 'All systems operational',
  maintenance: 'Maintenance in progress',
  degraded: 'Some systems are degraded',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || '';
  // timeStyle "long" names the time zone.
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' });
}

function timeEl(iso) {
  return el('time', { datetime: iso || '' }, when(iso));
}

function badge(status) {
  return el('span', { class: `badge badge-${status}` }, LABELS[status] || status);
}

function renderComponents(components) {
  const list = document.getElementById('components');
  list.replaceChildren();
  for (const c of components) {
    let detail = null;
    if (c.id === 'delivery' && typeof c.workers === 'number') {
      detail = `${c.workers} worker${c.workers === 1 ? '' : 's'} running`;
    } else if (typeof c.response_ms === 'number') {
      detail = `${c.response_ms.toFixed(1)} ms`;
    }
    list.append(
      el(
        'li',
        { class: 'component', 'data-component': c.id, 'data-status': c.status },
        el('span', { class: 'component-name' }, c.name),
        detail ? el('span', { class: 'component-detail' }, detail) : null,
        badge(c.status),
      ),
    );
  }
}

function renderIncidents(incidents) {
  const box = document.getElementById('incidents');
  box.replaceChildren();
  document.getElementById('incidents-empty').hidden = incidents.length > 0;
  for (const incident of incidents) {
    const updates = el('ul', { class: 'updates' });
    for (const u of [...incident.updates].reverse()) {
      updates.append(
        el(
          'li',
          {},
          el('strong', {}, u.status),
          ' — ',
          el('span', { class: 'update-message' }, u.message),
          ' ',
          el('span', { class: 'muted' }, timeEl(u.created_at)),
        ),
      );
    }
    box.append(
      el(
        'article',
        { class: `incident impact-${incident.impact}`, 'data-incident': incident.id },
        el('h3', {}, incident.title),
        el(
          'p',
          { class: 'muted' },
          `${incident.status} · ${incident.impact} impact · ${incident.components.join(', ')}`,
        ),
        updates,
      ),
    );
  }
}

function renderMaintenance(windows) {
  const box = document.getElementById('maintenance');
  box.replaceChildren();
  document.getElementById('maintenance-empty').hidden = windows.length > 0;
  for (const w of windows) {
    box.append(
      el(
        'article',
        { class: `window window-${w.state}`, 'data-window': w.id },
        el('h3', {}, w.title),
        el(
          'p',
          { class: 'muted' },
          w.state === 'in_progress' ? 'In progress · ' : 'Scheduled · ',
          timeEl(w.starts_at),
          ' – ',
          timeEl(w.ends_at),
          ` · ${w.components.join(', ')}`,
        ),
        w.description ? el('p', { class: 'description' }, w.description) : null,
      ),
    );
  }
}

function render(doc) {
  const overall = document.getElementById('overall');
  overall.dataset.status = doc.status;
  overall.replaceChildren(el('span', { class: 'overall-text' }, OVERALL[doc.status] || doc.status));
  renderComponents(doc.components);
  renderIncidents(doc.incidents);
  renderMaintenance(doc.maintenance);
  document.getElementById('version').textContent = doc.version;
  const updated = document.getElementById('updated');
  updated.dateTime = doc.updated_at;
  updated.textContent = when(doc.updated_at);
  document.getElementById('main').setAttribute('aria-busy', 'false');
}

async function load() {
  try {
    const res = await fetch('/status.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`status ${res.status}`);
    render(await res.json());
  } catch (err) {
    console.warn(`status: ${err.message}`);
    const overall = document.getElementById('overall');
    overall.dataset.status = 'unknown';
    overall.replaceChildren(el('span', { class: 'overall-text' }, 'Status unavailable; retrying'));
  }
}

load();
setInterval(load, REFRESH_MS);
