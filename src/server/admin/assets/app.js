// linnstream support dashboard: the order queue, each order's timeline, the audit log and
// the scheduler, over the admin API (/api/admin/). Plain browser JavaScript, no build step,
// served from the binary. Text from the server is only ever inserted as text (never as
// HTML), so order data cannot inject markup.
(() => {
  'use strict';

  const STATUSES = [
    ['Pending', 'Pending'], ['InProgress', 'In Progress'], ['Completed', 'Completed'],
    ['Failed', 'Failed'], ['ValidationFailed', 'Validation Failed'],
    ['ReadyForRetry', 'Ready for Retry'], ['Deleted', 'Deleted'],
  ];
  const COUNT_KEYS = {
    Pending: 'pending', InProgress: 'inProgress', Completed: 'completed', Failed: 'failed',
    ValidationFailed: 'validationFailed', ReadyForRetry: 'readyForRetry', Deleted: 'deleted',
  };
  const ACTIONS = ['Fetch', 'Validate', 'Send', 'Resend', 'Label', 'Webhook', 'MasterData', 'Delete', 'WriteBack'];
  const ACTION_LABELS = { MasterData: 'Master Data', WriteBack: 'Write Back' };
  // How often each view refreshes itself, so a queue can be watched as it drains.
  const POLL_MS = { orders: 3000, order: 3000, audit: 10000, jobs: 10000, overview: 10000, webhooks: 5000 };
  const WEBHOOK_STATUSES = [
    ['Pending', 'Pending'], ['ReadyForRetry', 'Ready for Retry'], ['Failed', 'Failed'], ['Processed', 'Processed'],
  ];
  const WEBHOOK_COUNT_KEYS = { Pending: 'pending', ReadyForRetry: 'readyForRetry', Failed: 'failed', Processed: 'processed' };
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const state = {
    session: null,
    installations: [],
    inst: null, // {namespace, name}
    route: null,
    selected: new Set(),
    timer: null,
    busy: false,
  };

  // ---------- small helpers ----------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'checked' || k === 'disabled' || k === 'value') node[k] = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // replaceChildren for a view: leaves out the null and false a conditional part gives
  // (the DOM would print them as text).
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: 'application/json' };
    const init = { method: options.method || 'GET', headers, credentials: 'same-origin' };
    if (init.method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      headers['X-CSRF-Token'] = state.session ? state.session.csrfToken : '';
      init.body = JSON.stringify(options.body || {});
    }
    const response = await fetch('/api/admin' + path, init);
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (response.status === 401) {
      window.location.assign('/admin/login');
      throw new ApiError(401, body);
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  const pad = (n) => String(n).padStart(2, '0');
  function fmtTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function relTime(iso) {
    if (!iso) return '';
    const s = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    const a = Math.abs(s);
    const span = a < 60 ? `${a}s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 86400 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
    return s >= 0 ? `in ${span}` : `${span} ago`;
  }
  const dash = (v) => (v === null || v === undefined || v === '' ? '–' : String(v));
  const instPath = () => `/installations/${encodeURIComponent(state.inst.namespace)}/${encodeURIComponent(state.inst.name)}`;
  const instId = () => `${state.inst.namespace}/${state.inst.name}`;

  function badge(code, label) {
    return el('span', { class: `badge st-${code}` }, label || code);
  }

  // ---------- routing: #/i/{ns}/{name}/{view}[/{id}][?query] ----------

  function parseHash() {
    const raw = window.location.hash.replace(/^#/, '');
    const [path, query] = raw.split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const params = new URLSearchParams(query || '');
    if (parts[0] === 'i' && parts.length >= 4) {
      return { namespace: parts[1], name: parts[2], view: parts[3], id: parts[4] || null, params };
    }
    return null;
  }

  function href(view, id, params) {
    const base = `#/i/${encodeURIComponent(state.inst.namespace)}/${encodeURIComponent(state.inst.name)}/${view}`;
    const withId = id ? `${base}/${encodeURIComponent(id)}` : base;
    const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== null && v !== undefined)).toString() : '';
    return q ? `${withId}?${q}` : withId;
  }

  function go(view, id, params) {
    window.location.hash = href(view, id, params);
  }

  // ---------- layout ----------

  function renderNav() {
    for (const a of document.querySelectorAll('#nav a')) {
      a.href = href(a.dataset.view);
      const view = state.route ? state.route.view : 'orders';
      a.classList.toggle('active', a.dataset.view === view || (view === 'order' && a.dataset.view === 'orders'));
    }
    const select = document.getElementById('installation');
    select.replaceChildren(...state.installations.map((i) => {
      const failed = i.queue.failed + i.queue.validationFailed;
      const label = failed ? `${i.id} · ${failed} failing` : i.id;
      return el('option', { value: i.id, selected: i.id === instId() }, label);
    }));
  }

  // The Stream account's circuit breaker: sends pause while Stream is down.
  function breakerText(b) {
    if (!b || b.state === 'closed') return null;
    const when = b.state === 'open' && b.openUntil ? ` until ${fmtTime(b.openUntil)}` : '';
    const label = b.state === 'open' ? `open${when}` : 'half-open (the next send probes Stream)';
    return `Stream sends paused: breaker ${label}; ${b.failures} failures in a row${b.lastError ? `, last: ${b.lastError}` : ''}. Orders stay queued and go out on their own when Stream answers.`;
  }

  function renderBanners() {
    const box = document.getElementById('banners');
    const overdue = state.installations.filter((i) => i.overdueJobs.length);
    box.replaceChildren();
    const paused = state.installations.filter((i) => breakerText(i.streamBreaker));
    if (paused.length) {
      box.append(el('div', { class: 'banner warn', role: 'alert', id: 'breaker-banner' },
        el('strong', {}, 'Stream unavailable'),
        el('ul', {}, paused.map((i) => el('li', {}, `${i.id}: ${breakerText(i.streamBreaker)}`)))));
    }
    if (!overdue.length) return;
    const items = overdue.flatMap((i) => i.overdueJobs.map((j) => el('li', {}, `${i.id}: ${j}`)));
    box.append(el('div', { class: 'banner warn', role: 'alert', id: 'overdue-banner' },
      el('strong', {}, 'Overdue jobs'),
      el('div', {},
        'A scheduled job has not run successfully when it should have. ',
        el('a', { href: href('jobs') }, 'Open the scheduler'),
        el('ul', {}, items))));
  }

  async function loadInstallations() {
    const reply = await api('/installations');
    state.installations = reply.installations;
  }

  // ---------- dialogs ----------

  function dialog(title, body, buttons) {
    const d = document.getElementById('dialog');
    const foot = el('div', { class: 'd-foot' });
    const result = new Promise((resolve) => {
      for (const b of buttons) {
        foot.append(el('button', {
          class: b.class || '', id: b.id || null,
          onclick: () => { d.close(); resolve(b.value); },
        }, b.label));
      }
      d.onclose = () => resolve(null);
    });
    d.replaceChildren(el('div', { class: 'd-head' }, title), el('div', { class: 'd-body' }, body), foot);
    d.showModal();
    return result;
  }

  function outcomesTable(outcomes) {
    return el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Order'), el('th', {}, 'Result'), el('th', {}, 'Message'))),
      el('tbody', {}, outcomes.map((o) => el('tr', {},
        el('td', { class: 'mono' }, o.orderId),
        el('td', {}, o.status ? badge(o.ok ? 'ok' : (o.status || '').replace(/ /g, ''), o.status) : badge('Failure', 'Refused')),
        el('td', {}, o.message || ''))))));
  }

  const ACTION_TEXT = {
    send: {
      title: 'Send orders to Stream',
      verb: 'Send',
      text: (n) => `Send ${n} order${n === 1 ? '' : 's'} to Stream now? Manual sends bypass Order Sync Enabled. Failed and Validation Failed orders are queued again first.`,
      limit: () => state.session.limits.maxUserSelectedOrders,
    },
    resend: {
      title: 'Resend failed orders',
      verb: 'Resend',
      text: (n) => `Resend ${n} Failed order${n === 1 ? '' : 's'} to Stream now? Their retry count starts again.`,
      limit: () => state.session.limits.maxUserSelectedOrders,
    },
    delete: {
      title: 'Delete completed orders',
      verb: 'Delete',
      text: (n) => `Delete ${n} order${n === 1 ? '' : 's'} from Stream? The Stream order is deleted and the tracking number and "Sent to Stream" are cleared in Linnworks. Only Completed orders can be deleted. This cannot be undone.`,
      limit: () => state.session.limits.maxUserSelectedOrdersForDelete,
      danger: true,
    },
  };

  async function runAction(kind, orderIds, labels) {
    const a = ACTION_TEXT[kind];
    const limit = a.limit();
    const body = [el('p', {}, a.text(orderIds.length))];
    if (orderIds.length > limit) {
      body.push(el('div', { class: 'banner warn' }, `At most ${limit} orders can be selected for this; the server will refuse the selection.`));
    }
    body.push(el('ul', { class: 'ids' }, orderIds.map((id) => el('li', {}, labels && labels[id] ? labels[id] : id))));
    const ok = await dialog(a.title, body, [
      { label: 'Cancel', value: false, id: 'dialog-cancel' },
      { label: `${a.verb} ${orderIds.length}`, value: true, class: a.danger ? 'danger solid' : 'primary', id: 'dialog-confirm' },
    ]);
    if (!ok) return;
    try {
      const reply = await api(`${instPath()}/orders/${kind}`, { method: 'POST', body: { orderIds } });
      const done = reply.outcomes.filter((o) => o.ok).length;
      await dialog(`${a.verb}: ${done} of ${reply.outcomes.length} done`, [
        outcomesTable(reply.outcomes),
        el('p', { class: 'sub' }, 'Correlation id ',
          el('a', { href: href('audit', null, { correlationId: reply.correlationId }), onclick: () => document.getElementById('dialog').close() }, reply.correlationId),
          ` · by ${reply.actor}`),
      ], [{ label: 'Close', value: true, class: 'primary', id: 'dialog-close' }]);
      state.selected.clear();
    } catch (e) {
      await showError(`${a.verb} refused`, e);
    }
    refresh();
  }

  async function showError(title, e) {
    const body = [el('div', { class: 'banner error', id: 'action-error' }, e.message)];
    if (e.body && Array.isArray(e.body.outcomes)) body.push(outcomesTable(e.body.outcomes));
    if (e.body && e.body.correlationId) {
      body.push(el('p', { class: 'sub' }, 'Correlation id ',
        el('a', { href: href('audit', null, { correlationId: e.body.correlationId }), onclick: () => document.getElementById('dialog').close() }, e.body.correlationId)));
    }
    await dialog(title, body, [{ label: 'Close', value: true, class: 'primary', id: 'dialog-close' }]);
  }

  async function refetch() {
    const ok = await dialog('Re-fetch from Linnworks', [
      el('p', {}, `Fetch the open orders of ${instId()} from Linnworks now? New orders are queued as Pending (or Validation Failed with the reason); corrected ones are queued again.`),
    ], [
      { label: 'Cancel', value: false, id: 'dialog-cancel' },
      { label: 'Re-fetch now', value: true, class: 'primary', id: 'dialog-confirm' },
    ]);
    if (!ok) return;
    try {
      const reply = await api(`${instPath()}/refetch`, { method: 'POST' });
      await dialog('Re-fetched', [el('p', {}, reply.message),
        el('p', { class: 'sub' }, 'Correlation id ', el('a', { href: href('audit', null, { correlationId: reply.correlationId }), onclick: () => document.getElementById('dialog').close() }, reply.correlationId))],
      [{ label: 'Close', value: true, class: 'primary', id: 'dialog-close' }]);
    } catch (e) {
      await showError('Re-fetch failed', e);
    }
    refresh();
  }

  // ---------- order queue ----------

  function ordersView(params) {
    const status = params.get('status') || '';
    const search = params.get('search') || '';
    const offset = Number(params.get('offset') || 0);
    const limit = 50;
    const view = document.getElementById('view');
    const chips = el('div', { class: 'chips', id: 'status-filter' });
    const searchInput = el('input', { type: 'search', name: 'search', id: 'search', placeholder: 'Order number, reference or id', value: search });
    const selectedInfo = el('span', { class: 'hint', id: 'selected-info' });
    const buttons = {
      send: el('button', { class: 'primary', id: 'send-selected', onclick: () => act('send') }, 'Send selected'),
      resend: el('button', { id: 'resend-failed', onclick: () => act('resend') }, 'Resend failed'),
      delete: el('button', { class: 'danger', id: 'delete-completed', onclick: () => act('delete') }, 'Delete completed'),
    };
    const tbody = el('tbody', { id: 'orders-body' });
    const pager = el('div', { class: 'pager' });
    const live = el('span', { class: 'live', id: 'live' }, 'Live');
    const selectAll = el('input', { type: 'checkbox', 'aria-label': 'Select all on this page', onchange: (e) => {
      for (const id of currentIds) e.target.checked ? state.selected.add(id) : state.selected.delete(id);
      paintSelection();
    } });
    let currentIds = [];
    let labels = {};

    function act(kind) {
      const ids = [...state.selected];
      if (!ids.length) return;
      runAction(kind, ids, labels);
    }

    function paintSelection() {
      const n = state.selected.size;
      const lim = state.session.limits;
      selectedInfo.textContent = n
        ? `${n} selected · at most ${lim.maxUserSelectedOrders} to send, ${lim.maxUserSelectedOrdersForDelete} to delete`
        : `Select orders to act on · at most ${lim.maxUserSelectedOrders} to send, ${lim.maxUserSelectedOrdersForDelete} to delete`;
      for (const b of Object.values(buttons)) b.disabled = n === 0;
      for (const row of tbody.querySelectorAll('tr[data-id]')) {
        const on = state.selected.has(row.dataset.id);
        row.classList.toggle('selected', on);
        const box = row.querySelector('input[type=checkbox]');
        if (box) box.checked = on;
      }
      selectAll.checked = currentIds.length > 0 && currentIds.every((id) => state.selected.has(id));
    }

    fill(view, 
      el('div', { class: 'page-head' }, el('h1', {}, 'Order queue'), el('span', { class: 'sub' }, instId()), el('div', { class: 'spacer' }), live,
        el('button', { id: 'refetch', onclick: refetch }, 'Re-fetch now')),
      chips,
      el('div', { class: 'panel' },
        el('div', { class: 'toolbar' },
          el('form', { id: 'search-form', onsubmit: (e) => { e.preventDefault(); state.selected.clear(); go('orders', null, { status, search: searchInput.value.trim() }); } },
            searchInput, el('button', { type: 'submit' }, 'Search'),
            search ? el('button', { type: 'button', onclick: () => go('orders', null, { status }) }, 'Clear') : null),
          el('div', { class: 'spacer' }),
          selectedInfo, buttons.send, buttons.resend, buttons.delete),
        el('div', { class: 'table-wrap' }, el('table', { id: 'orders' },
          el('thead', {}, el('tr', {},
            el('th', { class: 'check' }, selectAll),
            el('th', {}, 'Order'),
            el('th', {}, 'Status'),
            el('th', { class: 'num hide-sm' }, 'Tries'),
            el('th', { class: 'num' }, 'HTTP'),
            el('th', {}, 'Last error'),
            el('th', { class: 'hide-md' }, 'Stream / tracking'),
            el('th', { class: 'nowrap hide-sm' }, 'Updated'))),
          tbody)),
        pager));

    async function load() {
      const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
      if (status) q.set('status', status);
      if (search) q.set('search', search);
      const reply = await api(`${instPath()}/orders?${q}`);
      const total = Object.values(reply.counts).reduce((a, b) => a + b, 0);
      chips.replaceChildren(
        el('button', { class: `chip${status ? '' : ' active'}`, 'data-status': '', onclick: () => { state.selected.clear(); go('orders', null, { search }); } }, 'All', el('span', { class: 'count' }, total)),
        ...STATUSES.map(([code, label]) => el('button', {
          class: `chip${status === code ? ' active' : ''}`, 'data-status': code,
          onclick: () => { state.selected.clear(); go('orders', null, { status: code, search }); },
        }, label, el('span', { class: 'count' }, reply.counts[COUNT_KEYS[code]]))));
      currentIds = reply.orders.map((o) => o.orderId);
      labels = {};
      for (const o of reply.orders) labels[o.orderId] = `${o.numOrderId || ''} ${o.reference || ''} (${o.status})`.trim();
      tbody.replaceChildren(...(reply.orders.length ? reply.orders.map((o) => {
        const box = el('input', { type: 'checkbox', 'aria-label': `Select order ${o.numOrderId || o.orderId}`, onclick: (e) => e.stopPropagation(), onchange: (e) => {
          e.target.checked ? state.selected.add(o.orderId) : state.selected.delete(o.orderId);
          paintSelection();
        } });
        return el('tr', { class: 'clickable', 'data-id': o.orderId, 'data-status': o.statusCode, onclick: () => go('order', o.orderId) },
          el('td', { class: 'check' }, box),
          el('td', {}, el('div', {}, el('strong', {}, dash(o.numOrderId)), ' ', o.reference || ''), el('div', { class: 'sub mono hide-md' }, o.orderId)),
          el('td', {}, badge(o.statusCode, o.status)),
          el('td', { class: 'num hide-sm' }, o.attempts),
          el('td', { class: 'num' }, dash(o.lastHttpStatus)),
          el('td', { class: o.lastError ? 'error-text' : '' }, o.lastError ? el('div', { class: 'clamp', title: o.lastError }, o.lastError) : ''),
          el('td', { class: 'hide-md' },
            o.streamOrderId ? el('div', { class: 'mono' }, o.streamOrderId) : '–',
            o.trackingUrl ? el('a', { href: o.trackingUrl, target: '_blank', rel: 'noopener noreferrer', onclick: (e) => e.stopPropagation() }, o.trackingNumber || 'Tracking') : (o.trackingNumber ? el('div', {}, o.trackingNumber) : null)),
          el('td', { class: 'nowrap hide-sm' }, fmtTime(o.updatedAt), el('div', { class: 'sub' }, relTime(o.updatedAt))));
      }) : [el('tr', {}, el('td', { colspan: 8, class: 'empty' }, search || status ? 'No orders match this filter.' : 'The queue is empty. Orders appear here when the fetch job finds them in Linnworks.'))]));
      const from = reply.total ? offset + 1 : 0;
      const to = offset + reply.orders.length;
      pager.replaceChildren(
        el('span', { id: 'page-info' }, `${from}–${to} of ${reply.total}`),
        el('div', { class: 'buttons' },
          el('button', { disabled: offset === 0, onclick: () => go('orders', null, { status, search, offset: Math.max(0, offset - limit) || '' }) }, 'Previous'),
          el('button', { disabled: to >= reply.total, onclick: () => go('orders', null, { status, search, offset: offset + limit }) }, 'Next')));
      live.textContent = `Live · ${fmtTime(new Date().toISOString()).slice(11)}`;
      paintSelection();
    }
    return load;
  }

  // ---------- one order ----------

  function orderView(orderId) {
    const view = document.getElementById('view');
    fill(view, el('a', { class: 'back', href: href('orders') }, '← Order queue'), el('div', { class: 'empty' }, 'Loading…'));

    async function load() {
      let reply;
      try {
        reply = await api(`${instPath()}/orders/${encodeURIComponent(orderId)}`);
      } catch (e) {
        if (e.status === 404) {
          fill(view, el('a', { class: 'back', href: href('orders') }, '← Order queue'), el('div', { class: 'banner error' }, e.message));
          return;
        }
        throw e;
      }
      const o = reply.order;
      const lw = o.linnworks || {};
      const addr = (lw.CustomerInfo && lw.CustomerInfo.Address) || {};
      const actions = [];
      if (['Pending', 'ValidationFailed', 'ReadyForRetry'].includes(o.statusCode)) {
        actions.push(el('button', { class: 'primary', id: 'order-send', onclick: () => runAction('send', [o.orderId]) }, 'Send now'));
      }
      if (o.statusCode === 'Failed') {
        actions.push(el('button', { class: 'primary', id: 'order-resend', onclick: () => runAction('resend', [o.orderId]) }, 'Resend'));
      }
      if (o.statusCode === 'Completed') {
        actions.push(el('button', { class: 'danger', id: 'order-delete', onclick: () => runAction('delete', [o.orderId]) }, 'Delete from Stream'));
      }
      const fact = (label, value, cls) => el('div', {}, el('dt', {}, label), el('dd', { class: cls || '' }, value));
      const tracking = o.trackingUrl
        ? el('a', { href: o.trackingUrl, target: '_blank', rel: 'noopener noreferrer', id: 'tracking-link' }, o.trackingUrl)
        : '–';
      const addressLines = [addr.FullName, addr.Company, addr.Address1, addr.Address2, addr.Town, addr.PostCode, addr.Country].filter((x) => x);
      const items = Array.isArray(lw.Items) ? lw.Items : [];
      const timeline = reply.audit.map((e) => el('li', { class: e.outcome === 'Success' ? 'ok' : e.outcome === 'Failure' ? 'bad' : '' },
        el('div', { class: 'when' }, fmtTime(e.at), ' · ', relTime(e.at)),
        el('div', { class: 'what' }, el('strong', {}, e.action), badge(e.outcome, e.outcome)),
        el('div', { class: 'msg' }, e.message),
        el('div', { class: 'meta' }, `by ${e.actor} · ${e.durationMs} ms · correlation `,
          el('a', { class: 'mono correlation', href: href('audit', null, { correlationId: e.correlationId }) }, e.correlationId))));
      fill(view, 
        el('a', { class: 'back', href: href('orders') }, '← Order queue'),
        el('div', { class: 'page-head detail-head' },
          el('h1', { id: 'order-title' }, `Order ${dash(o.numOrderId)}`, o.reference ? ` · ${o.reference}` : ''),
          badge(o.statusCode, o.status),
          el('div', { class: 'spacer' }),
          el('span', { class: 'live' }, `Live · ${fmtTime(new Date().toISOString()).slice(11)}`),
          ...actions),
        o.lastError ? el('div', { class: 'banner error', id: 'last-error' },
          el('strong', {}, o.lastHttpStatus ? `Last error (HTTP ${o.lastHttpStatus})` : 'Last error'),
          el('span', {}, o.lastError)) : null,
        el('div', { class: 'panel' }, el('div', { class: 'panel-body' }, el('dl', { class: 'facts' },
          fact('Linnworks order id', o.orderId, 'mono'),
          fact('Order number', dash(o.numOrderId)),
          fact('Reference', dash(o.reference)),
          fact('Status', o.status),
          fact('Postal service', dash(o.postalServiceName)),
          fact('Order type', o.orderType),
          fact('Send attempts', o.attempts),
          fact('Last HTTP status', dash(o.lastHttpStatus)),
          fact('Stream order', dash(o.streamOrderId), 'mono'),
          fact('Consignment', dash(o.consignmentNo), 'mono'),
          fact('Tracking number', dash(o.trackingNumber), 'mono'),
          fact('Tracking link', tracking),
          o.writeBackPending ? fact('Linnworks write-back', el('span', { id: 'write-back-pending' }, 'Pending: a send cycle writes the tracking details to Linnworks')) : null,
          fact('Queued', fmtTime(o.createdAt)),
          fact('Updated', fmtTime(o.updatedAt)),
          fact('Completed', fmtTime(o.completedAt)),
          o.deletedAt ? fact('Deleted', fmtTime(o.deletedAt)) : null,
          o.claimOwner ? fact('Claimed by', `${o.claimOwner} until ${fmtTime(o.leaseExpiresAt)}`) : null))),
        el('div', { class: 'two-col' },
          el('div', { class: 'panel' }, el('div', { class: 'panel-body' },
            el('h2', {}, 'Timeline ', el('span', { class: 'sub' }, '(audit log, newest first)')),
            timeline.length ? el('ol', { class: 'timeline', id: 'timeline' }, timeline) : el('p', { class: 'sub' }, 'No audit entries for this order yet.'))),
          el('div', { class: 'panel' }, el('div', { class: 'panel-body' },
            el('h2', {}, 'Delivery'),
            addressLines.length ? el('div', {}, addressLines.map((l) => el('div', {}, l))) : el('p', { class: 'sub' }, 'Not fetched yet.'),
            items.length ? el('div', { style: null },
              el('h2', { class: 'items-title' }, `Items (${items.length})`),
              el('ul', {}, items.map((i) => el('li', {}, `${i.Quantity || 1} × ${i.SKU || ''} ${i.Title || ''}`)))) : null))),
        labelPanel(o));
    }
    return load;
  }

  // The label the gateway would print, drawn by the server (src/labels) for a Completed
  // order. Kept across refreshes so the image is fetched once per order and status.
  const labelCache = new Map();
  function labelPanel(o) {
    const body = el('div', { class: 'panel-body label-preview' }, el('h2', {}, 'Label preview'));
    if (o.statusCode !== 'Completed' || !o.trackingNumber) {
      body.append(el('p', { class: 'sub', id: 'label-none' }, 'The label can be previewed once the order is Completed (sent to Stream with a tracking number).'));
      return el('div', { class: 'panel label-panel' }, body);
    }
    const src = `/api/admin${instPath()}/orders/${encodeURIComponent(o.orderId)}/label.png`;
    const key = `${src}#${o.updatedAt}`;
    let img = labelCache.get(key);
    if (!img) {
      img = el('img', { id: 'label-preview', src, alt: `Label for order ${o.numOrderId || o.orderId}` });
      const note = el('p', { class: 'sub' }, 'As the gateway prints it for one package (203 dpi).');
      img.addEventListener('error', async () => {
        let reason = 'The label could not be drawn.';
        try {
          const r = await fetch(src, { credentials: 'same-origin' });
          const b = await r.json();
          if (b && b.error) reason = b.error;
        } catch (_) { /* keep the generic reason */ }
        note.replaceChildren(el('span', { class: 'error-text', id: 'label-error' }, reason));
      });
      img = el('div', {}, img, note);
      labelCache.clear();
      labelCache.set(key, img);
    }
    body.append(img);
    return el('div', { class: 'panel label-panel' }, body);
  }

  // ---------- overview ----------

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children.flat()) if (c) node.append(c);
    return node;
  }

  // A bar chart of {label, value, cls} drawn as inline SVG (no library, nothing fetched).
  function barChart(id, bars, title) {
    const w = 640, h = 200, left = 36, bottom = 24, top = 10;
    const max = Math.max(1, ...bars.map((b) => b.value));
    const step = (w - left) / Math.max(1, bars.length);
    const bw = Math.max(1, step * 0.7);
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    const grid = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i).map((v) => svg('g', { class: 'grid' },
      svg('line', { x1: left, x2: w, y1: y(v), y2: y(v) }),
      svg('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end' }, document.createTextNode(String(v)))));
    const every = Math.ceil(bars.length / 12);
    const rects = bars.map((b, i) => svg('g', {},
      svg('rect', { class: `bar ${b.cls || ''}`, x: left + i * step + (step - bw) / 2, y: y(b.value), width: bw, height: Math.max(0, h - bottom - y(b.value)), 'data-value': b.value, 'data-label': b.label },
        svg('title', {}, document.createTextNode(`${b.label}: ${b.value}`))),
      i % every === 0 ? svg('text', { class: 'axis', x: left + i * step + step / 2, y: h - 6, 'text-anchor': 'middle' }, document.createTextNode(b.short || b.label)) : null));
    return svg('svg', { id, class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': title }, svg('title', {}, document.createTextNode(title)), grid, rects);
  }

  // A line of hourly points (the 7-day chart: 168 of them).
  function lineChart(id, points, title) {
    const w = 1280, h = 200, left = 36, bottom = 24, top = 10;
    const max = Math.max(1, ...points.map((p) => p.value));
    const step = (w - left) / Math.max(1, points.length - 1);
    const x = (i) => left + i * step;
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
    const grid = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i).map((v) => svg('g', { class: 'grid' },
      svg('line', { x1: left, x2: w, y1: y(v), y2: y(v) }),
      svg('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end' }, document.createTextNode(String(v)))));
    const days = points.map((p, i) => [p, i]).filter(([p]) => p.start.endsWith('T00:00:00Z')).map(([p, i]) =>
      svg('text', { class: 'axis', x: x(i), y: h - 6, 'text-anchor': 'middle' }, document.createTextNode(p.start.slice(5, 10))));
    const dots = points.map((p, i) => (p.value ? svg('circle', { class: 'point', cx: x(i), cy: y(p.value), r: 3, 'data-value': p.value, 'data-label': p.start },
      svg('title', {}, document.createTextNode(`${fmtTime(p.start)}: ${p.value}`))) : null));
    return svg('svg', { id, class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': title },
      svg('title', {}, document.createTextNode(title)), grid, svg('path', { class: 'line', d }), dots, days);
  }

  function overviewView() {
    const view = document.getElementById('view');
    const box = el('div', { id: 'overview' });
    const live = el('span', { class: 'live' }, 'Live');
    fill(view, 
      el('div', { class: 'page-head' }, el('h1', {}, 'Overview'), el('span', { class: 'sub' }, instId()), el('div', { class: 'spacer' }), live),
      box);

    async function load() {
      const r = await api(`${instPath()}/overview`);
      const byStatus = STATUSES.map(([code, label]) => ({ label, short: label, value: r.queue[COUNT_KEYS[code]], cls: `st-${code}` }));
      const hourLabel = (iso) => fmtTime(iso).slice(11, 16);
      const per24 = r.sentPerHour24h.map((b) => ({ label: `${fmtTime(b.start).slice(0, 16)}`, short: hourLabel(b.start), value: b.sent }));
      const per7 = r.sentPerHour7d.map((b) => ({ start: b.start, value: b.sent }));
      const tile = (id, label, value, cls) => el('div', { class: `tile ${cls || ''}`, id }, el('div', { class: 'tile-value' }, value), el('div', { class: 'tile-label' }, label));
      const rate = `${(r.failureRate * 100).toFixed(1)}%`;
      const jobs = r.jobs.map((j) => el('tr', { 'data-job': j.job, class: j.overdue ? 'overdue' : '' },
        el('td', {}, j.title),
        el('td', { class: 'nowrap' }, j.lastRun ? fmtTime(j.lastRun.startedAt) : 'never', j.lastRun ? el('div', { class: 'sub' }, relTime(j.lastRun.startedAt)) : null),
        el('td', {}, j.lastRun ? badge(j.lastRun.outcomeCode, j.lastRun.outcome) : '–'),
        el('td', { class: 'hide-md' }, j.lastRun ? j.lastRun.message : ''),
        el('td', {}, !j.enabled ? badge('disabled', 'Disabled') : j.overdue ? badge('overdue', 'Overdue') : badge('ok', 'On schedule'))));
      box.replaceChildren(
        el('div', { class: 'tiles' },
          tile('tile-sent-24h', 'sent in the last 24 h', r.sentLast24h),
          tile('tile-sent-7d', 'sent in the last 7 days', r.sentLast7d),
          tile('tile-failure-rate', `failing (${r.failing} of the queue)`, rate, r.failing ? 'bad' : ''),
          el('a', { class: 'tile-link', href: href('webhooks') }, tile('tile-webhook-backlog', `webhook backlog · ${r.webhooks.failed} failed`, r.webhookBacklog, r.webhooks.failed ? 'bad' : ''))),
        el('div', { class: 'charts' },
          el('div', { class: 'panel' }, el('div', { class: 'panel-body' }, el('h2', {}, 'Orders by status'), barChart('chart-status', byStatus, 'Orders by status'))),
          el('div', { class: 'panel' }, el('div', { class: 'panel-body' }, el('h2', {}, 'Orders sent per hour, last 24 hours'), barChart('chart-24h', per24, 'Orders sent per hour over the last 24 hours'))),
          el('div', { class: 'panel wide' }, el('div', { class: 'panel-body' }, el('h2', {}, 'Orders sent per hour, last 7 days'), lineChart('chart-7d', per7, 'Orders sent per hour over the last 7 days')))),
        el('div', { class: 'panel' }, el('div', { class: 'panel-body' }, el('h2', {}, 'Jobs'),
          el('div', { class: 'table-wrap' }, el('table', { id: 'overview-jobs' },
            el('thead', {}, el('tr', {}, el('th', {}, 'Job'), el('th', {}, 'Last run'), el('th', {}, 'Outcome'), el('th', { class: 'hide-md' }, 'Message'), el('th', {}, 'State'))),
            el('tbody', {}, jobs))))));
      live.textContent = `Live · ${fmtTime(new Date().toISOString()).slice(11)}`;
    }
    return load;
  }

  // ---------- webhook events ----------

  function webhooksView(params) {
    const status = params.get('status') || '';
    const code = params.get('code') || '';
    const view = document.getElementById('view');
    const chips = el('div', { class: 'chips', id: 'webhook-status-filter' });
    const codeInput = el('input', { type: 'search', name: 'code', id: 'webhook-code', placeholder: 'Event code', value: code });
    const tbody = el('tbody', { id: 'webhooks-body' });
    const live = el('span', { class: 'live' }, 'Live');
    fill(view, 
      el('div', { class: 'page-head' }, el('h1', {}, 'Webhook events'), el('span', { class: 'sub' }, instId()), el('div', { class: 'spacer' }), live),
      el('p', { class: 'sub', id: 'webhook-path' }, 'Stream posts this installation\'s notifications to ',
        el('code', {}, (state.installations.find((i) => i.id === instId()) || {}).webhookPath || `/webhooks/${instId()}`),
        ' on the webhook receiver.'),
      chips,
      el('div', { class: 'panel' },
        el('div', { class: 'toolbar' },
          el('form', { id: 'webhook-code-form', onsubmit: (e) => { e.preventDefault(); go('webhooks', null, { status, code: codeInput.value.trim() }); } },
            codeInput, el('button', { type: 'submit' }, 'Filter'),
            code ? el('button', { type: 'button', onclick: () => go('webhooks', null, { status }) }, 'Clear') : null)),
        el('div', { class: 'table-wrap' }, el('table', { id: 'webhooks' },
          el('thead', {}, el('tr', {},
            el('th', { class: 'num' }, 'Id'), el('th', { class: 'nowrap' }, 'Received'), el('th', {}, 'Code'), el('th', {}, 'Status'),
            el('th', { class: 'num' }, 'Retries'), el('th', {}, 'Orders'), el('th', {}, 'Last error'), el('th', {}, ''))),
          tbody))));

    async function retry(ev) {
      const ok = await dialog('Retry webhook event', [
        el('p', {}, `Queue webhook event ${ev.id} (${ev.eventCode}) for processing again? Its retry count starts again; the process-webhooks job applies it on its next run.`),
        ev.lastError ? el('p', { class: 'sub' }, `It failed with: ${ev.lastError}`) : null,
      ], [
        { label: 'Cancel', value: false, id: 'dialog-cancel' },
        { label: 'Retry', value: true, class: 'primary', id: 'dialog-confirm' },
      ]);
      if (!ok) return;
      try {
        const reply = await api(`${instPath()}/webhooks/${encodeURIComponent(ev.id)}/retry`, { method: 'POST' });
        await dialog('Queued for retry', [el('p', { id: 'retry-message' }, reply.message),
          el('p', { class: 'sub' }, 'Correlation id ', el('a', { href: href('audit', null, { correlationId: reply.correlationId }), onclick: () => document.getElementById('dialog').close() }, reply.correlationId), ` · by ${reply.actor}`)],
        [{ label: 'Close', value: true, class: 'primary', id: 'dialog-close' }]);
      } catch (e) {
        await showError('Retry refused', e);
      }
      refresh();
    }

    async function load() {
      const q = new URLSearchParams();
      if (status) q.set('status', status);
      if (code) q.set('code', code);
      const reply = await api(`${instPath()}/webhooks?${q}`);
      const total = Object.values(reply.counts).reduce((a, b) => a + b, 0);
      chips.replaceChildren(
        el('button', { class: `chip${status ? '' : ' active'}`, 'data-status': '', onclick: () => go('webhooks', null, { code }) }, 'All', el('span', { class: 'count' }, total)),
        ...WEBHOOK_STATUSES.map(([c, label]) => el('button', {
          class: `chip${status === c ? ' active' : ''}`, 'data-status': c,
          onclick: () => go('webhooks', null, { status: c, code }),
        }, label, el('span', { class: 'count' }, reply.counts[WEBHOOK_COUNT_KEYS[c]]))));
      tbody.replaceChildren(...(reply.events.length ? reply.events.map((ev) => el('tr', { 'data-event': ev.id, 'data-status': ev.statusCode },
        el('td', { class: 'num mono' }, ev.id),
        el('td', { class: 'nowrap' }, fmtTime(ev.receivedAt), el('div', { class: 'sub' }, relTime(ev.receivedAt))),
        el('td', { class: 'mono' }, el('a', { href: href('webhooks', null, { status, code: ev.eventCode }) }, ev.eventCode)),
        el('td', {}, badge(ev.statusCode, ev.status)),
        el('td', { class: 'num' }, ev.retryCount),
        el('td', { class: 'mono' }, ev.orders.length ? ev.orders.map((o) => el('div', {}, el('a', { href: href('orders', null, { search: o }) }, o))) : dash(ev.orderNo || ev.consignmentNo)),
        el('td', { class: ev.lastError ? 'error-text' : '' }, ev.lastError ? el('div', { class: 'clamp', title: ev.lastError }, ev.lastError) : ''),
        el('td', {}, ev.statusCode === 'Failed' ? el('button', { class: 'primary retry', onclick: () => retry(ev) }, 'Retry') : null)))
        : [el('tr', {}, el('td', { colspan: 8, class: 'empty' }, status || code ? 'No webhook events match this filter.' : 'No webhook events received yet.'))]));
      live.textContent = `Live · ${fmtTime(new Date().toISOString()).slice(11)}`;
    }
    return load;
  }

  // ---------- audit log ----------

  function toLocalInput(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function auditView(params) {
    const view = document.getElementById('view');
    const f = {
      action: params.get('action') || '', orderId: params.get('orderId') || '',
      correlationId: params.get('correlationId') || '', from: params.get('from') || '',
      to: params.get('to') || '', limit: params.get('limit') || '100',
    };
    const action = el('select', { name: 'action', id: 'f-action' },
      el('option', { value: '' }, 'All actions'),
      ACTIONS.map((a) => el('option', { value: a, selected: f.action === a }, ACTION_LABELS[a] || a)));
    const orderId = el('input', { name: 'orderId', id: 'f-order', value: f.orderId, placeholder: 'Linnworks order id' });
    const correlationId = el('input', { name: 'correlationId', id: 'f-correlation', value: f.correlationId, placeholder: 'Correlation id' });
    const from = el('input', { type: 'datetime-local', name: 'from', id: 'f-from', value: toLocalInput(f.from) });
    const to = el('input', { type: 'datetime-local', name: 'to', id: 'f-to', value: toLocalInput(f.to) });
    const limit = el('select', { name: 'limit', id: 'f-limit' }, ['50', '100', '500', '1000'].map((n) => el('option', { value: n, selected: f.limit === n }, `${n} entries`)));
    const tbody = el('tbody', { id: 'audit-body' });
    const live = el('span', { class: 'live' }, 'Live');
    const iso = (v) => (v ? new Date(v).toISOString() : '');
    fill(view, 
      el('div', { class: 'page-head' }, el('h1', {}, 'Audit log'), el('span', { class: 'sub' }, instId()), el('div', { class: 'spacer' }), live),
      f.correlationId ? el('div', { class: 'banner info', id: 'correlation-banner' },
        el('strong', {}, 'Correlation id'), el('span', {}, el('code', {}, f.correlationId), ': every entry written by one job run or one action. ',
          el('a', { href: href('audit') }, 'Show all entries'))) : null,
      el('div', { class: 'panel' },
        el('form', { class: 'filters', id: 'audit-filters', onsubmit: (e) => {
          e.preventDefault();
          go('audit', null, { action: action.value, orderId: orderId.value.trim(), correlationId: correlationId.value.trim(), from: iso(from.value), to: iso(to.value), limit: limit.value === '100' ? '' : limit.value });
        } },
          el('label', { class: 'field' }, 'Action', action),
          el('label', { class: 'field' }, 'Order', orderId),
          el('label', { class: 'field' }, 'Correlation id', correlationId),
          el('label', { class: 'field' }, 'From', from),
          el('label', { class: 'field' }, 'To', to),
          el('label', { class: 'field' }, 'Show', limit),
          el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary' }, 'Apply'), el('button', { type: 'button', onclick: () => go('audit') }, 'Reset'))),
        el('div', { class: 'table-wrap' }, el('table', { id: 'audit' },
          el('thead', {}, el('tr', {},
            el('th', { class: 'nowrap' }, 'Time'), el('th', {}, 'Action'), el('th', {}, 'Outcome'),
            el('th', {}, 'Order'), el('th', { class: 'hide-sm' }, 'Correlation id'), el('th', { class: 'hide-md' }, 'Actor'),
            el('th', { class: 'num hide-md' }, 'ms'), el('th', {}, 'Message'))),
          tbody))));

    async function load() {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(f)) if (v && !(k === 'limit' && v === '100')) q.set(k, v);
      let reply;
      try {
        reply = await api(`${instPath()}/audit?${q}`);
      } catch (e) {
        if (e.status === 400) {
          tbody.replaceChildren(el('tr', {}, el('td', { colspan: 8 }, el('div', { class: 'banner error' }, e.message))));
          return;
        }
        throw e;
      }
      tbody.replaceChildren(...(reply.entries.length ? reply.entries.map((e) => el('tr', { 'data-correlation': e.correlationId },
        el('td', { class: 'nowrap' }, fmtTime(e.at)),
        el('td', {}, e.action),
        el('td', {}, badge(e.outcome, e.outcome)),
        el('td', { class: 'mono' }, e.orderId ? el('a', { href: href('order', e.orderId) }, e.orderId.slice(0, 8)) : '–'),
        el('td', { class: 'mono hide-sm' }, el('a', { class: 'correlation', href: href('audit', null, { correlationId: e.correlationId }), title: 'Every entry of this job run or action' }, e.correlationId.slice(0, 12))),
        el('td', { class: 'hide-md' }, e.actor),
        el('td', { class: 'num hide-md' }, e.durationMs),
        el('td', {}, e.message))) : [el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No audit entries match.'))]));
      live.textContent = `Live · ${fmtTime(new Date().toISOString()).slice(11)}`;
    }
    return load;
  }

  // ---------- scheduler ----------

  function jobsView() {
    const view = document.getElementById('view');
    const box = el('div', { id: 'jobs' });
    const live = el('span', { class: 'live' }, 'Live');
    fill(view, 
      el('div', { class: 'page-head' }, el('h1', {}, 'Scheduler'), el('span', { class: 'sub' }, 'every installation, master data included'), el('div', { class: 'spacer' }), live),
      box);

    async function load() {
      const replies = await Promise.all(state.installations.map((i) =>
        api(`/installations/${encodeURIComponent(i.namespace)}/${encodeURIComponent(i.name)}/jobs`).then((r) => [i, r])));
      box.replaceChildren(...replies.map(([inst, reply]) => {
        const rows = [];
        for (const j of reply.jobs) {
          const stateBadge = !j.enabled ? badge('disabled', 'Disabled') : j.overdue ? badge('overdue', 'Overdue') : badge('ok', 'On schedule');
          const last = j.lastRun;
          rows.push(el('tr', { 'data-job': j.job, class: j.overdue ? 'overdue' : '' },
            el('td', {}, el('div', {}, el('strong', {}, j.title)), el('div', { class: 'sub mono' }, j.job)),
            el('td', { class: 'hide-sm' }, j.schedule),
            el('td', { class: 'nowrap' }, last ? fmtTime(last.startedAt) : 'never', last ? el('div', { class: 'sub' }, relTime(last.startedAt)) : null),
            el('td', {}, last ? badge(last.outcomeCode, last.outcome) : '–'),
            el('td', { class: 'hide-md' }, last ? last.message : ''),
            el('td', { class: 'nowrap' }, j.nextRunAt ? fmtTime(j.nextRunAt) : '–', j.nextRunAt ? el('div', { class: 'sub' }, relTime(j.nextRunAt)) : null),
            el('td', {}, stateBadge)));
          if (j.overdue) {
            rows.push(el('tr', { class: 'overdue-row', 'data-overdue': j.job }, el('td', { colspan: 7 }, `⚠ ${j.title} is overdue: ${j.overdueReason}`)));
          }
        }
        const workers = reply.workers.length
          ? reply.workers.map((w) => el('span', {}, el('span', { class: `dot${w.live ? ' live' : ''}` }), `${w.process} · ${w.workerId} · last beat ${relTime(w.lastBeatAt)}`))
          : [el('span', {}, 'No worker has reported for this installation.')];
        return el('section', { class: 'panel', 'data-installation': inst.id },
          el('div', { class: 'inst-title' }, el('h2', {}, inst.id), inst.suspended ? badge('disabled', 'Suspended') : null,
            !inst.orderSyncEnabled ? el('span', { class: 'sub' }, 'order sync off (manual sends only)') : null),
          el('div', { class: 'table-wrap' }, el('table', {},
            el('thead', {}, el('tr', {}, el('th', {}, 'Job'), el('th', { class: 'hide-sm' }, 'Schedule'), el('th', {}, 'Last run'),
              el('th', {}, 'Outcome'), el('th', { class: 'hide-md' }, 'Message'), el('th', {}, 'Next run'), el('th', {}, 'State'))),
            el('tbody', {}, rows))),
          el('div', { class: 'workers' }, el('strong', {}, 'Workers:'), workers),
          el('div', { class: 'workers', 'data-breaker': reply.streamBreaker ? reply.streamBreaker.state : 'closed' },
            el('strong', {}, 'Stream breaker:'), breakerText(reply.streamBreaker) || 'closed (sending normally)'));
      }));
      live.textContent = `Live · ${fmtTime(new Date().toISOString()).slice(11)}`;
    }
    return load;
  }

  // ---------- main loop ----------

  let currentLoad = null;

  async function refresh() {
    if (!currentLoad || state.busy) return;
    if (document.getElementById('dialog').open) return;
    state.busy = true;
    try {
      await loadInstallations();
      renderNav();
      renderBanners();
      await currentLoad();
      const live = document.querySelector('.live');
      if (live) live.classList.remove('stale');
    } catch (e) {
      const live = document.querySelector('.live');
      if (live) { live.classList.add('stale'); live.textContent = `Not updating: ${e.message}`; }
    } finally {
      state.busy = false;
    }
  }

  function route() {
    const r = parseHash();
    if (!r || !state.installations.some((i) => i.namespace === r.namespace && i.name === r.name)) {
      const saved = window.localStorage.getItem('linnstream.installation');
      const inst = state.installations.find((i) => i.id === saved) || state.installations[0];
      if (!inst) {
        document.getElementById('view').replaceChildren(el('div', { class: 'banner info' }, 'No installations are configured yet.'));
        return;
      }
      state.inst = { namespace: inst.namespace, name: inst.name };
      window.location.replace(href('orders'));
      return;
    }
    if (!state.inst || state.inst.namespace !== r.namespace || state.inst.name !== r.name) state.selected.clear();
    state.inst = { namespace: r.namespace, name: r.name };
    window.localStorage.setItem('linnstream.installation', instId());
    state.route = r;
    renderNav();
    renderBanners();
    const views = {
      orders: () => ordersView(r.params), order: () => orderView(r.id), audit: () => auditView(r.params), jobs: () => jobsView(),
      overview: () => overviewView(), webhooks: () => webhooksView(r.params),
    };
    currentLoad = (views[r.view] || views.orders)();
    clearInterval(state.timer);
    state.timer = setInterval(refresh, POLL_MS[r.view] || 5000);
    refresh();
  }

  async function start() {
    try {
      state.session = await api('/session');
    } catch (_) {
      return;
    }
    document.getElementById('actor').textContent = `Signed in as ${state.session.actor}`;
    document.getElementById('logout-csrf').value = state.session.csrfToken || '';
    document.getElementById('installation').addEventListener('change', (e) => {
      const inst = state.installations.find((i) => i.id === e.target.value);
      if (!inst) return;
      state.inst = { namespace: inst.namespace, name: inst.name };
      state.selected.clear();
      go(state.route && state.route.view !== 'order' ? state.route.view : 'orders');
    });
    await loadInstallations();
    window.addEventListener('hashchange', route);
    route();
  }

  document.addEventListener('DOMContentLoaded', start);
})();
