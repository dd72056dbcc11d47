// SPDX-License-Identifier: GPL-2.0-or-later
// The security desk's page (docs/desk.md, "The page's interface"): logs in, follows the state
// the server streams over /api/events, and sends the desk's acknowledge, silence and reset.
//
// Everything that comes from the network is untrusted: it reaches the page only through
// textContent, attribute values and class names chosen from fixed lists, never as markup. The
// page runs under `script-src 'self'; style-src 'self'`, so no inline script, no style
// attribute, no eval: the look is in style.css and chosen here by class.
'use strict';

(() => {
  // --- words -------------------------------------------------------------------------------

  const WORDS = {
    vi: {
      'app.name': 'Bàn bảo vệ',
      'app.title': 'Bàn bảo vệ — firegate',
      'login.title': 'Đăng nhập',
      'login.user': 'Tên đăng nhập',
      'login.password': 'Mật khẩu',
      'login.submit': 'Đăng nhập',
      'login.busy': 'Đang kiểm tra…',
      'login.bad': 'Sai tên đăng nhập hoặc mật khẩu.',
      'login.slow': 'Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {s} giây.',
      'login.slow_over': 'Đã có thể thử đăng nhập lại.',
      'login.ended': 'Phiên làm việc đã kết thúc. Vui lòng đăng nhập lại.',
      'header.gateway': 'Mã gateway',
      'header.unverified': 'Sổ đăng ký chưa xác minh',
      'header.logout': 'Đăng xuất',
      'role.viewer': 'Người xem',
      'role.manager': 'Quản lý',
      'role.admin': 'Quản trị',
      'daemon.down': 'BỘ GIÁM SÁT KHÔNG CHẠY: báo cháy KHÔNG được theo dõi!',
      'daemon.down_hint':
        'Báo ngay cho kỹ thuật và đi tuần trực tiếp cho đến khi hệ thống chạy lại.',
      'stream.reconnecting':
        'Mất kết nối trực tiếp với gateway, đang kết nối lại… Thông tin trên trang có thể đã cũ.',
      'sound.new_alarm': 'CÓ BÁO CHÁY MỚI',
      'sound.ack': 'Đã nghe: tắt chuông',
      'sound.blocked': 'Trình duyệt đang chặn âm thanh: chạm vào trang để bật chuông.',
      'status.daemon': 'Bộ giám sát',
      'status.running': 'Đang chạy',
      'status.not_running': 'KHÔNG CHẠY',
      'status.broker': 'Mạng đầu báo',
      'status.uplink': 'Kết nối trung tâm',
      'status.connected': 'Đã kết nối',
      'status.disconnected': 'Mất kết nối',
      'status.unknown': 'Không rõ',
      'status.not_configured': 'Chưa cấu hình',
      'status.outbox': 'Tin chờ gửi',
      'status.last_delivery': 'Gửi lên lần cuối',
      'status.never': 'Chưa lần nào',
      'status.alarms': 'Báo cháy',
      'status.pre_alarms': 'Tiền báo cháy',
      'status.faults': 'Sự cố',
      'tab.now': 'Hiện trạng',
      'tab.history': 'Lịch sử',
      'floors.title': 'Sơ đồ tầng',
      'floors.none': 'Chưa có căn hộ nào trong sổ đăng ký.',
      floor: 'Tầng {n}',
      'floor.basement': 'Hầm B{n}',
      unit: 'Căn {n}',
      'unit.priority': 'Ưu tiên cứu hộ',
      'unit.priority_short': 'CỨU HỘ',
      'unit.unverified': 'Chưa xác minh',
      'unit.occupants': 'Người ở (đã xác minh)',
      'unit.detectors': 'Đầu báo trong căn',
      'unit.close': 'Đóng',
      'occ.verified': 'Tổng số người',
      'occ.bedridden': 'Nằm liệt giường',
      'occ.mobility_impaired': 'Khó khăn đi lại',
      'occ.elderly': 'Người cao tuổi',
      'occ.infant': 'Trẻ nhỏ',
      'occ.needs_oxygen': 'Cần thở oxy',
      'common.title': 'Khu vực chung',
      'common.none': 'Không có đầu báo ở khu vực chung.',
      'col.id': 'Mã',
      'col.kind': 'Loại',
      'col.location': 'Vị trí',
      'col.state': 'Trạng thái',
      'col.floor': 'Tầng',
      'col.zone': 'Khu',
      'col.unit': 'Căn',
      'col.detector': 'Đầu báo',
      'col.cause': 'Nguyên nhân',
      'col.first_at': 'Bắt đầu',
      'col.closed_at': 'Kết thúc',
      'col.acknowledged_by': 'Xác nhận bởi',
      'col.fault': 'Sự cố',
      'incidents.title': 'Sự kiện đang mở',
      'incidents.none': 'Không có báo cháy hay tiền báo cháy nào đang mở.',
      'incidents.view_only': 'Tài khoản chỉ xem: không thể xác nhận, tắt còi hay đặt lại.',
      'incident.since': 'Phát hiện cách đây',
      'incident.at': 'lúc {t}',
      'incident.place': 'Nơi xảy ra',
      'incident.detector': 'Đầu báo',
      'incident.cause': 'Nguyên nhân',
      'incident.acknowledged_by': 'Xác nhận bởi',
      'incident.silenced_by': 'Tắt còi bởi',
      'incident.nobody': 'chưa ai',
      'act.acknowledge': 'Xác nhận',
      'act.silence': 'Tắt còi',
      'act.reset': 'Đặt lại',
      'act.reset_false': 'Đặt lại: báo giả',
      'act.confirm_false': 'Chắc chắn là báo giả: đặt lại',
      'act.cancel': 'Hủy',
      'act.sending': 'Đang gửi…',
      'act.done': 'Đã thực hiện',
      'faults.title': 'Sự cố thiết bị',
      'faults.not_heard': 'Đầu báo mất tín hiệu',
      'faults.other': 'Sự cố khác',
      'faults.none': 'Không có.',
      'history.from': 'Từ ngày',
      'history.to': 'Đến ngày',
      'history.unit': 'Căn hộ',
      'history.floor': 'Tầng',
      'history.detector': 'Đầu báo',
      'history.cause': 'Nguyên nhân có chữ',
      'history.kind': 'Loại',
      'history.state': 'Trạng thái',
      'history.limit': 'Tối đa',
      'history.any': 'Tất cả',
      'history.search': 'Tìm',
      'history.csv': 'Tải CSV',
      'history.loading': 'Đang tải…',
      'history.count': '{n} sự kiện',
      'history.truncated': 'Danh sách bị cắt bớt: hãy thu hẹp bộ lọc.',
      'history.none': 'Không có sự kiện nào khớp bộ lọc.',
      'history.unavailable_audit':
        'Không ghi được vào nhật ký kiểm tra, nên không thể xem lịch sử lúc này.',
      'state.normal': 'Bình thường',
      'state.pre_alarm': 'Tiền báo cháy',
      'state.alarm': 'Báo cháy',
      'state.fault': 'Sự cố',
      'state.disabled': 'Vô hiệu hóa',
      'state.test': 'Thử nghiệm',
      'state.unknown': 'Không rõ',
      'state.acknowledged': 'Đã xác nhận',
      'state.silenced': 'Đã tắt còi',
      'state.open': 'Chưa xử lý',
      'state.closed': 'Đã kết thúc',
      'kind.alarm': 'Báo cháy',
      'kind.pre_alarm': 'Tiền báo cháy',
      'kind.fault': 'Sự cố',
      'kind.smoke': 'Khói',
      'kind.heat': 'Nhiệt',
      'kind.multi': 'Khói + nhiệt',
      'kind.call_point': 'Nút nhấn báo cháy',
      'fault.silent': 'Mất tín hiệu',
      'fault.offline': 'Ngoại tuyến',
      'fault.battery_low': 'Pin yếu',
      'fault.tamper': 'Bị tháo hoặc can thiệp',
      'fault.device': 'Lỗi thiết bị',
      'fault.invalid_data': 'Dữ liệu không hợp lệ',
      'err.network': 'Không liên lạc được với gateway.',
      'err.400': 'Yêu cầu không hợp lệ',
      'err.401': 'Phiên đăng nhập đã hết',
      'err.403': 'Không được phép',
      'err.404': 'Không tìm thấy (sự kiện có thể đã kết thúc)',
      'err.409': 'Không có gì để làm',
      'err.413': 'Yêu cầu quá lớn',
      'err.429': 'Quá nhiều lần thử',
      'err.500': 'Lỗi máy chủ',
      'err.503': 'Bộ giám sát không trả lời',
      'err.other': 'Lỗi {n}',
      'time.s': '{s} giây',
      'time.ms': '{m} phút {s} giây',
      'time.hm': '{h} giờ {m} phút',
      'time.dh': '{d} ngày {h} giờ',
      'time.ago': '{d} trước',
    },
    en: {
      'app.name': 'Security desk',
      'app.title': 'Security desk — firegate',
      'login.title': 'Log in',
      'login.user': 'User name',
      'login.password': 'Password',
      'login.submit': 'Log in',
      'login.busy': 'Checking…',
      'login.bad': 'Wrong user name or password.',
      'login.slow': 'Too many failed logins. Try again in {s} s.',
      'login.slow_over': 'You may try to log in again.',
      'login.ended': 'Your session has ended. Please log in again.',
      'header.gateway': 'Gateway',
      'header.unverified': 'Registry not verified',
      'header.logout': 'Log out',
      'role.viewer': 'Viewer',
      'role.manager': 'Manager',
      'role.admin': 'Administrator',
      'daemon.down': 'THE ALARM DAEMON IS NOT RUNNING: alarms are NOT being watched!',
      'daemon.down_hint': 'Call the technician now and patrol in person until it runs again.',
      'stream.reconnecting':
        'Live connection to the gateway lost, reconnecting… What the page shows may be out of date.',
      'sound.new_alarm': 'NEW ALARM',
      'sound.ack': 'Acknowledge sound',
      'sound.blocked': 'The browser is blocking sound: tap the page to let the tone play.',
      'status.daemon': 'Alarm daemon',
      'status.running': 'Running',
      'status.not_running': 'NOT RUNNING',
      'status.broker': 'Building broker',
      'status.uplink': 'Uplink',
      'status.connected': 'Connected',
      'status.disconnected': 'Disconnected',
      'status.unknown': 'Unknown',
      'status.not_configured': 'Not configured',
      'status.outbox': 'Outbox pending',
      'status.last_delivery': 'Last delivery upstream',
      'status.never': 'Never',
      'status.alarms': 'Alarms',
      'status.pre_alarms': 'Pre-alarms',
      'status.faults': 'Faults',
      'tab.now': 'Now',
      'tab.history': 'History',
      'floors.title': 'Floors',
      'floors.none': 'The registry has no units yet.',
      floor: 'Floor {n}',
      'floor.basement': 'Basement B{n}',
      unit: 'Unit {n}',
      'unit.priority': 'Priority rescue',
      'unit.priority_short': 'RESCUE',
      'unit.unverified': 'Not verified',
      'unit.occupants': 'Occupants (verified)',
      'unit.detectors': 'Detectors in the unit',
      'unit.close': 'Close',
      'occ.verified': 'People',
      'occ.bedridden': 'Bedridden',
      'occ.mobility_impaired': 'Mobility impaired',
      'occ.elderly': 'Elderly',
      'occ.infant': 'Infant',
      'occ.needs_oxygen': 'Needs oxygen',
      'common.title': 'Common areas',
      'common.none': 'No detectors in common areas.',
      'col.id': 'ID',
      'col.kind': 'Kind',
      'col.location': 'Location',
      'col.state': 'State',
      'col.floor': 'Floor',
      'col.zone': 'Zone',
      'col.unit': 'Unit',
      'col.detector': 'Detector',
      'col.cause': 'Cause',
      'col.first_at': 'Started',
      'col.closed_at': 'Ended',
      'col.acknowledged_by': 'Acknowledged by',
      'col.fault': 'Fault',
      'incidents.title': 'Open incidents',
      'incidents.none': 'No open alarms or pre-alarms.',
      'incidents.view_only':
        'View-only account: acknowledging, silencing and resetting are not available.',
      'incident.since': 'Detected',
      'incident.at': 'at {t}',
      'incident.place': 'Place',
      'incident.detector': 'Detector',
      'incident.cause': 'Cause',
      'incident.acknowledged_by': 'Acknowledged by',
      'incident.silenced_by': 'Silenced by',
      'incident.nobody': 'nobody yet',
      'act.acknowledge': 'Acknowledge',
      'act.silence': 'Silence',
      'act.reset': 'Reset',
      'act.reset_false': 'Reset as false alarm',
      'act.confirm_false': 'Confirm: false alarm, reset',
      'act.cancel': 'Cancel',
      'act.sending': 'Sending…',
      'act.done': 'Done',
      'faults.title': 'Faults',
      'faults.not_heard': 'Detectors not heard from',
      'faults.other': 'Other faults',
      'faults.none': 'None.',
      'history.from': 'From',
      'history.to': 'To',
      'history.unit': 'Unit',
      'history.floor': 'Floor',
      'history.detector': 'Detector',
      'history.cause': 'Cause contains',
      'history.kind': 'Kind',
      'history.state': 'State',
      'history.limit': 'At most',
      'history.any': 'Any',
      'history.search': 'Search',
      'history.csv': 'Download CSV',
      'history.loading': 'Loading…',
      'history.count': '{n} incidents',
      'history.truncated': 'The list is truncated: narrow the filters.',
      'history.none': 'No incident matches the filters.',
      'history.unavailable_audit':
        'The look cannot be recorded in the audit log, so the history is not available now.',
      'state.normal': 'Normal',
      'state.pre_alarm': 'Pre-alarm',
      'state.alarm': 'Alarm',
      'state.fault': 'Fault',
      'state.disabled': 'Disabled',
      'state.test': 'Test',
      'state.unknown': 'Unknown',
      'state.acknowledged': 'Acknowledged',
      'state.silenced': 'Silenced',
      'state.open': 'Open',
      'state.closed': 'Closed',
      'kind.alarm': 'Alarm',
      'kind.pre_alarm': 'Pre-alarm',
      'kind.fault': 'Fault',
      'kind.smoke': 'Smoke',
      'kind.heat': 'Heat',
      'kind.multi': 'Smoke + heat',
      'kind.call_point': 'Manual call point',
      'fault.silent': 'Not heard from',
      'fault.offline': 'Offline',
      'fault.battery_low': 'Battery low',
      'fault.tamper': 'Tampered with',
      'fault.device': 'Device fault',
      'fault.invalid_data': 'Invalid data',
      'err.network': 'The gateway cannot be reached.',
      'err.400': 'Bad request',
      'err.401': 'Your session has ended',
      'err.403': 'Not allowed',
      'err.404': 'Not found (the incident may have ended)',
      'err.409': 'Nothing to do',
      'err.413': 'Request too large',
      'err.429': 'Too many attempts',
      'err.500': 'Server error',
      'err.503': 'The alarm daemon does not answer',
      'err.other': 'Error {n}',
      'time.s': '{s} s',
      'time.ms': '{m} min {s} s',
      'time.hm': '{h} h {m} min',
      'time.dh': '{d} d {h} h',
      'time.ago': '{d} ago',
    },
  };
  const LANGS = ['vi', 'en'];
  // The states the page knows how to colour; anything else is shown as `unknown`.
  const STATES = [
    'normal',
    'pre_alarm',
    'alarm',
    'acknowledged',
    'silenced',
    'fault',
    'disabled',
    'test',
    'unknown',
  ];
  const OCCUPANTS = [
    'verified',
    'bedridden',
    'mobility_impaired',
    'elderly',
    'infant',
    'needs_oxygen',
  ];
  const NOT_HEARD = ['silent', 'offline'];
  // The states of an open incident, each with its own look.
  const INCIDENT_STATES = ['open', 'acknowledged', 'silenced'];
  const STREAM_RETRY_MS = 3000;
  const TESTID_VERB = { acknowledge: 'ack', silence: 'silence', reset: 'reset' };

  // --- what the page knows -------------------------------------------------------------------

  const app = {
    lang: 'vi',
    me: null, // /api/me
    state: null, // the latest state
    offset: 0, // the gateway's clock minus this browser's, at the state's receipt
    tab: 'now',
    openUnit: null, // the address id whose detail is shown
    confirming: null, // the incident id whose false-alarm reset awaits confirmation
    busy: new Set(), // "ID/VERB" actions under way
    stream: null, // the EventSource of /api/events
    stateFromStream: false, // a state came over the stream (newer than GET /api/state's)
    streamRetry: null, // the timer of the next attempt after the stream was refused
    lastRecheck: 0,
    loginWaitUntil: 0, // Date.now() after which a login may be tried again (429)
    messageTimer: null,
    tickers: [], // {el, at, ago}: durations redrawn every second
  };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const table = WORDS[app.lang] || WORDS.vi;
    let text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : null;
    if (text === null)
      text = Object.prototype.hasOwnProperty.call(WORDS.en, key) ? WORDS.en[key] : key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    }
    return text;
  }

  // A word from the server (a state, a kind, a fault) in the page's language; the raw word when
  // the dictionary does not have it, so nothing the server says is ever hidden.
  function word(prefix, value) {
    if (value === null || value === undefined || value === '') return '—';
    const key = `${prefix}.${String(value).replace(/-/g, '_')}`;
    const text = t(key);
    return text === key ? String(value) : text;
  }

  function stateKey(value) {
    const s = String(value || 'unknown').replace(/-/g, '_');
    return STATES.includes(s) ? s : 'unknown';
  }

  // Builds an element: @props sets the class, the test id, text, attributes and handlers.
  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [name, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (name === 'class') node.className = value;
        else if (name === 'text') node.textContent = String(value);
        else if (name === 'testid') node.dataset.testid = value;
        else if (name === 'data') Object.assign(node.dataset, value);
        else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function str(value) {
    return value === null || value === undefined ? '' : String(value);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  // --- times ---------------------------------------------------------------------------------

  function gatewayNow() {
    return Date.now() + app.offset;
  }

  function duration(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(total / 86400);
    const h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (d > 0) return t('time.dh', { d, h });
    if (h > 0) return t('time.hm', { h, m: String(m).padStart(2, '0') });
    if (m > 0) return t('time.ms', { m, s: String(s).padStart(2, '0') });
    return t('time.s', { s });
  }

  function locale() {
    return app.lang === 'vi' ? 'vi-VN' : 'en-GB';
  }

  function clock(ms) {
    const when = new Date(ms);
    return Number.isFinite(when.getTime()) ? when.toLocaleTimeString(locale()) : '';
  }

  function dateTime(value) {
    if (value === null || value === undefined || value === '') return '—';
    const when = new Date(typeof value === 'number' ? value : String(value));
    return Number.isFinite(when.getTime()) ? when.toLocaleString(locale()) : String(value);
  }

  // A span whose text is the time since @at (gateway ms), redrawn every second.
  function since(at, ago, testid) {
    const node = el('span', { class: 'since', testid });
    if (typeof at !== 'number') {
      node.textContent = '—';
      return node;
    }
    app.tickers.push({ el: node, at, ago });
    drawTicker(app.tickers[app.tickers.length - 1]);
    return node;
  }

  function drawTicker(ticker) {
    const text = duration(gatewayNow() - ticker.at);
    ticker.el.textContent = ticker.ago ? t('time.ago', { d: text }) : text;
  }

  function tick() {
    app.tickers = app.tickers.filter((ticker) => ticker.el.isConnected);
    app.tickers.forEach(drawTicker);
    tickLogin();
  }

  // --- the network ---------------------------------------------------------------------------

  // One request to the interface: returns {status, body, headers}; status 0 when the gateway
  // could not be reached. @fields, when given, go as a urlencoded body.
  async function request(method, path, fields, extraHeaders) {
    const headers = Object.assign({ Accept: 'application/json' }, extraHeaders || {});
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (fields !== undefined) {
      init.body = new URLSearchParams(fields).toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      return { status: 0, body: null, headers: null };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    return { status: response.status, body, headers: response.headers };
  }

  function errorText(status, body) {
    if (status === 0) return t('err.network');
    const key = `err.${status}`;
    const own = t(key) === key ? t('err.other', { n: status }) : t(key);
    const said = body && typeof body.error === 'string' ? body.error : '';
    return said ? `${own}: ${said}` : own;
  }

  // --- language ------------------------------------------------------------------------------

  function storedLanguage(user) {
    try {
      const value = localStorage.getItem(user ? `firegate.lang.${user}` : 'firegate.lang');
      return LANGS.includes(value) ? value : null;
    } catch (e) {
      return null;
    }
  }

  function storeLanguage(lang) {
    try {
      localStorage.setItem('firegate.lang', lang);
      if (app.me) localStorage.setItem(`firegate.lang.${app.me.user}`, lang);
    } catch (e) {
      // private mode: the choice lasts for this page only
    }
  }

  function setLanguage(lang, remember) {
    app.lang = LANGS.includes(lang) ? lang : 'vi';
    if (remember) storeLanguage(app.lang);
    document.documentElement.lang = app.lang;
    for (const node of document.querySelectorAll('[data-i18n]')) {
      node.textContent = t(node.dataset.i18n);
    }
    for (const node of document.querySelectorAll('button.lang')) {
      node.setAttribute('aria-pressed', node.dataset.lang === app.lang ? 'true' : 'false');
    }
    fillHistoryChoices();
    if (document.body.dataset.stream === 'reconnecting') setStreamStatus('reconnecting');
    render();
    if (app.loginWaitUntil) tickLogin();
  }

  // --- views ---------------------------------------------------------------------------------

  function setView(view) {
    document.body.dataset.view = view;
    show($('login-view'), view === 'login');
    show($('app-view'), view === 'app');
  }

  function showLogin(message) {
    stopStream();
    app.me = null;
    app.state = null;
    app.openUnit = null;
    app.confirming = null;
    sound.update([]);
    setLanguage(storedLanguage(null) || app.lang, false);
    setView('login');
    document.title = t('app.title');
    const error = $('login-error');
    error.textContent = message || '';
    show(error, Boolean(message));
    $('login-password').value = '';
    $('login-user').focus();
  }

  async function start() {
    setLanguage(storedLanguage(null) || 'vi', false);
    const me = await request('GET', '/api/me');
    if (me.status === 200 && me.body) {
      enter(me.body);
    } else {
      showLogin(me.status === 401 || me.status === 200 ? '' : errorText(me.status, me.body));
    }
  }

  function enter(me) {
    app.me = me;
    setLanguage(
      storedLanguage(me.user) || (LANGS.includes(me.language) ? me.language : 'vi'),
      false,
    );
    $('me-user').textContent = str(me.user);
    $('me-role').textContent = word('role', me.role);
    show($('view-only'), !me.may_act);
    setView('app');
    selectTab(app.tab);
    loadState();
    startStream();
  }

  async function loadState() {
    const got = await request('GET', '/api/state');
    if (got.status === 401) return showLogin(t('login.ended'));
    if (got.status === 200 && got.body && !app.stateFromStream) receiveState(got.body);
    return undefined;
  }

  function receiveState(state) {
    if (!state || typeof state !== 'object') return;
    app.state = state;
    if (typeof state.now === 'number') app.offset = state.now - Date.now();
    render();
  }

  // --- login ---------------------------------------------------------------------------------

  async function login(event) {
    event.preventDefault();
    sound.unlock();
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    const button = $('login-submit');
    const error = $('login-error');
    button.disabled = true;
    button.textContent = t('login.busy');
    const got = await request('POST', '/api/login', { user, password });
    button.disabled = false;
    button.textContent = t('login.submit');
    if (got.status === 200 && got.body) {
      stopLoginWait();
      show(error, false);
      $('login-password').value = '';
      enter(got.body);
      return;
    }
    $('login-password').value = '';
    if (got.status === 429) {
      let wait = got.body && Number(got.body.retry_after_s);
      if (!Number.isFinite(wait) || wait <= 0)
        wait = Number(got.headers && got.headers.get('Retry-After'));
      if (!Number.isFinite(wait) || wait <= 0) wait = 1;
      app.loginWaitUntil = Date.now() + Math.ceil(wait) * 1000;
      error.dataset.status = '429';
      tickLogin();
    } else {
      stopLoginWait();
      error.dataset.status = String(got.status);
      error.textContent = got.status === 401 ? t('login.bad') : errorText(got.status, got.body);
    }
    show(error, true);
    $('login-password').focus();
  }

  function tickLogin() {
    if (!app.loginWaitUntil) return;
    const error = $('login-error');
    const left = Math.ceil((app.loginWaitUntil - Date.now()) / 1000);
    if (left > 0) {
      error.textContent = t('login.slow', { s: left });
      error.dataset.retryAfter = String(left);
    } else {
      error.textContent = t('login.slow_over');
      delete error.dataset.retryAfter;
      app.loginWaitUntil = 0;
    }
  }

  function stopLoginWait() {
    app.loginWaitUntil = 0;
    delete $('login-error').dataset.retryAfter;
  }

  async function logout() {
    const csrf = app.me ? app.me.csrf : '';
    stopStream();
    await request('POST', '/api/logout', {}, { 'X-CSRF-Token': csrf });
    showLogin('');
  }

  // --- the live stream -----------------------------------------------------------------------

  function startStream() {
    stopStream();
    const stream = new EventSource('/api/events');
    app.stream = stream;
    stream.addEventListener('open', () => {
      if (app.stream === stream) setStreamStatus('live');
    });
    stream.addEventListener('state', (event) => {
      if (app.stream !== stream) return;
      setStreamStatus('live');
      let state;
      try {
        state = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      app.stateFromStream = true;
      receiveState(state);
    });
    stream.addEventListener('logout', () => {
      if (app.stream === stream) showLogin(t('login.ended'));
    });
    stream.addEventListener('error', () => {
      if (app.stream !== stream) return;
      setStreamStatus('reconnecting');
      // EventSource retries by itself after a dropped connection (CONNECTING); an answer that
      // is not a stream (a 401 for an ended session) closes it for good: ask who we are.
      if (stream.readyState === EventSource.CLOSED) {
        stream.close();
        const soon = Date.now() - app.lastRecheck < STREAM_RETRY_MS;
        app.streamRetry = setTimeout(recheck, soon ? STREAM_RETRY_MS : 0);
      }
    });
  }

  async function recheck() {
    app.streamRetry = null;
    app.lastRecheck = Date.now();
    const me = await request('GET', '/api/me');
    if (me.status === 401) return showLogin(t('login.ended'));
    if (me.status === 200 && me.body) app.me = me.body;
    if (app.me) startStream();
    return undefined;
  }

  function stopStream() {
    if (app.streamRetry) clearTimeout(app.streamRetry);
    app.streamRetry = null;
    if (app.stream) app.stream.close();
    app.stream = null;
    app.stateFromStream = false;
    setStreamStatus('off');
  }

  // 'live', 'reconnecting' (the bar says so) or 'off' (logged out).
  function setStreamStatus(status) {
    const bar = $('stream-status');
    bar.textContent = status === 'reconnecting' ? t('stream.reconnecting') : '';
    show(bar, status === 'reconnecting');
    document.body.dataset.stream = status;
  }

  // --- rendering -----------------------------------------------------------------------------

  function render() {
    if (!app.me || !app.state) return;
    const state = app.state;
    const focused =
      document.activeElement && document.activeElement.dataset
        ? document.activeElement.dataset.testid
        : null;
    app.tickers = [];
    renderHeader(state);
    renderStatus(state);
    renderIncidents(state);
    renderFaults(state);
    renderFloors(state);
    renderCommon(state);
    renderLegend();
    fillHistoryChoices();
    const alarms = (state.incidents || []).filter((i) => i && i.kind === 'alarm');
    sound.update(alarms.map((i) => i.id));
    const counts = state.counts || {};
    document.title =
      (counts.alarm ? `(${counts.alarm}) ${t('state.alarm')} — ` : '') + t('app.title');
    if (focused) {
      const again = document.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (again && again !== document.activeElement) again.focus({ preventScroll: true });
    }
  }

  function renderHeader(state) {
    const building = state.building || {};
    $('building-name').textContent = str(building.name) || str(building.id) || 'firegate';
    $('building-name').title = str(building.address);
    $('gateway-id').textContent = str(state.gateway);
    show($('building-unverified'), building.verified === false);
    const running = !(state.daemon && state.daemon.running === false);
    show($('daemon-down'), !running);
    document.body.dataset.daemon = running ? 'running' : 'down';
  }

  function statusItem(testid, label, value, tone) {
    return el('div', { class: `status-item tone-${tone}`, testid }, [
      el('span', { class: 'status-label', text: label }),
      typeof value === 'string' ? el('span', { class: 'status-value', text: value }) : value,
    ]);
  }

  function link(part) {
    if (!part) return [t('status.unknown'), 'unknown'];
    if (part.configured === false) return [t('status.not_configured'), 'neutral'];
    return part.connected ? [t('status.connected'), 'ok'] : [t('status.disconnected'), 'bad'];
  }

  function renderStatus(state) {
    const bar = $('status-bar');
    const running = !(state.daemon && state.daemon.running === false);
    const broker = link(state.building_broker);
    const uplink = link(state.uplink);
    const outbox = state.outbox || {};
    const counts = state.counts || {};
    const last =
      typeof outbox.last_delivery_at === 'number'
        ? since(outbox.last_delivery_at, true, 'status-last-delivery-value')
        : t('status.never');
    bar.replaceChildren(
      statusItem(
        'status-daemon',
        t('status.daemon'),
        running ? t('status.running') : t('status.not_running'),
        running ? 'ok' : 'bad',
      ),
      statusItem('status-broker', t('status.broker'), broker[0], broker[1]),
      statusItem('status-uplink', t('status.uplink'), uplink[0], uplink[1]),
      statusItem(
        'status-outbox',
        t('status.outbox'),
        str(outbox.pending ?? '—'),
        outbox.pending > 0 ? 'warn' : 'neutral',
      ),
      statusItem('status-last-delivery', t('status.last_delivery'), last, 'neutral'),
      statusItem(
        'count-alarm',
        t('status.alarms'),
        str(counts.alarm ?? 0),
        counts.alarm > 0 ? 'alarm' : 'neutral',
      ),
      statusItem(
        'count-pre-alarm',
        t('status.pre_alarms'),
        str(counts.pre_alarm ?? 0),
        counts.pre_alarm > 0 ? 'pre_alarm' : 'neutral',
      ),
      statusItem(
        'count-fault',
        t('status.faults'),
        str(counts.fault ?? 0),
        counts.fault > 0 ? 'fault' : 'neutral',
      ),
    );
  }

  function stateBadge(value, testid) {
    const key = stateKey(value);
    return el('span', { class: `state state-${key}`, testid, data: { state: key } }, [
      word('state', value || 'unknown'),
    ]);
  }

  function floorName(floor) {
    if (typeof floor !== 'number') return '';
    return floor < 0 ? t('floor.basement', { n: -floor }) : t('floor', { n: floor });
  }

  // "Unit 0201 · Floor 2 · zone" for an incident or a fault.
  function placeText(item) {
    const parts = [];
    if (item.unit_number) parts.push(t('unit', { n: item.unit_number }));
    else if (item.unit) parts.push(t('unit', { n: item.unit }));
    if (typeof item.floor === 'number') parts.push(floorName(item.floor));
    if (item.zone) parts.push(str(item.zone));
    if (!parts.length && item.place) parts.push(str(item.place));
    return parts.join(' · ') || '—';
  }

  function field(label, value, testid) {
    return el('div', { class: 'field' }, [
      el('dt', { text: label }),
      el('dd', { testid }, [value]),
    ]);
  }

  function renderIncidents(state) {
    const list = $('incidents');
    const incidents = Array.isArray(state.incidents) ? state.incidents : [];
    if (!incidents.length) {
      list.replaceChildren(
        el('p', { class: 'empty', testid: 'incidents-none', text: t('incidents.none') }),
      );
      return;
    }
    if (app.confirming !== null && !incidents.some((i) => i.id === app.confirming))
      app.confirming = null;
    list.replaceChildren(...incidents.map(incidentCard));
  }

  function incidentCard(inc) {
    const id = str(inc.id);
    const kind = stateKey(inc.kind);
    const card = el('article', {
      class: `incident incident-${kind}`,
      testid: `incident-${id}`,
      data: { kind: str(inc.kind), state: str(inc.state), id },
    });
    const head = el('div', { class: 'incident-head' }, [
      el('span', { class: `kind kind-${kind}`, text: word('kind', inc.kind) }),
      el('span', {
        class: `istate istate-${INCIDENT_STATES.includes(inc.state) ? inc.state : 'other'}`,
        testid: `istate-${id}`,
        text: word('state', inc.state),
      }),
      inc.priority_rescue ? el('span', { class: 'badge rescue', text: t('unit.priority') }) : null,
      el('span', { class: 'incident-id mono', text: `#${id}` }),
    ]);
    const firstAt = typeof inc.first_at === 'number' ? inc.first_at : null;
    const sinceText = el('span', {}, [
      since(firstAt, false, `since-${id}`),
      firstAt !== null
        ? el('span', { class: 'muted', text: ` (${t('incident.at', { t: clock(firstAt) })})` })
        : null,
    ]);
    const facts = el('dl', { class: 'incident-facts' }, [
      field(t('incident.place'), placeText(inc), `place-${id}`),
      field(t('incident.since'), sinceText),
      field(t('incident.cause'), str(inc.cause) || '—'),
      field(t('incident.detector'), str(inc.detector) || '—'),
      field(
        t('incident.acknowledged_by'),
        str(inc.acknowledged_by) || t('incident.nobody'),
        `acknowledged-by-${id}`,
      ),
      field(
        t('incident.silenced_by'),
        str(inc.silenced_by) || t('incident.nobody'),
        `silenced-by-${id}`,
      ),
    ]);
    card.append(head, facts);
    if (app.me && app.me.may_act) card.append(actions(inc));
    return card;
  }

  function actionButton(inc, verb, label, cls, fields) {
    const id = str(inc.id);
    const key = `${id}/${verb}`;
    return el(
      'button',
      {
        type: 'button',
        class: `act ${cls}`,
        testid: `${fields ? 'confirm-false-alarm' : TESTID_VERB[verb]}-${id}`,
        disabled: app.busy.has(key),
        onclick: () => act(inc.id, verb, fields),
      },
      [app.busy.has(key) ? t('act.sending') : label],
    );
  }

  function actions(inc) {
    const id = str(inc.id);
    const row = el('div', { class: 'actions', testid: `actions-${id}` });
    if (app.confirming === inc.id) {
      row.append(
        actionButton(inc, 'reset', t('act.confirm_false'), 'danger', { false_alarm: '1' }),
        el(
          'button',
          {
            type: 'button',
            class: 'act secondary',
            testid: `cancel-false-alarm-${id}`,
            onclick: () => {
              app.confirming = null;
              render();
            },
          },
          [t('act.cancel')],
        ),
      );
      return row;
    }
    if (inc.state === 'open')
      row.append(actionButton(inc, 'acknowledge', t('act.acknowledge'), 'primary'));
    if (inc.state !== 'silenced')
      row.append(actionButton(inc, 'silence', t('act.silence'), 'warn'));
    row.append(actionButton(inc, 'reset', t('act.reset'), 'secondary'));
    row.append(
      el(
        'button',
        {
          type: 'button',
          class: 'act secondary',
          testid: `false-alarm-${id}`,
          onclick: () => {
            app.confirming = inc.id;
            render();
          },
        },
        [t('act.reset_false')],
      ),
    );
    return row;
  }

  async function act(id, verb, fields) {
    if (!app.me) return;
    const key = `${id}/${verb}`;
    if (app.busy.has(key)) return;
    app.busy.add(key);
    render();
    const got = await request(
      'POST',
      `/api/incidents/${encodeURIComponent(id)}/${verb}`,
      fields || {},
      { 'X-CSRF-Token': app.me.csrf },
    );
    app.busy.delete(key);
    if (verb === 'reset') app.confirming = null;
    if (got.status === 401) {
      showLogin(t('login.ended'));
      return;
    }
    if (got.status === 200) {
      const said = got.body && typeof got.body.message === 'string' ? got.body.message : '';
      message(true, said ? `${t('act.done')}: ${said}` : t('act.done'), got.status);
    } else {
      message(false, errorText(got.status, got.body), got.status);
    }
    render();
  }

  function message(ok, text, status) {
    const box = $('message');
    box.className = `message ${ok ? 'ok' : 'error'}`;
    box.dataset.status = String(status);
    box.textContent = text;
    show(box, true);
    clearTimeout(app.messageTimer);
    app.messageTimer = setTimeout(() => show(box, false), ok ? 8000 : 20000);
  }

  function renderFaults(state) {
    const faults = Array.isArray(state.faults) ? state.faults : [];
    const notHeard = faults.filter((f) => NOT_HEARD.includes(f.fault));
    const other = faults.filter((f) => !NOT_HEARD.includes(f.fault));
    const group = (title, items, testid) =>
      el('div', { class: 'fault-group', testid }, [
        el('h3', { text: `${title} (${items.length})` }),
        items.length
          ? el('ul', { class: 'faults' }, items.map(faultItem))
          : el('p', { class: 'empty', text: t('faults.none') }),
      ]);
    $('faults').replaceChildren(
      group(t('faults.not_heard'), notHeard, 'faults-not-heard'),
      group(t('faults.other'), other, 'faults-other'),
    );
  }

  function faultItem(f) {
    const id = str(f.id);
    return el('li', { class: 'fault', testid: `fault-${id}`, data: { fault: str(f.fault) } }, [
      el('div', { class: 'fault-head' }, [
        el('span', { class: 'state state-fault', text: word('fault', f.fault) }),
        el('span', { class: 'mono', text: str(f.detector) || '—' }),
        el('span', { class: 'muted', text: placeText(f) }),
      ]),
      el('div', { class: 'fault-body' }, [
        el('span', { text: str(f.cause) }),
        el('span', { class: 'muted' }, [
          ' · ',
          since(typeof f.first_at === 'number' ? f.first_at : null, true),
        ]),
      ]),
    ]);
  }

  function renderLegend() {
    const legend = $('legend');
    if (legend.dataset.lang === app.lang) return;
    legend.dataset.lang = app.lang;
    legend.replaceChildren(
      ...['alarm', 'pre_alarm', 'fault', 'test', 'disabled', 'normal', 'unknown'].map((s) =>
        el('span', { class: `state state-${s}`, text: t(`state.${s}`) }),
      ),
    );
  }

  function renderFloors(state) {
    const floors = Array.isArray(state.floors) ? state.floors : [];
    const box = $('floors');
    if (!floors.length) {
      box.replaceChildren(el('p', { class: 'empty', text: t('floors.none') }));
      return;
    }
    const rows = [];
    // A building with many units a floor gets smaller tiles, so more of it fits on a screen.
    const widest = Math.max(0, ...floors.map((f) => (Array.isArray(f.units) ? f.units.length : 0)));
    box.classList.toggle('dense', widest > 10);
    for (const floor of floors) {
      const units = Array.isArray(floor.units) ? floor.units : [];
      const worst = worstState(units.map((u) => u.state));
      rows.push(
        el('div', { class: 'floor', testid: `floor-${str(floor.floor)}`, data: { state: worst } }, [
          el('div', { class: `floor-name floor-${worst}`, text: floorName(floor.floor) }),
          el('div', { class: 'units' }, units.map(unitTile)),
        ]),
      );
      const open = units.find((u) => u.id === app.openUnit);
      if (open) rows.push(unitDetail(open, floor.floor));
    }
    box.replaceChildren(...rows);
  }

  // The state that matters most among @states, for a floor's label.
  function worstState(states) {
    const order = [
      'alarm',
      'acknowledged',
      'silenced',
      'pre_alarm',
      'fault',
      'test',
      'disabled',
      'unknown',
      'normal',
    ];
    const keys = states.map(stateKey);
    return order.find((s) => keys.includes(s)) || 'normal';
  }

  function unitTile(unit) {
    const key = stateKey(unit.state);
    const id = str(unit.id);
    const open = app.openUnit === unit.id;
    const tile = el(
      'button',
      {
        type: 'button',
        class: ['tile', `state-${key}`, unit.priority_rescue ? 'rescue' : '', open ? 'open' : '']
          .filter(Boolean)
          .join(' '),
        testid: `unit-${id}`,
        data: { state: key, unit: id },
        'aria-expanded': open ? 'true' : 'false',
        title: `${t('unit', { n: str(unit.number) })}: ${word('state', unit.state)}`,
        onclick: () => {
          app.openUnit = app.openUnit === unit.id ? null : unit.id;
          render();
        },
      },
      [
        el('span', { class: 'tile-top' }, [
          el('span', { class: 'tile-number', text: str(unit.number) }),
          unit.priority_rescue
            ? el('span', {
                class: 'tile-rescue',
                testid: `rescue-${id}`,
                text: t('unit.priority_short'),
                title: t('unit.priority'),
              })
            : null,
        ]),
        el('span', { class: 'tile-state', text: word('state', unit.state || 'unknown') }),
      ],
    );
    return tile;
  }

  function unitDetail(unit, floor) {
    const occupants = unit.occupants || {};
    const detectors = Array.isArray(unit.detectors) ? unit.detectors : [];
    return el('section', { class: 'unit-detail', testid: 'detail', data: { unit: str(unit.id) } }, [
      el('div', { class: 'unit-detail-head' }, [
        el('h3', { text: `${t('unit', { n: str(unit.number) })} · ${floorName(floor)}` }),
        stateBadge(unit.state),
        unit.priority_rescue
          ? el('span', { class: 'badge rescue', text: t('unit.priority') })
          : null,
        unit.verified === false
          ? el('span', { class: 'badge warn', text: t('unit.unverified') })
          : null,
        el('span', { class: 'mono muted', text: str(unit.id) }),
        el(
          'button',
          {
            type: 'button',
            class: 'secondary close',
            testid: 'detail-close',
            onclick: () => {
              app.openUnit = null;
              render();
            },
          },
          [t('unit.close')],
        ),
      ]),
      el('div', { class: 'unit-detail-body' }, [
        el('div', {}, [
          el('h4', { text: t('unit.occupants') }),
          el(
            'dl',
            { class: 'occupants', testid: 'occupants' },
            OCCUPANTS.map((name) =>
              el(
                'div',
                {
                  class: `occupant${occupants[name] > 0 && name !== 'verified' ? ' flagged' : ''}`,
                },
                [
                  el('dt', { text: t(`occ.${name}`) }),
                  el('dd', { testid: `occupants-${name}`, text: str(occupants[name] ?? 0) }),
                ],
              ),
            ),
          ),
        ]),
        el('div', {}, [
          el('h4', { text: t('unit.detectors') }),
          table(
            ['col.id', 'col.kind', 'col.location', 'col.state'],
            detectors.map((d) => ({
              testid: `detector-${str(d.id)}`,
              cells: [
                el('span', { class: 'mono', text: str(d.id) }),
                word('kind', d.kind),
                str(d.location) || '—',
                stateBadge(d.state),
              ],
            })),
          ),
        ]),
      ]),
    ]);
  }

  function table(columns, rows, testid) {
    return el('table', { class: 'table', testid }, [
      el('thead', {}, [
        el(
          'tr',
          {},
          columns.map((c) => el('th', { scope: 'col', text: t(c) })),
        ),
      ]),
      el(
        'tbody',
        {},
        rows.map((row) =>
          el(
            'tr',
            { testid: row.testid, class: row.class },
            row.cells.map((cell) => el('td', {}, [typeof cell === 'string' ? cell : cell])),
          ),
        ),
      ),
    ]);
  }

  function renderCommon(state) {
    const common = Array.isArray(state.common) ? state.common : [];
    $('common').replaceChildren(
      common.length
        ? table(
            ['col.id', 'col.kind', 'col.floor', 'col.zone', 'col.location', 'col.state'],
            common.map((d) => ({
              testid: `common-${str(d.id)}`,
              class: `row-${stateKey(d.state)}`,
              cells: [
                el('span', { class: 'mono', text: str(d.id) }),
                word('kind', d.kind),
                typeof d.floor === 'number' ? floorName(d.floor) : '—',
                str(d.zone) || '—',
                str(d.location) || '—',
                stateBadge(d.state),
              ],
            })),
            'common-table',
          )
        : el('p', { class: 'empty', text: t('common.none') }),
    );
  }

  // --- tabs ----------------------------------------------------------------------------------

  function selectTab(tab) {
    app.tab = tab === 'history' ? 'history' : 'now';
    for (const node of document.querySelectorAll('.tab')) {
      node.setAttribute('aria-selected', node.dataset.tab === app.tab ? 'true' : 'false');
    }
    show($('now-panel'), app.tab === 'now');
    show($('history-panel'), app.tab === 'history');
    document.body.dataset.tab = app.tab;
    updateCsvLink();
  }

  // --- history -------------------------------------------------------------------------------

  function option(value, label, selected) {
    const node = el('option', { value, text: label });
    if (selected) node.selected = true;
    return node;
  }

  function fillSelect(select, choices) {
    const current = select.value;
    select.replaceChildren(
      option('', t('history.any'), current === ''),
      ...choices.map(([value, label]) => option(value, label, value === current)),
    );
  }

  function fillHistoryChoices() {
    const floors = app.state && Array.isArray(app.state.floors) ? app.state.floors : [];
    const units = [];
    const detectors = [];
    for (const floor of floors) {
      for (const unit of floor.units || []) {
        units.push([str(unit.id), `${str(unit.number)} (${floorName(floor.floor)})`]);
        for (const d of unit.detectors || []) detectors.push(str(d.id));
      }
    }
    const floorNumbers = new Set(floors.map((f) => f.floor));
    for (const d of (app.state && app.state.common) || []) {
      detectors.push(str(d.id));
      if (typeof d.floor === 'number') floorNumbers.add(d.floor);
    }
    fillSelect($('history-unit'), units);
    fillSelect(
      $('history-floor'),
      [...floorNumbers]
        .filter((f) => typeof f === 'number')
        .sort((a, b) => b - a)
        .map((f) => [String(f), floorName(f)]),
    );
    fillSelect(
      $('history-kind'),
      ['alarm', 'pre_alarm', 'fault'].map((k) => [k, word('kind', k)]),
    );
    fillSelect(
      $('history-state'),
      ['open', 'acknowledged', 'silenced', 'closed'].map((s) => [s, word('state', s)]),
    );
    const list = $('history-detectors');
    if (list.childElementCount !== detectors.length) {
      list.replaceChildren(...detectors.map((d) => el('option', { value: d })));
    }
  }

  function historyQuery(format) {
    const form = new FormData($('history-form'));
    const query = new URLSearchParams();
    for (const [name, value] of form.entries()) {
      const text = String(value).trim();
      if (text !== '') query.set(name, text);
    }
    if (format) query.set('format', format);
    return query.toString();
  }

  function updateCsvLink() {
    $('history-csv').href = `/api/history?${historyQuery('csv')}`;
  }

  async function searchHistory(event) {
    if (event) event.preventDefault();
    updateCsvLink();
    const error = $('history-error');
    const summary = $('history-summary');
    show(error, false);
    summary.textContent = t('history.loading');
    const got = await request('GET', `/api/history?${historyQuery()}`);
    if (got.status === 401) return showLogin(t('login.ended'));
    if (got.status !== 200 || !got.body || !Array.isArray(got.body.incidents)) {
      summary.textContent = '';
      $('history-table').replaceChildren();
      error.dataset.status = String(got.status);
      error.textContent =
        got.status === 503
          ? `${t('history.unavailable_audit')} (${errorText(got.status, got.body)})`
          : errorText(got.status, got.body);
      show(error, true);
      return undefined;
    }
    const rows = got.body.incidents;
    summary.textContent = rows.length ? t('history.count', { n: rows.length }) : t('history.none');
    if (got.body.truncated) summary.textContent += ` ${t('history.truncated')}`;
    summary.dataset.count = String(rows.length);
    const columns = [
      'col.id',
      'col.kind',
      'col.state',
      'col.unit',
      'col.floor',
      'col.detector',
      'col.cause',
      'col.first_at',
      'col.closed_at',
      'col.acknowledged_by',
    ];
    const unitNumbers = new Map();
    for (const floor of (app.state && app.state.floors) || []) {
      for (const unit of floor.units || []) unitNumbers.set(unit.id, unit.number);
    }
    $('history-table').replaceChildren(
      ...table(
        columns,
        rows.map((r) => ({
          testid: `hrow-${str(r.id)}`,
          cells: [
            str(r.id),
            word('kind', r.kind),
            word('state', r.state),
            str(unitNumbers.get(r.unit) || r.unit) || '—',
            typeof r.floor === 'number' ? floorName(r.floor) : '—',
            str(r.detector) || '—',
            r.fault ? `${word('fault', r.fault)}: ${str(r.cause)}` : str(r.cause),
            dateTime(r.first_at),
            dateTime(r.closed_at),
            str(r.acknowledged_by) || '—',
          ],
        })),
      ).children,
    );
    return undefined;
  }

  // --- sound ---------------------------------------------------------------------------------

  // A repeating two-tone alarm from an oscillator, for alarm incidents this browser has not
  // acknowledged yet; the list of those it has is kept in localStorage. This is the desk's own
  // reminder, separate from acknowledging the incident at the daemon.
  const sound = {
    ctx: null,
    osc: null,
    gain: null,
    timer: null,
    present: [],
    acked: new Set(),
    loaded: false,

    load() {
      if (this.loaded) return;
      this.loaded = true;
      try {
        const ids = JSON.parse(localStorage.getItem('firegate.sound.acked') || '[]');
        if (Array.isArray(ids)) ids.forEach((id) => this.acked.add(String(id)));
      } catch (e) {
        // nothing remembered
      }
    },

    save() {
      try {
        localStorage.setItem('firegate.sound.acked', JSON.stringify([...this.acked]));
      } catch (e) {
        // remembered for this page only
      }
    },

    // Called with the alarm incidents' ids at every state.
    update(ids) {
      this.load();
      this.present = ids.map(String);
      // Incident ids are never reused, so ids no longer present can be forgotten.
      if (app.state) {
        const before = this.acked.size;
        for (const id of [...this.acked]) if (!this.present.includes(id)) this.acked.delete(id);
        if (this.acked.size !== before) this.save();
      }
      const pending = this.present.filter((id) => !this.acked.has(id));
      if (pending.length) this.start();
      else this.stop();
    },

    acknowledge() {
      this.present.forEach((id) => this.acked.add(id));
      this.save();
      this.stop();
    },

    // Creates the audio context inside a user's gesture, so browsers let it play later.
    unlock() {
      try {
        if (!this.ctx) {
          const Context = window.AudioContext || window.webkitAudioContext;
          if (!Context) return;
          this.ctx = new Context();
        }
        if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
      } catch (e) {
        // no audio on this device: the banner still shows
      }
      this.showBlocked();
    },

    start() {
      document.body.dataset.sound = 'on';
      show($('sound-bar'), true);
      this.unlock();
      if (!this.ctx || this.osc) return;
      const ctx = this.ctx;
      this.gain = ctx.createGain();
      this.gain.gain.value = 0.25;
      this.osc = ctx.createOscillator();
      this.osc.type = 'square';
      this.osc.frequency.value = 950;
      this.osc.connect(this.gain).connect(ctx.destination);
      this.osc.start();
      let high = true;
      this.timer = setInterval(() => {
        high = !high;
        if (this.osc) this.osc.frequency.setValueAtTime(high ? 950 : 650, ctx.currentTime);
      }, 450);
      this.showBlocked();
    },

    stop() {
      document.body.dataset.sound = 'off';
      show($('sound-bar'), false);
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      if (this.osc) {
        try {
          this.osc.stop();
          this.osc.disconnect();
          this.gain.disconnect();
        } catch (e) {
          // already stopped
        }
      }
      this.osc = null;
      this.gain = null;
    },

    showBlocked() {
      const blocked =
        document.body.dataset.sound === 'on' && (!this.ctx || this.ctx.state !== 'running');
      show($('sound-blocked'), blocked);
      document.body.dataset.audio = this.ctx ? this.ctx.state : 'none';
    },
  };

  // --- wiring --------------------------------------------------------------------------------

  function wire() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    for (const node of document.querySelectorAll('button.lang')) {
      node.addEventListener('click', () => setLanguage(node.dataset.lang, true));
    }
    for (const node of document.querySelectorAll('.tab')) {
      node.addEventListener('click', () => {
        selectTab(node.dataset.tab);
        if (app.tab === 'history' && !$('history-table').childElementCount) searchHistory();
      });
    }
    $('sound-ack').addEventListener('click', () => sound.acknowledge());
    $('history-form').addEventListener('submit', searchHistory);
    $('history-form').addEventListener('input', updateCsvLink);
    $('history-form').addEventListener('change', updateCsvLink);
    // Any touch lets a suspended audio context play (browsers' autoplay rules).
    document.addEventListener('pointerdown', () => {
      if (sound.ctx && sound.ctx.state === 'suspended') {
        sound.ctx.resume().then(
          () => sound.showBlocked(),
          () => {},
        );
      }
    });
    setInterval(tick, 1000);
  }

  wire();
  start();
})();
