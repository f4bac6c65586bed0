// SPDX-License-Identifier: GPL-3.0-or-later
// Over 600 lines on purpose: one page's script, with every string of both languages in one
// table (the brief's rule for bilingual messages), and no build step to split it.
// The /ui/ page: talks to the node's /api/ (docs/api.md). Every DICOM value goes into the page
// through textContent, never innerHTML, so a patient name cannot carry markup.
'use strict';

// ---------------------------------------------------------------------------------------
// Strings: every sentence of the page, in both languages. {x} is replaced by fmt().
const STRINGS = {
  en: {
    tagline: 'Cloud films and studies on this computer',
    switch_to: '中文',
    login_title: 'Sign in',
    login_user: 'User name',
    login_button: 'Sign in',
    login_failed: 'The user name or password is wrong. Check them and try again.',
    fetch_title: 'Download a cloud film',
    fetch_hint: 'Paste the link from the hospital\'s text message or report. The images are saved on this computer.',
    link_label: 'Cloud film link',
    link_placeholder: 'https://…',
    password: 'Password',
    password_placeholder: 'Only if the link has one',
    download: 'Download',
    link_missing: 'Paste the cloud film link into the box first, then press Download.',
    fetch_started: 'Download started. You can follow it under "Downloads" below.',
    platforms_title: 'Which links work?',
    jobs_title: 'Downloads',
    jobs_empty: 'No downloads yet.',
    state_queued: 'Waiting',
    state_running: 'Downloading',
    state_done: 'Done',
    state_failed: 'Failed',
    state_cancelled: 'Cancelled',
    state_interrupted: 'Interrupted',
    state_pending: 'Waiting to send',
    images: '{n}/{total} images',
    images_unknown: '{n} images',
    eta: 'about {t} left',
    minutes: '{m} min {s} s',
    seconds: '{s} s',
    job_detail: '{already} already here, {skipped} skipped, {failed} failed',
    job_interrupted: 'The node stopped during this download. Press Retry (with the password, if the link has one) to fetch the rest.',
    cancel: 'Cancel',
    remove: 'Remove',
    retry: 'Retry',
    retry_password: 'Password for this link',
    retry_go: 'Start again',
    problems: 'Notes: {p}',
    studies_title: 'Studies on this computer',
    search_label: 'Search by patient name',
    col_name: 'Patient name',
    col_id: 'Patient ID',
    col_date: 'Study date',
    col_modalities: 'Modality',
    col_description: 'Description',
    col_images: 'Images',
    col_actions: 'Actions',
    studies_none: 'No studies yet. Download a cloud film or add files below.',
    studies_no_match: 'No patient name matches "{q}".',
    studies_more: 'Showing {n} of {total} studies. Search by name to find the others.',
    view: 'View',
    download_zip: 'Download zip',
    forward_to: 'Forward to ▸',
    forward_choose: 'Destination',
    forward_queued: 'Queued for {to}. See "Forwarding" below.',
    delete: 'Delete',
    confirm_delete: 'Delete the study of {name} ({date}) from this computer? This cannot be undone.',
    deleted: 'Deleted.',
    upload_title: 'Add files from this computer',
    drop_text: 'Drop DICOM files, a zip of a CD, or a HAR file here',
    choose_files: 'Choose files…',
    uploading: 'Sending {name} ({i} of {n})…',
    upload_summary: '{imported} images added, {duplicates} already here, {skipped} skipped, {failed} failed.',
    upload_file_error: '{name}: {msg}',
    upload_failure: '{name}: {msg}',
    upload_not_dicom: 'This file is not DICOM, a zip of DICOM files or a HAR capture, so nothing was added. Choose the image files (on a CD they are usually in the DICOM folder) or a zip of them.',
    queue_title: 'Forwarding',
    queue_empty: 'Nothing is being forwarded.',
    queue_counts: '{done} sent, {pending} to go, {failed} failed',
    queue_attempts: 'attempt {n}',
    queue_next: 'next try at {t}',
    queue_study: 'study {uid}',
    last_error: 'Last error: {e}',
    status: 'cloudfilm {version} · AE {ae} · {studies} studies, {instances} images · {used} used, {free} free',
    live_sse: 'live',
    live_poll: 'updating every 2 s',
    err_offline: 'The page cannot reach the node. Check that cloudfilm is still running, then reload the page.',
    err_http: 'The node gave an unexpected answer (HTTP {status}). Try again; if it keeps happening, look at the node\'s log.',
    err: {
      bad_request: 'The node could not use this request. Check what you entered and try again.',
      bad_json: 'The page sent something the node could not read. Reload the page and try again.',
      not_found: 'This item is no longer on the node (it may have been deleted). The list has been refreshed.',
      method_not_allowed: 'The node does not allow this action. Reload the page; if that does not help, update cloudfilm.',
      too_large: 'This is larger than the node accepts. Send a smaller file, or ask the administrator to raise the limit (http.max_upload_mb).',
      unsupported_link: 'This link is not from a cloud film website the node knows. Check that you copied the whole link; "Which links work?" lists the supported ones.',
      needs_password: 'This cloud film is protected by a password. Enter it (it is usually on the report or in the text message) and press Download again.',
      wrong_password: 'The password is wrong. Check it (capital letters, no spaces) and try again.',
      link_expired: 'This link has expired or was withdrawn. Ask the hospital for a new link.',
      platform_changed: 'The cloud film website has changed and the node cannot read it any more. Try again later and report it; meanwhile you can save the page in the browser as a HAR file and add it below.',
      network: 'The node could not reach the cloud film website. Check this computer\'s internet connection and press Retry.',
      storage_full: 'The node\'s storage is full. Delete studies you no longer need, then press Retry.',
      pacs_unreachable: 'The destination did not answer. Check that it is switched on and on the network, then retry.',
      unknown_modality: 'There is no destination with this name. Reload the page to see the current list.',
      conflict: 'This cannot be done in the item\'s current state (for example the job is still running). Wait a moment and try again.',
      auth_required: 'Please sign in first.',
      forbidden: 'Your account may not do this. Ask the administrator.',
      bad_host: 'The node refused the address used to open this page. Open it as http://localhost:8080/ui/ or with a name listed in http.hosts.',
      bad_origin: 'The node refused a request that did not come from its own page. Open the page from the node\'s own address.',
      busy: 'The node is busy right now. Wait a minute and try again.',
      internal: 'Something went wrong inside the node. Try again; if it happens again, look at the node\'s log.',
      cancelled: 'The download was cancelled. Press Retry to continue it.',
    },
  },
  zh: {
    tagline: '本机上的云胶片与影像',
    switch_to: 'English',
    login_title: '登录',
    login_user: '用户名',
    login_button: '登录',
    login_failed: '用户名或密码不对。请检查后重试。',
    fetch_title: '下载云胶片',
    fetch_hint: '粘贴医院短信或报告上的链接。影像会保存在这台电脑上。',
    link_label: '云胶片链接',
    link_placeholder: 'https://…',
    password: '密码',
    password_placeholder: '链接有密码时才需要填写',
    download: '下载',
    link_missing: '请先把云胶片链接粘贴到输入框里，再点“下载”。',
    fetch_started: '已开始下载。可在下面的“下载任务”里查看进度。',
    platforms_title: '支持哪些链接？',
    jobs_title: '下载任务',
    jobs_empty: '还没有下载任务。',
    state_queued: '等待中',
    state_running: '下载中',
    state_done: '完成',
    state_failed: '失败',
    state_cancelled: '已取消',
    state_interrupted: '已中断',
    state_pending: '等待发送',
    images: '{n}/{total} 张图像',
    images_unknown: '{n} 张图像',
    eta: '约剩 {t}',
    minutes: '{m} 分 {s} 秒',
    seconds: '{s} 秒',
    job_detail: '已有 {already}，跳过 {skipped}，失败 {failed}',
    job_interrupted: '下载过程中节点停止了运行。请点“重试”（链接有密码时需再输入密码）下载剩余部分。',
    cancel: '取消',
    remove: '移除',
    retry: '重试',
    retry_password: '此链接的密码',
    retry_go: '重新开始',
    problems: '提示：{p}',
    studies_title: '本机上的检查',
    search_label: '按患者姓名搜索',
    col_name: '患者姓名',
    col_id: '患者编号',
    col_date: '检查日期',
    col_modalities: '检查类型',
    col_description: '检查描述',
    col_images: '图像数',
    col_actions: '操作',
    studies_none: '还没有检查。请下载云胶片，或在下面添加文件。',
    studies_no_match: '没有与“{q}”相符的患者姓名。',
    studies_more: '显示 {total} 项检查中的 {n} 项。可按姓名搜索其余的检查。',
    view: '查看',
    download_zip: '下载压缩包',
    forward_to: '转发到 ▸',
    forward_choose: '目标',
    forward_queued: '已排队发送到 {to}。可在下面的“转发”里查看。',
    delete: '删除',
    confirm_delete: '要从这台电脑上删除 {name}（{date}）的检查吗？删除后无法恢复。',
    deleted: '已删除。',
    upload_title: '从这台电脑添加文件',
    drop_text: '把 DICOM 文件、光盘的压缩包或 HAR 文件拖到这里',
    choose_files: '选择文件…',
    uploading: '正在发送 {name}（第 {i} 个，共 {n} 个）…',
    upload_summary: '新增 {imported} 张图像，已有 {duplicates} 张，跳过 {skipped} 张，失败 {failed} 张。',
    upload_file_error: '{name}：{msg}',
    upload_failure: '{name}：{msg}',
    upload_not_dicom: '这个文件不是 DICOM、DICOM 文件的压缩包或 HAR 文件，因此没有添加任何内容。请选择影像文件（光盘上通常在 DICOM 文件夹里）或它们的压缩包。',
    queue_title: '转发',
    queue_empty: '目前没有转发任务。',
    queue_counts: '已发送 {done}，待发送 {pending}，失败 {failed}',
    queue_attempts: '第 {n} 次尝试',
    queue_next: '下次尝试：{t}',
    queue_study: '检查 {uid}',
    last_error: '上次错误：{e}',
    status: 'cloudfilm {version} · AE {ae} · {studies} 项检查，{instances} 张图像 · 已用 {used}，剩余 {free}',
    live_sse: '实时更新',
    live_poll: '每 2 秒更新',
    err_offline: '页面连不上节点。请确认 cloudfilm 仍在运行，然后刷新页面。',
    err_http: '节点返回了意外的结果（HTTP {status}）。请重试；如果一直这样，请查看节点日志。',
    err: {
      bad_request: '节点无法处理这个请求。请检查输入的内容后重试。',
      bad_json: '页面发送的内容节点无法读取。请刷新页面后重试。',
      not_found: '节点上已没有这一项（可能已被删除）。列表已刷新。',
      method_not_allowed: '节点不允许这个操作。请刷新页面；如果仍然不行，请更新 cloudfilm。',
      too_large: '内容超过了节点允许的大小。请发送较小的文件，或请管理员调高上限（http.max_upload_mb）。',
      unsupported_link: '这个链接不属于节点认识的云胶片网站。请检查是否复制了完整的链接；“支持哪些链接？”里列出了支持的网站。',
      needs_password: '这个云胶片有密码保护。请输入密码（通常在报告或短信上），再点“下载”。',
      wrong_password: '密码不对。请检查（注意大小写，不要有空格）后重试。',
      link_expired: '链接已过期或已被撤回。请向医院索取新的链接。',
      platform_changed: '云胶片网站有了变化，节点暂时无法读取。请稍后重试并反馈这个问题；也可以在浏览器里把页面保存为 HAR 文件，在下面添加。',
      network: '节点连不上云胶片网站。请检查这台电脑的网络连接，然后点“重试”。',
      storage_full: '节点的存储空间已满。请删除不再需要的检查，然后点“重试”。',
      pacs_unreachable: '目标设备没有响应。请确认它已开机并已联网，然后重试。',
      unknown_modality: '没有这个名称的目标设备。请刷新页面查看当前列表。',
      conflict: '当前状态下无法执行此操作（例如任务仍在进行）。请稍等片刻再试。',
      auth_required: '请先登录。',
      forbidden: '您的账号无权执行此操作。请联系管理员。',
      bad_host: '节点拒绝了打开本页面所用的地址。请用 http://localhost:8080/ui/ 或 http.hosts 中列出的名称打开。',
      bad_origin: '节点拒绝了不是来自其自身页面的请求。请从节点自己的地址打开本页面。',
      busy: '节点正忙。请稍等一分钟再试。',
      internal: '节点内部出错了。请重试；如果再次出现，请查看节点日志。',
      cancelled: '下载已取消。点“重试”可继续下载。',
    },
  },
};

const LANG_KEY = 'cloudfilm.lang';
let lang = pickLanguage();

function pickLanguage() {
  let saved = null;
  try { saved = localStorage.getItem(LANG_KEY); } catch (e) { /* storage disabled */ }
  if (saved === 'zh' || saved === 'en') return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return /^zh/i.test(nav) ? 'zh' : 'en';
}

function t(key, args) {
  const s = STRINGS[lang][key];
  return fmt(s === undefined ? STRINGS.en[key] : s, args);
}

function fmt(s, args) {
  if (!args) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (args[k] === undefined ? m : String(args[k])));
}

// The sentence for an API error: ours by code; the server's message when the code is new.
function errorText(err) {
  if (!err) return '';
  if (err.offline) return t('err_offline');
  const mine = err.code && STRINGS[lang].err[err.code];
  if (mine) return mine;
  if (err.message) return err.message;
  return t('err_http', { status: err.status || '?' });
}

// ---------------------------------------------------------------------------------------
// Small DOM and formatting helpers.
const $ = (id) => document.getElementById(id);

function el(tag, props, children) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k in e && typeof v !== 'string') e[k] = v;
      else e.setAttribute(k, v);
    }
  }
  for (const c of children || []) if (c) e.appendChild(c);
  return e;
}

// PN (PS3.5 6.2): up to three '='-separated groups (alphabetic, ideographic, phonetic), each of
// '^'-separated components; CJK components join without space. A name with both an alphabetic
// and an ideographic group shows the ideographic one first: "王小東 (Wang XiaoDong)".
function formatGroup(group) {
  const parts = String(group || '').split('^').map((s) => s.trim()).filter((s) => s !== '');
  const cjk = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]/.test(group || '');
  return parts.join(cjk ? '' : ' ');
}

function formatName(pn) {
  if (!pn) return '';
  const groups = String(pn).split('=').map(formatGroup);
  const alphabetic = groups[0] || '';
  const ideographic = groups[1] || '';
  if (alphabetic && ideographic && alphabetic !== ideographic) return `${ideographic} (${alphabetic})`;
  return alphabetic || ideographic || groups[2] || '';
}

function formatDate(da) {
  const s = String(da || '');
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}` : s;
}

function formatBytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function formatEta(s) {
  s = Math.max(0, Math.round(s));
  if (s >= 60) return t('minutes', { m: Math.floor(s / 60), s: s % 60 });
  return t('seconds', { s });
}

function formatTime(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  return isNaN(d) ? '' : d.toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB');
}

function setMessage(node, text, kind) {
  node.textContent = text || '';
  node.classList.toggle('error', kind === 'error');
  node.classList.toggle('ok', kind === 'ok');
}

// Lists are redrawn several times a second while a download runs. Rebuilding them would
// swallow a click that lands between mouse-down and mouse-up, reset a chosen destination and
// steal focus from a password field; so the fresh tree is merged into the one on screen:
// text and attributes are updated in place, and an element is replaced only when it is of
// another kind (tag, data-testid, data-key), so a kept button keeps the right listener.
// Form controls keep what the user typed or chose.
function sameKind(a, b) {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
  if (a.nodeType !== 1) return true;
  return a.dataset.testid === b.dataset.testid && a.dataset.key === b.dataset.key;
}

function morph(old, fresh) {
  if (old.nodeType !== 1) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return;
  }
  for (const a of [...old.attributes]) if (!fresh.hasAttribute(a.name)) old.removeAttribute(a.name);
  for (const a of fresh.attributes) if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
  if (old.nodeName === 'INPUT' || old.nodeName === 'TEXTAREA') return;
  morphChildren(old, [...fresh.childNodes]);
}

function morphChildren(parent, freshKids) {
  const oldKids = [...parent.childNodes];
  const byKey = new Map();
  for (const c of oldKids) if (c.nodeType === 1 && c.dataset.key) byKey.set(c.dataset.key, c);
  const used = new Set();
  const result = freshKids.map((f, i) => {
    const key = f.nodeType === 1 ? f.dataset.key : undefined;
    let o = key ? byKey.get(key) : oldKids[i];
    if (o && !key && o.nodeType === 1 && o.dataset.key) o = undefined;
    if (o && !used.has(o) && sameKind(o, f)) { morph(o, f); used.add(o); return o; }
    return f;
  });
  for (const c of oldKids) if (!used.has(c)) c.remove();
  result.forEach((node, i) => {
    if (parent.childNodes[i] !== node) parent.insertBefore(node, parent.childNodes[i] || null);
  });
}

// ---------------------------------------------------------------------------------------
// API calls. Every failure becomes {status, code, message} or {offline: true}.
async function api(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw { offline: true };
  }
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
  if (!res.ok) {
    const err = (data && data.error) || {};
    const failure = { status: res.status, code: err.code, message: err.message };
    if (res.status === 401) showLogin();
    throw failure;
  }
  return data;
}

function showGlobalError(err) {
  const box = $('global-error');
  if (!err) { box.hidden = true; box.textContent = ''; return; }
  box.textContent = errorText(err);
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------
// State kept so a language switch can redraw everything.
const state = {
  system: null,
  platforms: [],
  jobs: new Map(),      // fetch job id -> job
  queue: new Map(),     // queue job id -> job
  studies: null,        // last /api/studies answer
  modalities: [],
  rowNotes: new Map(),  // study uid -> {text, kind} shown under its row
  retryOpen: new Set(), // fetch job ids whose password field is open
  uploadSummary: null,
  uploadErrors: [],
  live: '',
};

// ---------------------------------------------------------------------------------------
// Language.
function applyLanguage() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  $('lang-switch').textContent = t('switch_to');
  $('lang-switch').setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
  document.title = `cloudfilm · ${t('fetch_title')}`;
  renderPlatforms();
  renderJobs();
  renderStudies();
  renderUpload();
  renderQueue();
  renderSystem();
}

function switchLanguage() {
  lang = lang === 'zh' ? 'en' : 'zh';
  try { localStorage.setItem(LANG_KEY, lang); } catch (e) { /* storage disabled */ }
  // Messages already on screen were in the other language; clear rather than mix.
  setMessage($('fetch-message'), '');
  setMessage($('login-message'), '');
  showGlobalError(null);
  state.rowNotes.clear();
  applyLanguage();
}

// ---------------------------------------------------------------------------------------
// Sign-in (only when the node answers 401).
function showLogin() {
  $('login').hidden = false;
  setMessage($('login-message'), STRINGS[lang].err.auth_required);
}

async function submitLogin(ev) {
  ev.preventDefault();
  try {
    await api('POST', '/api/login', { user: $('login-user').value, password: $('login-password').value });
    $('login-password').value = '';
    $('login').hidden = true;
    loadAll();
  } catch (err) {
    setMessage($('login-message'), err.status === 401 ? t('login_failed') : errorText(err), 'error');
  }
}

// ---------------------------------------------------------------------------------------
// Platforms (the "which links work" list).
function renderPlatforms() {
  const list = $('platform-list');
  list.replaceChildren();
  for (const p of state.platforms) {
    const forms = Array.isArray(p.url_forms) ? p.url_forms.join(', ') : '';
    list.appendChild(el('li', {}, [el('strong', { text: p.name }), el('span', { class: 'muted', text: forms ? ` ${forms}` : '' })]));
  }
  $('platforms').hidden = state.platforms.length === 0;
}

// ---------------------------------------------------------------------------------------
// Fetch: start a download.
async function submitFetch(ev) {
  ev.preventDefault();
  const url = $('fetch-link').value.trim();
  const password = $('fetch-password').value;
  const msg = $('fetch-message');
  if (!url) { setMessage(msg, t('link_missing'), 'error'); $('fetch-link').focus(); return; }
  const button = $('fetch-button');
  button.disabled = true;
  try {
    const res = await api('POST', '/api/fetch', { url, password });
    setMessage(msg, t('fetch_started'), 'ok');
    $('fetch-password').value = '';
    if (res && res.job) upsertJob(res.job);
  } catch (err) {
    setMessage(msg, errorText(err), 'error');
    if (err.code === 'needs_password' || err.code === 'wrong_password') $('fetch-password').focus();
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// Fetch jobs.
const ACTIVE = new Set(['queued', 'running']);
let jobsLoaded = false;

function upsertJob(job) {
  if (!job || job.id === undefined) return;
  const before = state.jobs.get(job.id);
  state.jobs.set(job.id, job);
  // A download that just finished brought studies: show them (also one first seen as done
  // after the first list, e.g. started from the command line).
  if (job.state === 'done' && (before ? before.state !== 'done' : jobsLoaded)) {
    loadStudies();
    loadSystem();
  }
  renderJobs();
}

function jobProgress(job) {
  const total = Number(job.instances) || 0;
  const done = (Number(job.stored) || 0) + (Number(job.already) || 0) + (Number(job.skipped) || 0) + (Number(job.failed) || 0);
  return { total, done };
}

function renderJobs() {
  const jobs = [...state.jobs.values()].sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')));
  $('jobs-empty').hidden = jobs.length > 0;
  morphChildren($('jobs'), jobs.map(jobItem));
}

function jobItem(job) {
  const { total, done } = jobProgress(job);
  const bar = el('progress', { max: total > 0 ? total : 1 });
  if (total > 0) bar.value = Math.min(done, total);
  else if (job.state === 'done') bar.value = 1;
  else if (!ACTIVE.has(job.state)) bar.value = 0;
  // else the count is not known yet: indeterminate (no value).
  const stateWord = t(`state_${job.state}`) || job.state;
  const bits = [];
  bits.push(total > 0 ? t('images', { n: done, total }) : t('images_unknown', { n: done }));
  if (typeof job.bytes === 'number') bits.push(formatBytes(job.bytes));
  if (job.state === 'running' && typeof job.eta_s === 'number' && job.eta_s > 0) bits.push(t('eta', { t: formatEta(job.eta_s) }));
  const extra = [];
  if ((job.already || 0) + (job.skipped || 0) + (job.failed || 0) > 0) {
    extra.push(el('p', { class: 'muted', text: t('job_detail', { already: job.already || 0, skipped: job.skipped || 0, failed: job.failed || 0 }) }));
  }
  let errSentence = '';
  if (job.error) errSentence = errorText(job.error);
  else if (job.state === 'interrupted' || job.needs_password === true) errSentence = t('job_interrupted');
  if (errSentence) extra.push(el('p', { class: 'message error', 'data-testid': 'job-error', text: errSentence }));
  if (Array.isArray(job.problems) && job.problems.length) {
    const ps = job.problems.map((p) => (typeof p === 'string' ? p : (p && (p.message || p.code)) || JSON.stringify(p)));
    extra.push(el('p', { class: 'muted', text: t('problems', { p: ps.join('; ') }) }));
  }

  const buttons = [];
  if (ACTIVE.has(job.state)) {
    buttons.push(el('button', { type: 'button', text: t('cancel'), 'data-testid': 'job-cancel', on: { click: () => cancelJob(job.id) } }));
  } else {
    if (job.state !== 'done' || (job.failed || 0) > 0) {
      buttons.push(el('button', { type: 'button', class: 'primary', text: t('retry'), 'data-testid': 'job-retry', on: { click: () => retryJob(job.id) } }));
    }
    buttons.push(el('button', { type: 'button', text: t('remove'), 'data-testid': 'job-remove', on: { click: () => cancelJob(job.id) } }));
  }
  const children = [
    el('div', { class: 'job-head' }, [
      el('strong', { class: 'platform', text: job.platform || '' }),
      el('span', { class: `state state-${job.state}`, 'data-testid': 'job-state', 'data-state': job.state, text: stateWord }),
    ]),
    el('p', { class: 'muted link', text: job.link || '' }),
    bar,
    el('p', { class: 'counts', 'data-testid': 'job-counts', text: bits.join(' · ') }),
    ...extra,
    el('div', { class: 'actions' }, buttons),
  ];
  if (state.retryOpen.has(job.id)) children.push(retryForm(job));
  return el('li', { class: `job job-${job.state}`, 'data-job': String(job.id), 'data-key': String(job.id), 'data-testid': 'job' }, children);
}

// The node says so (`needs_password`: an interrupted job whose password it never wrote down),
// or the last try failed for want of the right one.
function needsPassword(job) {
  const code = job.error && job.error.code;
  if (code === 'needs_password' || code === 'wrong_password') return true;
  if (typeof job.needs_password === 'boolean') return job.needs_password;
  return job.state === 'interrupted';
}

function retryForm(job) {
  const id = `retry-pw-${job.id}`;
  const input = el('input', { id, type: 'password', autocomplete: 'off' });
  const msg = el('p', { class: 'message', role: 'status' });
  const form = el('form', { class: 'retry stack', 'data-testid': 'job-retry-form' }, [
    el('label', { for: id, text: t('retry_password') }),
    input,
    el('button', { type: 'submit', class: 'primary', text: t('retry_go') }),
    msg,
  ]);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await doRetry(job.id, input.value);
      state.retryOpen.delete(job.id);
      renderJobs();
    } catch (err) {
      setMessage(msg, errorText(err), 'error');
    }
  });
  return form;
}

async function doRetry(id, password) {
  const body = password ? { password } : {};
  const res = await api('POST', `/api/fetch/${encodeURIComponent(id)}/retry`, body);
  if (res && res.job) upsertJob(res.job);
  else refreshJobs();
}

// Button handlers take the id and look the job up when clicked: a kept button outlives the
// job object it was drawn from.
async function retryJob(id) {
  const job = state.jobs.get(id);
  if (!job) return;
  if (needsPassword(job)) {
    state.retryOpen.add(id);
    renderJobs();
    const input = document.getElementById(`retry-pw-${id}`);
    if (input) input.focus();
    return;
  }
  try {
    await doRetry(id, '');
    showGlobalError(null);
  } catch (err) {
    if (err.code === 'needs_password' || err.code === 'wrong_password') {
      state.retryOpen.add(id); // the node wants the password after all: ask for it
      renderJobs();
      const input = document.getElementById(`retry-pw-${id}`);
      if (input) input.focus();
    }
    showGlobalError(err);
  }
}

async function cancelJob(id) {
  const job = state.jobs.get(id);
  if (!job) return;
  try {
    await api('DELETE', `/api/fetch/${encodeURIComponent(id)}`);
    if (!ACTIVE.has(job.state)) { state.jobs.delete(id); state.retryOpen.delete(id); renderJobs(); }
    refreshJobs();
  } catch (err) {
    if (err.code === 'not_found') { state.jobs.delete(id); renderJobs(); }
    showGlobalError(err);
  }
}

async function refreshJobs() {
  try {
    const res = await api('GET', '/api/fetch');
    const seen = new Set();
    for (const job of (res && res.jobs) || []) { seen.add(job.id); upsertJob(job); }
    for (const id of [...state.jobs.keys()]) if (!seen.has(id)) state.jobs.delete(id);
    jobsLoaded = true;
    renderJobs();
  } catch (err) {
    if (err.status !== 401) showGlobalError(err);
  }
}

// ---------------------------------------------------------------------------------------
// Studies.
let searchTimer = 0;
let studiesSeq = 0;

async function loadStudies() {
  const q = $('study-search').value.trim();
  const params = new URLSearchParams({ limit: '100' });
  if (q) params.set('PatientName', `*${q}*`);
  const seq = ++studiesSeq;
  try {
    const res = await api('GET', `/api/studies?${params}`);
    if (seq !== studiesSeq) return; // an answer to an older search
    state.studies = Object.assign({ query: q }, res);
    setMessage($('studies-message'), '');
  } catch (err) {
    if (seq !== studiesSeq) return;
    setMessage($('studies-message'), errorText(err), 'error');
  }
  renderStudies();
}

function renderStudies() {
  const body = $('study-rows');
  const res = state.studies;
  const studies = (res && res.studies) || [];
  morphChildren(body, studies.map(studyRow));
  const empty = $('studies-empty');
  if (!res) { empty.hidden = true; return; }
  if (studies.length === 0) {
    empty.textContent = res.query ? t('studies_no_match', { q: res.query }) : t('studies_none');
    empty.hidden = false;
  } else if (typeof res.total === 'number' && res.total > studies.length) {
    empty.textContent = t('studies_more', { n: studies.length, total: res.total });
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
  $('studies').hidden = studies.length === 0;
}

function cell(labelKey, content, cls) {
  const td = el('td', { 'data-label': t(labelKey), class: cls });
  if (typeof content === 'string') td.textContent = content;
  else if (content) td.appendChild(content);
  return td;
}

function studyRow(s) {
  const uid = String(s.study_uid || '');
  const enc = encodeURIComponent(uid);
  const name = formatName(s.patient_name);
  const actions = el('div', { class: 'actions' });
  if (state.system && state.system.viewer === true) {
    actions.appendChild(el('a', { class: 'button', href: `/viewer?StudyInstanceUIDs=${enc}`, target: '_blank', rel: 'noopener', text: t('view'), 'data-testid': 'study-view' }));
  }
  actions.appendChild(el('a', { class: 'button', href: `/api/studies/${enc}/archive`, download: '', text: t('download_zip'), 'data-testid': 'study-zip' }));
  if (state.modalities.length > 0) {
    const selId = `fwd-${uid}`;
    const select = el('select', { id: selId, 'aria-label': t('forward_choose'), 'data-testid': 'study-forward-select' },
      state.modalities.map((m) => el('option', { value: m.name, text: m.name })));
    actions.appendChild(el('span', { class: 'forward' }, [
      // The select on screen, not this fresh one: the kept row keeps its own.
      el('button', { type: 'button', text: t('forward_to'), 'data-testid': 'study-forward', on: { click: (ev) => forwardStudy(uid, ev.currentTarget.parentNode.querySelector('select').value) } }),
      select,
    ]));
  }
  actions.appendChild(el('button', { type: 'button', class: 'danger', text: t('delete'), 'data-testid': 'study-delete', on: { click: () => deleteStudy(uid) } }));
  const note = state.rowNotes.get(uid);
  const actionCell = cell('col_actions', actions, 'actions-cell');
  actionCell.appendChild(el('p', { class: `message ${(note && note.kind) || ''}`, role: 'status', text: note ? note.text : '' }));
  const mods = Array.isArray(s.modalities) ? s.modalities.join(', ') : String(s.modalities || '');
  return el('tr', { 'data-testid': 'study-row', 'data-uid': uid, 'data-key': uid }, [
    cell('col_name', name, 'name'),
    cell('col_id', String(s.patient_id || '')),
    cell('col_date', formatDate(s.study_date), 'date'),
    cell('col_modalities', mods),
    cell('col_description', String(s.description || '')),
    cell('col_images', String(s.instance_count === undefined ? '' : s.instance_count), 'num'),
    actionCell,
  ]);
}

async function forwardStudy(uid, to) {
  if (!to) return;
  try {
    const res = await api('POST', `/api/studies/${encodeURIComponent(uid)}/send`, { to });
    state.rowNotes.set(uid, { text: t('forward_queued', { to }), kind: 'ok' });
    if (res && res.job) upsertQueue(res.job);
  } catch (err) {
    state.rowNotes.set(uid, { text: errorText(err), kind: 'error' });
  }
  renderStudies();
}

async function deleteStudy(uid) {
  const s = ((state.studies && state.studies.studies) || []).find((x) => x.study_uid === uid);
  if (!s) return;
  const question = t('confirm_delete', { name: formatName(s.patient_name) || s.patient_id || uid, date: formatDate(s.study_date) || '–' });
  if (!window.confirm(question)) return;
  try {
    await api('DELETE', `/api/studies/${encodeURIComponent(uid)}`);
    removeStudyRow(uid);
  } catch (err) {
    if (err.code === 'not_found') removeStudyRow(uid);
    else { state.rowNotes.set(uid, { text: errorText(err), kind: 'error' }); renderStudies(); }
  }
  loadStudies();
  loadSystem();
}

function removeStudyRow(uid) {
  if (state.studies && Array.isArray(state.studies.studies)) {
    state.studies.studies = state.studies.studies.filter((x) => x.study_uid !== uid);
    if (typeof state.studies.total === 'number') state.studies.total = Math.max(0, state.studies.total - 1);
  }
  state.rowNotes.delete(uid);
  renderStudies();
}

async function loadModalities() {
  try {
    const res = await api('GET', '/api/modalities');
    state.modalities = (res && res.modalities) || [];
  } catch (err) {
    state.modalities = [];
  }
  renderStudies();
}

// ---------------------------------------------------------------------------------------
// Upload: each file as the raw body of POST /api/instances, one after the other.
let uploadQueue = [];
let uploading = false;

function addFiles(fileList) {
  const files = [...fileList].filter((f) => f && f.size !== undefined);
  if (!files.length) return;
  if (!uploading) { state.uploadSummary = { imported: 0, duplicates: 0, skipped: 0, failed: 0 }; state.uploadErrors = []; }
  uploadQueue.push(...files);
  if (!uploading) runUploads();
}

async function runUploads() {
  uploading = true;
  $('upload-progress').hidden = false;
  let i = 0;
  while (uploadQueue.length) {
    const file = uploadQueue.shift();
    i += 1;
    $('upload-current').textContent = t('uploading', { name: file.name, i, n: i + uploadQueue.length });
    try {
      const res = await uploadOne(file, (frac) => { $('upload-bar').value = frac; });
      const sum = state.uploadSummary;
      for (const k of ['imported', 'duplicates', 'skipped', 'failed']) sum[k] += Number(res && res[k]) || 0;
      for (const f of (res && res.failures) || []) {
        const what = typeof f === 'string' ? f : (f && (f.message || f.reason || f.code)) || JSON.stringify(f);
        const where = (f && (f.path || f.name)) || file.name;
        state.uploadErrors.push(t('upload_failure', { name: where, msg: what }));
      }
    } catch (err) {
      // The server's message names what the file was; keep it as a detail.
      const why = err.code === 'bad_request' ? t('upload_not_dicom') : errorText(err);
      const detail = err.code === 'bad_request' && err.message ? ` (${err.message})` : '';
      state.uploadErrors.push(t('upload_file_error', { name: file.name, msg: why + detail }));
    }
    renderUpload();
  }
  uploading = false;
  $('upload-progress').hidden = true;
  $('upload-input').value = '';
  renderUpload();
  loadStudies();
  loadSystem();
}

function uploadOne(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/instances');
    xhr.setRequestHeader('Accept', 'application/json');
    const name = file.name.toLowerCase();
    let type = file.type || 'application/octet-stream';
    if (name.endsWith('.zip')) type = 'application/zip';
    else if (name.endsWith('.dcm')) type = 'application/dicom';
    else if (name.endsWith('.har')) type = 'application/json';
    xhr.setRequestHeader('Content-Type', type);
    xhr.upload.addEventListener('progress', (ev) => { if (ev.lengthComputable && ev.total) onProgress(ev.loaded / ev.total); });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(data); return; }
      const e = (data && data.error) || {};
      if (xhr.status === 401) showLogin();
      reject({ status: xhr.status, code: e.code, message: e.message });
    });
    xhr.addEventListener('error', () => reject({ offline: true }));
    xhr.addEventListener('abort', () => reject({ offline: true }));
    onProgress(0);
    xhr.send(file);
  });
}

function renderUpload() {
  const box = $('upload-summary');
  if (state.uploadSummary) {
    box.textContent = t('upload_summary', state.uploadSummary);
    box.hidden = false;
    // For scripts and tests: the numbers, and whether the last file is through.
    for (const k of ['imported', 'duplicates', 'skipped', 'failed']) box.dataset[k] = String(state.uploadSummary[k]);
    box.dataset.errors = String(state.uploadErrors.length);
    box.dataset.done = String(!uploading);
    box.classList.toggle('none', state.uploadSummary.imported + state.uploadSummary.duplicates === 0);
  } else {
    box.hidden = true;
  }
  $('upload-errors').replaceChildren(...state.uploadErrors.map((s) => el('li', { class: 'message error', text: s })));
}

function setUpDropZone() {
  const zone = $('drop-zone');
  const stop = (ev) => { ev.preventDefault(); ev.stopPropagation(); };
  for (const name of ['dragenter', 'dragover']) zone.addEventListener(name, (ev) => { stop(ev); zone.classList.add('over'); });
  zone.addEventListener('dragleave', (ev) => { stop(ev); zone.classList.remove('over'); });
  zone.addEventListener('drop', (ev) => {
    stop(ev);
    zone.classList.remove('over');
    if (ev.dataTransfer && ev.dataTransfer.files) addFiles(ev.dataTransfer.files);
  });
  // A file dropped beside the zone would make the browser leave the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => ev.preventDefault());
  $('upload-input').addEventListener('change', (ev) => addFiles(ev.target.files));
}

// ---------------------------------------------------------------------------------------
// Forwarding queue.
function upsertQueue(job) {
  if (!job || job.id === undefined) return;
  state.queue.set(job.id, job);
  renderQueue();
}

async function refreshQueue() {
  try {
    const res = await api('GET', '/api/queue');
    state.queue.clear();
    for (const job of (res && res.jobs) || []) state.queue.set(job.id, job);
    renderQueue();
  } catch (err) {
    if (err.status !== 401) showGlobalError(err);
  }
}

function renderQueue() {
  const jobs = [...state.queue.values()].sort((a, b) => Number(b.id) - Number(a.id));
  $('queue-empty').hidden = jobs.length > 0;
  morphChildren($('queue'), jobs.map(queueItem));
}

function queueItem(job) {
  const done = Number(job.done) || 0;
  const pending = Number(job.pending) || 0;
  const failed = Number(job.failed) || 0;
  const total = done + pending + failed + (Number(job.warning) || 0);
  const bar = el('progress', { max: total > 0 ? total : 1 });
  bar.value = total > 0 ? total - pending : (job.state === 'done' ? 1 : 0);
  const meta = [t('queue_counts', { done, pending, failed })];
  if (job.attempts) meta.push(t('queue_attempts', { n: job.attempts }));
  if (job.state === 'pending' && job.next_attempt) meta.push(t('queue_next', { t: formatTime(job.next_attempt) }));
  const buttons = [];
  if (job.state === 'failed' || job.state === 'cancelled') {
    buttons.push(el('button', { type: 'button', class: 'primary', text: t('retry'), 'data-testid': 'queue-retry', on: { click: () => queueAction(job.id, 'retry') } }));
  }
  if (job.state === 'pending') {
    buttons.push(el('button', { type: 'button', text: t('cancel'), 'data-testid': 'queue-cancel', on: { click: () => queueAction(job.id, 'cancel') } }));
  }
  const stateWord = job.state === 'pending' ? t('state_pending') : (t(`state_${job.state}`) || job.state);
  return el('li', { class: `job job-${job.state}`, 'data-queue': String(job.id), 'data-key': String(job.id), 'data-testid': 'queue-job' }, [
    el('div', { class: 'job-head' }, [
      el('strong', { text: String(job.destination || '') }),
      el('span', { class: `state state-${job.state}`, 'data-testid': 'queue-state', 'data-state': job.state, text: stateWord }),
    ]),
    el('p', { class: 'muted link', text: job.study_uid ? t('queue_study', { uid: job.study_uid }) : '' }),
    bar,
    el('p', { class: 'counts', text: meta.join(' · ') }),
    job.last_error ? el('p', { class: 'message error', text: t('last_error', { e: job.last_error }) }) : null,
    buttons.length ? el('div', { class: 'actions' }, buttons) : null,
  ]);
}

async function queueAction(id, action) {
  try {
    const res = await api('POST', `/api/queue/${encodeURIComponent(id)}/${action}`, {});
    if (res && res.job) upsertQueue(res.job);
    showGlobalError(null);
  } catch (err) {
    showGlobalError(err);
  }
  refreshQueue();
}

// ---------------------------------------------------------------------------------------
// System status (footer) and platforms.
async function loadSystem() {
  try {
    const before = state.system && state.system.viewer;
    state.system = await api('GET', '/api/system');
    if ((state.system && state.system.viewer) !== before) renderStudies();
  } catch (err) {
    if (err.offline) showGlobalError(err);
  }
  renderSystem();
}

function renderSystem() {
  const s = state.system;
  const text = $('status-text');
  if (!s) { text.textContent = ''; } else {
    const st = s.storage || {};
    text.textContent = t('status', {
      version: s.version || '?', ae: s.ae_title || '?',
      studies: st.studies === undefined ? '?' : st.studies,
      instances: st.instances === undefined ? '?' : st.instances,
      used: formatBytes(st.used_bytes), free: formatBytes(st.free_bytes),
    });
  }
  $('status-live').textContent = state.live ? t(state.live) : '';
}

async function loadPlatforms() {
  try {
    const res = await api('GET', '/api/platforms');
    state.platforms = (res && res.platforms) || [];
  } catch (err) {
    state.platforms = [];
  }
  renderPlatforms();
}

// ---------------------------------------------------------------------------------------
// Live updates: server-sent events; after repeated failures, poll every 2 s instead.
let source = null;
let sseFailures = 0;
let pollTimer = 0;

function parse(ev) {
  try { return JSON.parse(ev.data); } catch (e) { return null; }
}

function startEvents() {
  if (typeof EventSource !== 'function') { startPolling(); return; }
  source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    if (sseFailures > 0 || pollTimer) { refreshJobs(); refreshQueue(); loadStudies(); } // missed while away
    sseFailures = 0;
    stopPolling();
    state.live = 'live_sse';
    renderSystem();
  });
  source.addEventListener('error', () => {
    sseFailures += 1;
    // The browser reconnects by itself after a dropped stream, but gives up (CLOSED) when the
    // answer was not an event stream. Either way, after a few failures poll instead, and try
    // the stream again now and then.
    if (source.readyState === EventSource.CLOSED || sseFailures >= 3) {
      source.close();
      source = null;
      startPolling();
      setTimeout(startEvents, 30000);
    }
  });
  source.addEventListener('fetch', (ev) => upsertJob(parse(ev)));
  source.addEventListener('queue', (ev) => upsertQueue(parse(ev)));
  source.addEventListener('study', () => scheduleStudies());
}

// Many `study` events arrive during a download; one reload per burst is enough.
let studyTimer = 0;
function scheduleStudies() {
  if (studyTimer) return;
  studyTimer = setTimeout(() => { studyTimer = 0; loadStudies(); loadSystem(); }, 500);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = 0;
}

function startPolling() {
  if (pollTimer) return;
  state.live = 'live_poll';
  renderSystem();
  let n = 0;
  pollTimer = setInterval(() => {
    n += 1;
    refreshJobs();
    refreshQueue();
    if (n % 5 === 0) { loadStudies(); loadSystem(); }
  }, 2000);
}

// ---------------------------------------------------------------------------------------
function loadAll() {
  loadSystem();
  loadPlatforms();
  loadModalities();
  loadStudies();
  refreshJobs();
  refreshQueue();
}

function init() {
  $('lang-switch').addEventListener('click', switchLanguage);
  $('fetch-form').addEventListener('submit', submitFetch);
  $('login-form').addEventListener('submit', submitLogin);
  $('study-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadStudies, 300);
  });
  setUpDropZone();
  applyLanguage();
  loadAll();
  startEvents();
}

document.addEventListener('DOMContentLoaded', init);
