// The demo console: connect through a websocket proxy, type commands in the human
// syntax, read replies as collapsible JSON, watch events. Uses only the npm package.
import { connect, init, encodeLine, isShellSyntaxError, QmpError } from '../pkg/index.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$('url').value = params.get('url') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

let qmp;
let commands = [];
const history = JSON.parse(localStorage.getItem('qmp-history') ?? '[]');
let historyAt = history.length;
const eventNames = new Map(); // name → shown?
let eventCount = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setBadge(state) {
  const badge = $('badge');
  badge.textContent = state;
  badge.className = `badge ${{ running: 'running', paused: 'paused', disconnected: 'off' }[state] ?? 'bad'}`;
}

function bytes(n) {
  return n < 1000 ? `${n} B` : `${(n / 1000).toFixed(n < 10000 ? 1 : 0)} KB`;
}

// Collapsible JSON: objects and arrays are <details> whose children are built when first
// opened, so a 236 KB reply costs nothing until looked at.
function jsonNode(value, key, open) {
  const keyPart = key === undefined ? [] : [el('span', 'k', JSON.stringify(key)), ': '];
  if (value === null || typeof value !== 'object') {
    const line = el('div');
    const cls = typeof value === 'string' ? 's' : typeof value === 'number' ? 'n' : 'l';
    line.append(...keyPart, el('span', cls, JSON.stringify(value)));
    return line;
  }
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (entries.length === 0) {
    const line = el('div');
    line.append(...keyPart, el('span', 'preview', isArray ? '[]' : '{}'));
    return line;
  }
  const details = el('details', 'json');
  const summary = el('summary');
  const preview = isArray
    ? `[…] ${entries.length} item${entries.length === 1 ? '' : 's'}`
    : `{…} ${entries.map(([k]) => k).slice(0, 4).join(', ')}${entries.length > 4 ? ', …' : ''}`;
  summary.append(...keyPart, el('span', 'preview', preview));
  details.append(summary);
  const children = el('div', 'children');
  details.append(children);
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    for (const [k, v] of entries) children.append(jsonNode(v, isArray ? undefined : k, false));
  };
  details.addEventListener('toggle', () => details.open && build());
  if (open) {
    details.open = true;
    build();
  }
  return details;
}

function note(text, cls = 'note') {
  const entry = el('div', `entry ${cls}`, text);
  $('transcript').append(entry);
  entry.scrollIntoView({ block: 'end' });
}

async function run(line) {
  const oob = $('oob').checked;
  const entry = el('div', 'entry waiting');
  const head = el('div');
  head.append(el('span', 'cmd', line + (oob ? '   (oob)' : '')));
  const meta = el('span', 'meta', 'waiting…');
  head.append(meta);
  entry.append(head);
  $('transcript').append(entry);
  entry.scrollIntoView({ block: 'end' });
  const started = performance.now();
  try {
    const text = await qmp.executeLine(line, { oob, text: true });
    const value = JSON.parse(text);
    entry.className = 'entry ok';
    entry.dataset.replyBytes = String(text.length);
    meta.textContent = `${(performance.now() - started).toFixed(0)} ms · ${bytes(text.length)}`;
    const small = text.length < 4000;
    entry.append(jsonNode(value, undefined, small));
  } catch (e) {
    entry.className = 'entry error';
    meta.textContent = `${(performance.now() - started).toFixed(0)} ms`;
    const err = el('div', 'err');
    if (e instanceof QmpError) err.append(el('b', '', e.class), `: ${e.desc}`);
    else if (isShellSyntaxError(e)) err.append(el('b', '', 'syntax'), `: ${e.reason} at column ${e.column}`);
    else err.append(el('b', '', e.name ?? 'Error'), `: ${e.message}`);
    entry.append(err);
  }
  entry.scrollIntoView({ block: 'end' });
}

function renderEventChips() {
  const box = $('event-names');
  box.replaceChildren();
  for (const [name, shown] of [...eventNames].sort()) {
    const chip = el('span', `chip ${shown ? 'on' : 'offc'}`, name);
    chip.title = shown ? 'click to hide' : 'click to show';
    chip.onclick = () => {
      eventNames.set(name, !shown);
      renderEventChips();
      filterEvents();
    };
    box.append(chip);
  }
}

function filterEvents() {
  const text = $('event-filter').value.trim().toLowerCase();
  for (const li of $('event-log').children) {
    const name = li.dataset.name;
    const visible = eventNames.get(name) !== false && (!text || li.textContent.toLowerCase().includes(text));
    li.hidden = !visible;
  }
}

function logEvent(name, data, seconds, microseconds, cls = name) {
  eventCount++;
  $('event-count').textContent = String(eventCount);
  if (!eventNames.has(name)) {
    eventNames.set(name, true);
    renderEventChips();
  }
  const li = el('li');
  li.dataset.name = name;
  const time = seconds > 0 ? new Date(seconds * 1000 + microseconds / 1000) : new Date();
  li.append(el('span', 'time', time.toLocaleTimeString([], { hour12: false }) + '.' + String(time.getMilliseconds()).padStart(3, '0')));
  li.append(el('span', `name ${cls}`, name));
  if (data !== undefined) li.append(el('span', 'data', JSON.stringify(data)));
  $('event-log').prepend(li);
  filterEvents();
}

async function onConnect(event) {
  event.preventDefault();
  if (qmp && !qmp.isClosed) {
    await qmp.close();
    return;
  }
  const url = $('url').value.trim();
  $('connect-button').disabled = true;
  note(`connecting to ${url} …`);
  try {
    qmp = await connect(url, { timeout: 8000 });
  } catch (e) {
    note(`cannot connect: ${e.message}`, 'error');
    setBadge('disconnected');
    $('connect-button').disabled = false;
    return;
  }
  const v = qmp.greeting?.version;
  $('version').textContent = v ? `QEMU ${v.major}.${v.minor}.${v.micro}${qmp.oob ? ' · oob' : ''}` : '';
  $('connect-button').textContent = 'Disconnect';
  $('connect-button').disabled = false;
  $('line').disabled = false;
  $('line').focus();
  note(`connected: capabilities negotiated${qmp.oob ? ' (oob on)' : ''}`);
  qmp.on('STOP', () => setBadge('paused'));
  qmp.on('RESUME', () => setBadge('running'));
  qmp.on('SHUTDOWN', () => setBadge('shut down'));
  qmp.on('*', (e) => logEvent(e.name, e.data, e.timestamp.seconds, e.timestamp.microseconds));
  qmp.onProblem((p) => logEvent(p.error?.name ?? p.type, p.error?.message ?? p.text, 0, 0, 'problem'));
  qmp.closed.then((why) => {
    note(`disconnected (${why.code}${why.reason ? ' ' + why.reason : ''})`);
    setBadge('disconnected');
    $('version').textContent = '';
    $('line').disabled = true;
    $('connect-button').textContent = 'Connect';
  });
  try {
    const status = await qmp.execute('query-status');
    setBadge(status.running ? 'running' : status.status);
    commands = (await qmp.execute('query-commands')).map((c) => c.name).sort();
    $('line').dataset.commands = String(commands.length);
  } catch (e) {
    note(`setup failed: ${e.message}`, 'error');
  }
}

// Tab completion of the command name (from query-commands): the longest common prefix,
// then cycling through the candidates on further Tabs.
let completion;
function complete() {
  const input = $('line');
  const value = input.value;
  if (/\s/.test(value.trimStart())) return;
  if (!completion || completion.typed !== value) {
    const prefix = value.trim();
    const matches = commands.filter((c) => c.startsWith(prefix));
    if (matches.length === 0) return;
    let common = matches[0];
    for (const m of matches) while (!m.startsWith(common)) common = common.slice(0, -1);
    completion = { prefix, matches, at: -1 };
    if (matches.length === 1) {
      input.value = matches[0] + ' ';
    } else if (common.length > prefix.length) {
      input.value = common;
    } else {
      completion.at = 0;
      input.value = matches[0];
    }
    completion.typed = input.value;
    showHint(matches.length > 1 ? matches.slice(0, 12).join('  ') + (matches.length > 12 ? `  … ${matches.length}` : '') : '');
    return;
  }
  completion.at = (completion.at + 1) % completion.matches.length;
  input.value = completion.matches[completion.at];
  completion.typed = input.value;
}

function showHint(text, bad) {
  const hint = $('hint');
  hint.replaceChildren(bad ? el('span', 'bad', text) : text);
}

function checkLine() {
  const line = $('line').value;
  if (!line.trim()) return showHint('');
  try {
    encodeLine(line);
    showHint('');
  } catch (e) {
    if (isShellSyntaxError(e) && e.reason !== 'empty command line') {
      showHint(' '.repeat(e.column) + `^ ${e.reason}`, true);
    }
  }
}

$('connect').addEventListener('submit', onConnect);
$('command').addEventListener('submit', (event) => {
  event.preventDefault();
  const line = $('line').value.trim();
  if (!line || !qmp) return;
  if (history[history.length - 1] !== line) history.push(line);
  localStorage.setItem('qmp-history', JSON.stringify(history.slice(-200)));
  historyAt = history.length;
  $('line').value = '';
  showHint('');
  run(line);
});
$('line').addEventListener('keydown', (event) => {
  if (event.key === 'Tab') {
    event.preventDefault();
    complete();
  } else if (event.key === 'ArrowUp' && historyAt > 0) {
    event.preventDefault();
    $('line').value = history[--historyAt];
  } else if (event.key === 'ArrowDown') {
    event.preventDefault();
    historyAt = Math.min(history.length, historyAt + 1);
    $('line').value = history[historyAt] ?? '';
  }
});
$('line').addEventListener('input', () => {
  completion = undefined;
  checkLine();
});
$('event-filter').addEventListener('input', filterEvents);
$('clear-events').addEventListener('click', () => {
  $('event-log').replaceChildren();
  eventCount = 0;
  $('event-count').textContent = '0';
});

await init();
document.body.dataset.ready = 'true';
if (params.has('connect')) $('connect-button').click();
