// The "human with a browser" for codex-auth black-box tests. Drives the pages
// served by server.js over plain HTTP (Node's global fetch, manual redirects,
// own cookie jar).
//
//   node agent.js authorize <authorize_url> [--deny] [--print-callback] [--login NAME]
//   node agent.js device <issuer-or-verification-url> <user_code> [--deny] [--login NAME]
//
// See README.md for the output contract and exit codes.

const TIMEOUT_MS = Number(process.env.AGENT_TIMEOUT_MS || 15000);
const MAX_STEPS = 30;

function usage(msg) {
  if (msg) process.stderr.write(`agent: ${msg}\n`);
  process.stderr.write(`usage:
  node agent.js authorize <authorize_url> [--deny] [--print-callback] [--login NAME]
  node agent.js device <issuer-or-verification-url> <user_code> [--deny] [--login NAME]
`);
  process.exit(64);
}

function fail(msg, code = 1) {
  process.stderr.write(`agent: ${msg}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------- cookie jar

class Jar {
  constructor() { this.cookies = []; }

  store(url, res) {
    const u = new URL(url);
    const lines = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, ...v] = a.split('=');
        const key = k.trim().toLowerCase();
        const val = v.join('=').trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        if (key === 'max-age' && Number(val) <= 0) expired = true;
        if (key === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.host === u.host && c.name === name && c.path === path));
      if (!expired) this.cookies.push({ host: u.host, name, value, path });
    }
  }

  header(url) {
    const u = new URL(url);
    const matching = this.cookies.filter((c) => c.host === u.host
      && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

// ---------------------------------------------------------------- html forms

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
    const l = e.toLowerCase();
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos' || l === '#39') return "'";
    if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
    return String.fromCodePoint(parseInt(l.slice(1), 10));
  });
}

function attrs(tag) {
  const out = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  let m;
  const inner = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  while ((m = re.exec(inner))) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function parseForms(html) {
  const forms = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = m[0].match(/^<form\b[^>]*>/i)[0];
    const a = attrs(open);
    const fields = [];
    const inRe = /<input\b[^>]*>/gi;
    let i;
    while ((i = inRe.exec(m[1]))) {
      const ia = attrs(i[0]);
      if (ia.name) fields.push([ia.name, ia.value ?? '']);
    }
    forms.push({
      id: a.id || '', action: a.action || '', method: (a.method || 'get').toLowerCase(), fields,
    });
  }
  return forms;
}

function outcomeOf(html) {
  const m = /<meta\s+name="outcome"\s+content="([^"]*)"/i.exec(html);
  return m ? decodeEntities(m[1]) : null;
}

function textOf(html) {
  return html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ').trim().slice(0, 500);
}

// ---------------------------------------------------------------- browser

const jar = new Jar();

async function request(url, { method = 'GET', form } = {}) {
  const headers = { 'user-agent': 'codex-auth-test-agent/1', accept: 'text/html,*/*' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  let res;
  try {
    res = await fetch(url, {
      method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    fail(`${method} ${url} failed: ${err.cause?.message || err.message}`, 3);
  }
  jar.store(url, res);
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), text };
}

function parseArgs(argv) {
  const opts = { deny: false, printCallback: false, login: 'alice', positional: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--deny') opts.deny = true;
    else if (a === '--print-callback') opts.printCallback = true;
    else if (a === '--login') { opts.login = argv[i + 1]; i += 1; if (!opts.login) usage('--login needs a value'); }
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else opts.positional.push(a);
  }
  return opts;
}

// Walk the provider's pages: follow same-origin redirects, submit forms.
// Returns { kind: 'offsite', url } when a redirect leaves the issuer origin,
// or { kind: 'page', status, text, outcome } when a page without a form to submit is reached.
async function browse(startUrl, opts, fill = () => {}) {
  const origin = new URL(startUrl).origin;
  let next = { url: startUrl, method: 'GET' };
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const r = await request(next.url, next);
    if (r.status >= 300 && r.status < 400 && r.location) {
      const target = new URL(r.location, next.url);
      if (target.origin !== origin) return { kind: 'offsite', url: target.href };
      next = { url: target.href, method: 'GET' };
      continue;
    }
    const outcome = outcomeOf(r.text);
    const forms = parseForms(r.text);
    let form;
    if (outcome === 'input') {
      form = forms.find((f) => f.id === 'op.deviceInputForm');
    } else {
      form = forms.find((f) => f.id === (opts.deny ? 'deny' : 'approve'));
    }
    if (!form && forms.length === 1 && !outcome) {
      // e.g. an auto-submitting form_post page
      [form] = forms;
    }
    if (!form) return { kind: 'page', status: r.status, text: r.text, outcome };
    const fields = Object.fromEntries(form.fields);
    if (form.id === 'approve' && 'login' in fields) fields.login = opts.login;
    fill(form, fields, outcome);
    const action = new URL(form.action || next.url, next.url).href;
    if (new URL(action).origin !== origin) {
      return { kind: 'offsite', url: action, form: fields };
    }
    next = form.method === 'post'
      ? { url: action, method: 'POST', form: fields }
      : { url: `${action}${action.includes('?') ? '&' : '?'}${new URLSearchParams(fields)}`, method: 'GET' };
  }
  fail(`more than ${MAX_STEPS} steps, giving up`, 1);
  return null;
}

async function authorize(opts) {
  const [url] = opts.positional;
  if (!url || opts.positional.length !== 1) usage('authorize needs exactly one URL');
  const result = await browse(url, opts);
  if (result.kind !== 'offsite') {
    process.stdout.write(`PROVIDER_PAGE ${result.status} ${result.outcome ?? ''}\n${textOf(result.text)}\n`);
    fail('the provider did not redirect to the client', 1);
  }
  if (opts.printCallback) {
    process.stdout.write(`${result.url}\n`);
    return;
  }
  let res;
  try {
    res = await fetch(result.url, { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    process.stdout.write(`CALLBACK ${result.url}\n`);
    fail(`GET callback failed: ${err.cause?.message || err.message}`, 3);
  }
  const body = await res.text();
  process.stdout.write(`STATUS ${res.status}\n${body}${body.endsWith('\n') || !body ? '' : '\n'}`);
}

async function device(opts) {
  const [where, userCode] = opts.positional;
  if (!where || !userCode || opts.positional.length !== 2) usage('device needs <issuer> <user_code>');
  const u = new URL(where);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/device';
  u.search = '';
  const result = await browse(u.href, opts, (form, fields, outcome) => {
    if (outcome === 'input' && 'user_code' in fields) fields.user_code = userCode;
  });
  if (result.kind === 'offsite') fail(`unexpected redirect off the issuer: ${result.url}`, 1);
  const outcome = result.outcome ?? 'unknown';
  process.stdout.write(`RESULT ${outcome}\nSTATUS ${result.status}\n${textOf(result.text)}\n`);
  const wanted = opts.deny ? 'aborted' : 'success';
  if (outcome !== wanted) fail(`expected outcome ${wanted}, got ${outcome}`, 1);
}

const [cmd, ...rest] = process.argv.slice(2);
const opts = parseArgs(rest);
if (cmd === 'authorize') await authorize(opts);
else if (cmd === 'device') await device(opts);
else usage(cmd ? `unknown command ${cmd}` : undefined);
