/* Relay chat widget. Plain JS, no build step. Everything renders inside a Shadow DOM, so the
 * page's CSS cannot reach it; every text a person typed goes in with textContent, never as HTML.
 * Embed: <script src="https://relay.example/static/widget/widget.js" data-channel="…" async>
 * Optional, before the tag: window.RelayWidget = {identity: {customer_id, email, name,
 * timestamp, signature}} signed by the shop's server with the channel's signing secret. */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector("script[data-channel][src*='widget/widget.js']");
  if (!script || window.__relayWidgetLoaded) return;
  window.__relayWidgetLoaded = true;

  var BASE = new URL(script.src, location.href).origin;
  var CHANNEL = script.getAttribute("data-channel");
  var API = BASE + "/widget/api/" + CHANNEL + "/";
  var LANGS = ["en", "es", "fr", "it", "nb", "ar"];
  var KEY = "relay-widget:" + CHANNEL;
  var config = window.RelayWidget || {};

  function pickLang() {
    var wanted = [script.getAttribute("data-lang"), document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split(/[-_]/)[0];
      if (code === "no" || code === "nn") code = "nb";
      if (LANGS.indexOf(code) >= 0) return code;
    }
    return "en";
  }

  var lang = pickLang();
  var T = {};
  var state = {
    token: store("get"), open: false, conv: null, lastId: 0, firstId: 0, seen: {},
    ws: null, wsTries: 0, subscribed: false, session: null, booting: null, typingTimer: 0,
    lastTyping: 0, pending: {}, upload: null, file: null, starting: null, wsRefused: false,
    pingTimer: 0, pongDue: false
  };
  var PING_EVERY = 25000;  // a socket that misses one pong for this long is dead: reconnect

  function store(op, value) {
    try {
      if (op === "get") return localStorage.getItem(KEY) || "";
      localStorage.setItem(KEY, value);
    } catch (e) { /* private mode: the session lives as long as the page */ }
    return "";
  }

  // --- DOM helpers ----------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function t(key) { return T[key] || key; }

  // A custom element: page rules written for div/button do not match the host, and all
  // positioning and fonts live on the inner wrapper, which page CSS cannot reach.
  var host = document.createElement("relay-widget");
  host.id = "relay-widget";
  var root = host.attachShadow({ mode: "open" });
  var NS = "http://www.w3.org/2000/svg";
  function icon(d) {
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }
  var css = el("style");
  css.textContent = [
    ":host{all:initial}",
    ".wrap{position:fixed;inset-block-end:20px;inset-inline-end:20px;z-index:2147483000;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;",
    "text-align:start;letter-spacing:normal;text-transform:none}",
    "*{box-sizing:border-box;font:inherit;color:inherit;margin:0}",
    "svg{width:26px;height:26px;fill:currentColor}.clip svg{width:20px;height:20px}",
    "button{cursor:pointer;border:0;background:none;padding:0}",
    ".launch{width:56px;height:56px;border-radius:50%;background:#2563eb;color:#fff;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center;position:relative}",
    ".launch .dot{position:absolute;inset-block-start:0;inset-inline-end:0;width:14px;",
    "height:14px;border-radius:50%;background:#dc2626;display:none}",
    ".launch.unread .dot{display:block}",
    ".panel{position:absolute;inset-block-end:70px;inset-inline-end:0;width:360px;",
    "max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 110px);background:#fff;",
    "border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;",
    "flex-direction:column;overflow:hidden}",
    ".panel[hidden]{display:none}",
    ".head{background:#2563eb;color:#fff;padding:12px 14px;display:flex;gap:8px;",
    "align-items:center}",
    ".head .title{flex:1;font-weight:600;text-align:start;white-space:nowrap;overflow:hidden;",
    "text-overflow:ellipsis}",
    ".head button{color:#fff;font-size:13px;padding:4px 6px;border-radius:6px;white-space:nowrap}",
    ".head button:hover{background:rgba(255,255,255,.15)}",
    ".expect{background:#eff6ff;color:#1e3a8a;font-size:12.5px;padding:8px 14px;text-align:start}",
    ".body{flex:1;overflow-y:auto;padding:12px 14px;display:flex;flex-direction:column;gap:8px}",
    ".intro{color:#4b5563;text-align:start}",
    ".msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;",
    "overflow-wrap:anywhere;text-align:start}",
    ".msg.you{align-self:flex-end;background:#2563eb;color:#fff;",
    "border-end-end-radius:4px}",
    ".msg.agent,.msg.bot{align-self:flex-start;background:#f3f4f6;border-end-start-radius:4px}",
    ".msg .who{display:block;font-size:11.5px;font-weight:600;opacity:.75}",
    ".msg .st{display:block;font-size:11px;opacity:.8;text-align:end}",
    ".msg.failed{background:#fee2e2;color:#991b1b;cursor:pointer}",
    ".msg img{display:block;max-width:100%;border-radius:8px;margin-block-start:4px}",
    ".msg a{text-decoration:underline}",
    ".note{font-size:12.5px;color:#6b7280;text-align:center}",
    ".typing{font-size:12.5px;color:#6b7280;padding:0 14px 4px;min-height:18px;text-align:start}",
    ".email{background:#f9fafb;border:1px solid #e5e7eb;border-radius:10px;padding:10px;",
    "display:flex;flex-direction:column;gap:6px;text-align:start}",
    ".email form{display:flex;gap:6px}",
    "input[type=email]{flex:1;border:1px solid #d1d5db;border-radius:8px;padding:6px 8px}",
    ".btn{background:#2563eb;color:#fff;border-radius:8px;padding:6px 12px}",
    ".conv{display:block;width:100%;text-align:start;padding:10px;border:1px solid #e5e7eb;",
    "border-radius:10px}",
    ".conv:hover{background:#f9fafb}.conv small{display:block;color:#6b7280}",
    ".older{align-self:center}",
    ".compose{border-block-start:1px solid #e5e7eb;padding:8px;display:flex;gap:6px;",
    "align-items:flex-end}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:8px;",
    "max-height:120px;min-height:38px;text-align:start}",
    ".clip{padding:6px;color:#4b5563}",
    "input[type=email]{direction:ltr}",
    ".file{font-size:12px;color:#374151;padding:0 10px 6px;text-align:start}",
    ".error{color:#b91c1c;font-size:12.5px;padding:0 14px 6px;text-align:start}",
    ".off{background:#fef3c7;color:#92400e;font-size:12px;padding:4px 14px;text-align:center}",
    "[hidden]{display:none!important}"
  ].join("");
  root.appendChild(css);

  var CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  var CLIP = "M16.5 6.5l-7.8 7.8a1.5 1.5 0 0 0 2.1 2.1l7.8-7.8a3 3 0 0 0-4.2-4.2L6.6 12.2a4.5 " +
    "4.5 0 0 0 6.4 6.4l6.7-6.7 1.4 1.4-6.7 6.7a6.5 6.5 0 0 1-9.2-9.2L13 3.6a5 5 0 0 1 7 7l-7.8 " +
    "7.8a3.5 3.5 0 0 1-4.9-4.9l7.8-7.8z";
  var launch = el("button", "launch");
  launch.appendChild(icon(CHAT));
  launch.appendChild(el("span", "dot"));
  var panel = el("div", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  var head = el("div", "head");
  var backBtn = el("button", "back", "");
  var title = el("div", "title", "");
  var newBtn = el("button", "new", "");
  var closeBtn = el("button", "close", "\u2715");
  head.append(backBtn, title, newBtn, closeBtn);
  var offline = el("div", "off");
  offline.hidden = true;
  var expect = el("div", "expect");
  var body = el("div", "body");
  body.setAttribute("aria-live", "polite");
  var typing = el("div", "typing");
  var error = el("div", "error");
  error.hidden = true;
  var fileLine = el("div", "file");
  fileLine.hidden = true;
  var compose = el("form", "compose");
  var fileInput = el("input");
  fileInput.type = "file";
  fileInput.accept = "image/jpeg,image/png,image/gif,image/webp,application/pdf";
  fileInput.hidden = true;
  var clip = el("button", "clip");
  clip.appendChild(icon(CLIP));
  clip.type = "button";
  var input = el("textarea");
  input.rows = 1;
  var sendBtn = el("button", "btn send", "");
  sendBtn.type = "submit";
  compose.append(fileInput, clip, input, sendBtn);
  panel.append(head, offline, expect, body, typing, error, fileLine, compose);
  var wrap = el("div", "wrap");
  wrap.append(panel, launch);
  root.appendChild(wrap);

  function applyStrings() {
    host.setAttribute("dir", lang === "ar" ? "rtl" : "ltr");
    host.setAttribute("lang", lang);
    launch.setAttribute("aria-label", t("open"));
    launch.title = t("open");
    panel.setAttribute("aria-label", t("title"));
    closeBtn.setAttribute("aria-label", t("close"));
    backBtn.textContent = lang === "ar" ? "\u2192" : "\u2190";
    backBtn.setAttribute("aria-label", t("history"));
    backBtn.title = t("history");
    newBtn.textContent = "+ " + t("new");
    input.placeholder = t("placeholder");
    input.setAttribute("aria-label", t("placeholder"));
    clip.setAttribute("aria-label", t("attach"));
    clip.title = t("attach");
    sendBtn.textContent = t("send");
    offline.textContent = t("offline");
    title.textContent = (state.session && state.session.channel.name) || t("title");
  }

  // --- HTTP -----------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    var headers = { "X-Widget-Token": state.token };
    var body = options.body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    var url = API + path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang;
    return fetch(url, { method: options.method || "GET", headers: headers, body: body,
      mode: "cors", credentials: "omit" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            var err = new Error(data.detail || t("error"));
            err.status = response.status;
            err.code = data.code;
            err.retryAfter = data.retry_after || 0;
            // A verified session's token lives a week: start the session again (the shop's
            // identity re-issues it) and repeat the call once.
            if (data.code === "token_expired" && path !== "session" && !options.renewed) {
              options.renewed = true;
              state.token = "";
              state.booting = null;
              return boot().then(function () { return api(path, options); });
            }
            throw err;
          }
          return data;
        });
      });
  }

  function showError(message) {
    error.textContent = message || "";
    error.hidden = !message;
  }

  function boot() {
    if (state.booting) return state.booting;
    var catalog = fetch(BASE + "/widget/i18n/" + lang + ".json")
      .then(function (r) { return r.json(); })
      .then(function (c) { T = c.strings || {}; applyStrings(); });
    function start(identity) {
      return api("session", { method: "POST", body: { token: state.token, identity: identity,
        lang: lang } });
    }
    var session = start(config.identity || null).catch(function (err) {
      if (err.status === 403) {  // a bad shop signature or a stale token: start afresh
        state.token = "";
        return start(null);
      }
      throw err;
    }).then(function (data) {
      state.session = data;
      state.token = data.token;
      state.wsRefused = false;
      store("set", data.token);
      expect.textContent = data.expectation;
      applyStrings();
      if (data.has_history) connect();
    });
    state.booting = Promise.all([catalog, session]).catch(function (err) {
      state.booting = null;
      showError(err.message);
    });
    return state.booting;
  }

  // --- Rendering ------------------------------------------------------------------------
  function messageNode(m) {
    var node = el("div", "msg " + m.sender);
    node.setAttribute("data-id", m.id);
    if (m.sender !== "you") node.appendChild(el("span", "who", m.author || t("agent")));
    if (m.text) node.appendChild(document.createTextNode(m.text));
    (m.attachments || []).forEach(function (a) {
      var url = /^https?:\/\//.test(a.url || "") ? a.url : "";
      if (url && a.type.indexOf("image/") === 0) {
        var img = el("img");
        img.src = url;
        img.alt = a.name;
        node.appendChild(img);
      } else {
        var link = el(url ? "a" : "span", "", a.name);
        if (url) { link.href = url; link.target = "_blank"; link.rel = "noopener noreferrer"; }
        node.appendChild(el("br"));
        node.appendChild(link);
      }
    });
    return node;
  }

  function addMessages(list, prepend) {
    var anchor = prepend ? body.querySelector(".msg,.more-wrap") : null;
    var atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    list.forEach(function (m) {
      if (m.client_id && state.pending[m.client_id]) {  // the stored copy of an optimistic bubble
        state.pending[m.client_id].remove();
        delete state.pending[m.client_id];
      }
      if (state.seen[m.id]) return;  // already shown: a catch-up never duplicates
      state.seen[m.id] = true;
      var node = messageNode(m);
      body.insertBefore(node, m.id > state.lastId ? tail : (laterNode(m.id) || anchor || tail));
      if (m.id > state.lastId) state.lastId = m.id;
      if (!state.firstId || m.id < state.firstId) state.firstId = m.id;
      if (m.sender !== "you") typing.textContent = "";
    });
    if (!prepend && (atBottom || list.length)) body.scrollTop = body.scrollHeight;
    markRead();
  }

  function laterNode(id) {  // the first shown message newer than `id`: order is by id
    var nodes = body.querySelectorAll(".msg[data-id]");
    for (var i = 0; i < nodes.length; i++) {
      var other = Number(nodes[i].getAttribute("data-id"));
      if (other && other > id) return nodes[i];
    }
    return null;
  }

  var tail = el("div");  // the "after sending" notes live below the messages
  function renderTail() {
    tail.textContent = "";
    var s = state.session;
    if (!s || !state.conv || !s.awaiting_reply) return;
    tail.appendChild(el("p", "note", s.expectation));
    if (!s.email_known) tail.appendChild(emailBox());
  }

  function emailBox() {
    var box = el("div", "email");
    box.appendChild(el("span", "", t("email_ask")));
    var form = el("form");
    var field = el("input");
    field.type = "email";
    field.required = true;
    field.placeholder = t("email_placeholder");
    field.setAttribute("aria-label", t("email_placeholder"));
    var save = el("button", "btn", t("email_save"));
    save.type = "submit";
    form.append(field, save);
    box.appendChild(form);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("email", { method: "POST", body: { email: field.value } }).then(function () {
        state.session.email_known = true;
        box.textContent = "";
        box.appendChild(el("span", "", t("email_saved")));
      }, function (err) { showError(err.message); });
    });
    return box;
  }

  function clearBody() {
    body.textContent = "";
    state.seen = {};
    state.pending = {};
    state.lastId = 0;
    state.firstId = 0;
    typing.textContent = "";
  }

  function showThread(conversationId) {
    clearBody();
    state.conv = conversationId;
    backBtn.hidden = !(state.session && state.session.has_history);
    compose.hidden = false;
    if (!conversationId) {
      body.appendChild(el("p", "intro", t("intro")));
      body.appendChild(tail);
      renderTail();
      input.focus();
      return Promise.resolve();
    }
    body.appendChild(tail);
    return api("conversations/" + conversationId + "/messages").then(function (data) {
      if (data.has_more) body.insertBefore(moreButton(), body.firstChild);
      addMessages(data.messages);
      renderTail();
    }, function (err) { showError(err.message); });
  }

  function moreButton() {
    var wrap = el("div", "more-wrap note");
    var more = el("button", "", "\u2191");
    wrap.appendChild(more);
    more.addEventListener("click", function () {
      var conv = state.conv;
      api("conversations/" + conv + "/messages?before=" + state.firstId).then(function (data) {
        if (state.conv !== conv) return;
        wrap.remove();
        addMessages(data.messages, true);
        if (data.has_more) body.insertBefore(moreButton(), body.firstChild);
      });
    });
    return wrap;
  }

  function showList() {
    clearBody();
    state.conv = null;
    backBtn.hidden = true;
    compose.hidden = true;
    return api("conversations").then(function (data) {
      if (!data.conversations.length) body.appendChild(el("p", "intro", t("empty")));
      addConversations(data);
    }, function (err) { showError(err.message); });
  }

  function addConversations(data) {
    data.conversations.forEach(function (c) {
      var row = el("button", "conv", c.preview || "\u2026");
      var when = new Date(c.last_activity_at).toLocaleString(lang);
      row.appendChild(el("small", "", when + (c.status === "resolved" ? " \u00b7 " +
        t("closed") : "")));
      row.addEventListener("click", function () { showThread(c.id); });
      body.appendChild(row);
    });
    if (!data.next_cursor) return;
    var older = el("button", "btn older", t("older"));
    older.addEventListener("click", function () {
      older.disabled = true;
      api("conversations?cursor=" + encodeURIComponent(data.next_cursor)).then(function (next) {
        if (older.parentNode !== body) return;  // left the list meanwhile
        older.remove();
        addConversations(next);
      }, function (err) { older.disabled = false; showError(err.message); });
    });
    body.appendChild(older);
  }

  function openLatest() {
    if (!state.session.has_history) return showThread(null);
    return api("conversations").then(function (data) {
      var latest = data.conversations[0];
      return latest ? showThread(latest.id) : showThread(null);
    });
  }

  // --- Sending --------------------------------------------------------------------------
  function clientId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "w" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function send(text, file, id, node) {
    id = id || clientId();
    if (!node) {
      node = messageNode({ id: "", sender: "you", text: text,
        attachments: file ? [{ name: file.name, type: "", url: "" }] : [] });
      node.appendChild(el("span", "st", t("sending")));
      body.insertBefore(node, tail);
      body.scrollTop = body.scrollHeight;
      state.pending[id] = node;
    }
    // The first message of a new conversation creates it: later ones wait and continue it.
    if (!state.conv && state.starting) {
      return state.starting.then(function () { return send(text, file, id, node); });
    }
    var done = post(text, file, id, node);
    if (!state.conv) {
      state.starting = done.then(function () { state.starting = null; });
    }
    return done;
  }

  function post(text, file, id, node) {
    var payload = { client_id: id, text: text, lang: lang, conversation_id: state.conv,
      new_conversation: !state.conv };
    var requestBody = payload;
    if (file) {
      requestBody = new FormData();
      Object.keys(payload).forEach(function (k) {
        if (payload[k] !== null) requestBody.append(k, payload[k]);
      });
      requestBody.append("file", file);
    }
    showError("");
    return api("messages", { method: "POST", body: requestBody }).then(function (data) {
      var m = data.message;
      m.client_id = m.client_id || id;
      var first = !state.session.has_history;
      state.session.has_history = true;
      state.session.awaiting_reply = data.awaiting_reply;
      state.session.email_known = data.email_known;
      state.session.expectation = data.expectation;
      expect.textContent = data.expectation;
      state.conv = m.conversation_id;
      backBtn.hidden = false;
      addMessages([m]);
      if (state.pending[id]) { state.pending[id].remove(); delete state.pending[id]; }
      renderTail();
      if (first || !state.subscribed) connect(true);
    }, function (err) {
      if (err.status && err.status < 500) {  // refused for a reason: say it, do not retry
        node.remove();
        delete state.pending[id];
        showError(err.message);
        return;
      }
      node.className = "msg you failed";
      node.lastChild.textContent = t("failed");
      node.onclick = function () {
        node.onclick = null;
        node.className = "msg you";
        node.lastChild.textContent = t("sending");
        send(text, file, id, node);  // same client id: the server stores it once
      };
    });
  }

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text && !state.file) return;
    send(text, state.file);
    input.value = "";
    setFile(null);
    sendTyping(false);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });
  input.addEventListener("input", function () { sendTyping(input.value.length > 0); });
  clip.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    var upload = state.session && state.session.upload;
    if (file && upload && file.size > upload.max_bytes) {
      var mb = Math.round(upload.max_bytes / 104857.6) / 10;
      showError(t("too_large").replace("{size}", mb + " MB"));
      file = null;
    }
    setFile(file || null);
  });
  function setFile(file) {
    state.file = file;
    fileInput.value = "";
    fileLine.textContent = "";
    fileLine.hidden = !file;
    if (!file) return;
    fileLine.appendChild(el("span", "", file.name + " "));
    var remove = el("button", "", "\u2715");
    remove.type = "button";
    remove.setAttribute("aria-label", t("remove"));
    remove.addEventListener("click", function () { setFile(null); });
    fileLine.appendChild(remove);
  }

  // --- Live: websocket, typing, read ------------------------------------------------------
  function wsSend(message) {
    if (state.ws && state.ws.readyState === 1) { state.ws.send(JSON.stringify(message)); return true; }
    return false;
  }

  function connect(subscribe) {
    if (state.wsRefused) return;  // the server said no (4403): a new session may say yes
    if (state.ws && state.ws.readyState <= 1) {
      if (subscribe) wsSend({ type: "subscribe" });
      return;
    }
    // The token goes in the first message, never in the URL (URLs end up in logs).
    var ws = new WebSocket(BASE.replace(/^http/, "ws") + state.session.ws_path + "?channel=" +
      CHANNEL);
    state.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "auth", token: state.token }));
      state.pongDue = false;
      clearInterval(state.pingTimer);
      state.pingTimer = setInterval(function () {
        if (state.pongDue) return dropped(ws, 0);  // no answer since the last ping: dead
        state.pongDue = true;
        wsSend({ type: "ping" });
      }, PING_EVERY);
    };
    ws.onmessage = function (event) {
      var data;
      state.pongDue = false;  // anything from the server proves the socket alive
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "ready") {
        state.subscribed = data.subscribed;
        state.wsTries = 0;
        offline.hidden = true;
        catchUp();  // after subscribing, so nothing falls between the two
      } else if (data.type === "message") onMessageEvent(data);
      else if (data.type === "typing" && data.conversation_id === state.conv) {
        typing.textContent = data.typing ? t("typing") : "";
        clearTimeout(state.typingTimer);
        if (data.typing) state.typingTimer = setTimeout(function () { typing.textContent = ""; },
          6000);
      }
    };
    ws.onclose = function (event) { dropped(ws, event.code, event.reason); };
  }

  function dropped(ws, code, reason) {
    if (state.ws !== ws) return;
    state.ws = null;
    state.subscribed = false;
    clearInterval(state.pingTimer);
    ws.onclose = ws.onmessage = null;
    try { ws.close(); } catch (e) { /* already closed */ }
    if (code === 4403) {  // refused: retrying cannot help (a new page session may)
      state.wsRefused = true;
      offline.hidden = true;
      return;
    }
    if (state.open) offline.hidden = false;
    var delay = Math.min(30000, 500 * Math.pow(2, state.wsTries++));
    if (code === 4429) delay = Math.max(delay, (Number(reason) || 30) * 1000);  // too many
    setTimeout(function () { if (!state.ws) connect(); }, delay);
  }

  function catchUp() {
    if (!state.conv) return;
    var conv = state.conv;
    api("conversations/" + conv + "/messages?after=" + state.lastId).then(function (data) {
      if (state.conv !== conv) return;
      addMessages(data.messages);
      if (data.has_more) catchUp();
    }, function (err) {
      if (err.status === 429) setTimeout(catchUp, err.retryAfter * 1000);
    });
  }

  function onMessageEvent(data) {
    if (data.conversation_id === state.conv && data.event === "created") {
      if (data.sender !== "you") {
        state.session.awaiting_reply = false;
        renderTail();
      }
      catchUp();
    } else if (data.conversation_id !== state.conv || !state.open) {
      if (data.sender !== "you") launch.classList.add("unread");
    }
    if (!state.open && data.sender !== "you") launch.classList.add("unread");
  }

  function sendTyping(on) {
    if (!state.conv) return;
    var now = Date.now();
    if (on && now - state.lastTyping < 2000) return;
    state.lastTyping = on ? now : 0;
    wsSend({ type: "typing", conversation_id: state.conv, typing: on });
  }

  function markRead() {
    if (!state.open || !state.conv || document.hidden || !state.lastId) return;
    var message = { type: "read", conversation_id: state.conv, up_to: state.lastId };
    if (!wsSend(message)) {
      api("read", { method: "POST", body: message }).catch(function () {});
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    if (state.session && state.session.has_history && !state.ws) connect();
    catchUp();
    markRead();
  });
  window.addEventListener("online", function () {
    if (state.session && state.session.has_history && !state.ws) connect();
  });

  // --- Open / close ---------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    panel.hidden = !open;
    launch.setAttribute("aria-expanded", String(open));
    if (!open) return;
    launch.classList.remove("unread");
    boot().then(function () {
      if (!state.session) return;
      if (state.conv) { catchUp(); markRead(); return; }
      return openLatest();
    });
  }
  launch.addEventListener("click", function () { setOpen(!state.open); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  backBtn.addEventListener("click", showList);
  newBtn.addEventListener("click", function () { showThread(null); });

  function mount() {
    document.body.appendChild(host);
    applyStrings();
    if (state.token) boot();  // a returning visitor: go live for replies that arrive
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
