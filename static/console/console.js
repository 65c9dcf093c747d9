// Agent console: progressive enhancement over server-rendered pages. Live events trigger
// refetches of small HTML fragments (list, navigation, thread), so the server stays the one
// place that renders and checks permissions.
import { installShortcuts } from "./keyboard.js";
import { setupReplyBox } from "./reply.js";
import { ConsoleSocket } from "./realtime.js";
import { startSlaClock, tickSla } from "./sla.js";
import { setupWindow } from "./window.js";

const t = JSON.parse(document.getElementById("console-i18n").textContent);
const FETCH = { "X-Relay-Fetch": "1" };
const PRESENCE_TTL = { viewing: 60000, typing: 6000 };
const presence = new Map(); // user_id -> {name, state, until}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

async function fetchHTML(url) {
  const response = await fetch(url, { headers: FETCH, credentials: "same-origin" });
  // Fragments never redirect; a redirect means the session ended (to the sign-in page).
  if (response.redirected) { location.reload(); throw new Error("signed out"); }
  if (!response.ok) throw new Error(`${response.status}`);
  return response.text();
}

async function postForm(form) {
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: FETCH,
    credentials: "same-origin",
  });
  try {
    return await response.json();
  } catch {
    return { ok: false, error: `${response.status}` };
  }
}

const pane = () => document.getElementById("conversation");
const currentId = () => Number(pane()?.dataset.conversationId || 0);

function listUrl() {
  const params = new URLSearchParams(location.search);
  params.set("fragment", "list");
  return `/?${params}`;
}

const refreshList = debounce(async () => {
  const container = document.getElementById("list-container");
  if (!container) return;
  try {
    container.innerHTML = await fetchHTML(listUrl());
    markCurrent();
    tickSla(container);
  } catch { /* next event or reconnect refreshes again */ }
}, 150);

const refreshNav = debounce(async () => {
  const nav = document.getElementById("nav");
  if (!nav) return;
  const params = new URLSearchParams(location.search);
  try { nav.innerHTML = await fetchHTML(`${nav.dataset.navUrl}?${params}`); } catch { /* idem */ }
}, 300);

const refreshThread = debounce(async () => {
  const p = pane();
  if (!p) return;
  const thread = p.querySelector("#thread");
  const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
  // Only a conversation the agent can actually see is marked read.
  const read = document.visibilityState === "visible" ? "&read=1" : "";
  try {
    thread.innerHTML = await fetchHTML(p.dataset.threadUrl + read);
    if (atBottom) thread.scrollTop = thread.scrollHeight;
  } catch { /* idem */ }
}, 100);

// The header and controls alone, so the reply box (draft, mode, caret) is never disturbed.
const refreshControls = debounce(async () => {
  const head = document.getElementById("conv-head");
  if (!head) return;
  const focused = document.activeElement?.id;
  try {
    head.innerHTML = await fetchHTML(head.dataset.controlsUrl);
  } catch { return; }
  initControls(head);
  tickSla(head);
  renderPresence();
  if (focused) document.getElementById(focused)?.focus();
}, 100);

function markCurrent() {
  const id = currentId();
  document.querySelectorAll(".conv-item").forEach((li) => {
    const current = Number(li.dataset.conversationId) === id;
    li.classList.toggle("is-current", current);
    const a = li.querySelector("a");
    if (current) { a.setAttribute("aria-current", "true"); li.classList.remove("is-unread"); }
    else a.removeAttribute("aria-current");
  });
}

async function openConversation(link, { push = true } = {}) {
  const url = new URL(link.href, location.href);
  const params = new URLSearchParams(url.search);
  params.set("fragment", "pane");
  try {
    const html = await fetchHTML(`${url.pathname}?${params}`);
    if (push) history.pushState({}, "", url.pathname + url.search);
    document.getElementById("pane").innerHTML = html;
    initPane();
    link.focus();
    refreshNav();
  } catch {
    location.href = link.href;
  }
}

function renderPresence() {
  const el = pane()?.querySelector("[data-presence]");
  if (!el) return;
  const now = Date.now();
  const viewing = [];
  const typing = [];
  let customerTyping = false;
  for (const [key, p] of presence) {
    if (p.until < now) { presence.delete(key); continue; }
    if (p.customer) { customerTyping ||= p.state === "typing"; continue; }
    (p.state === "typing" ? typing : viewing).push(p.name);
  }
  const parts = [];
  if (customerTyping) parts.push(t.customerTyping);
  if (typing.length) parts.push(t.typing.replace("%(names)s", typing.join(", ")));
  if (viewing.length) parts.push(t.viewing.replace("%(names)s", viewing.join(", ")));
  el.textContent = parts.join(" · ");
  // Only another agent typing is a collision; the customer typing is good news.
  el.classList.toggle("is-collision", typing.length > 0);
}

let socket = null;
const sendPresence = (state) => {
  const id = currentId();
  if (id && socket) socket.send({ type: "presence", conversation_id: id, state });
};

let stopWindow = () => {};

function initPane() {
  const p = pane();
  presence.clear();
  renderPresence();
  markCurrent();
  if (!p) { if (socket) socket.send({ type: "presence", conversation_id: 0, state: "left" }); return; }
  const thread = p.querySelector("#thread");
  thread.scrollTop = thread.scrollHeight;
  initControls(p.querySelector("#conv-head"));
  setupReplyBox(p, { postForm, onSent: refreshThread, sendPresence, t });
  stopWindow();
  stopWindow = setupWindow(p, { postForm, fetchHTML, onSent: refreshThread, t });
  tickSla(p);
  sendPresence("viewing");
}

function initControls(head) {
  if (!head) return;
  enhanceForms(head);
  // A label checkbox sends only its own change, never the whole set (which could undo a
  // label another agent added a moment ago).
  head.querySelectorAll("[data-label-toggle]").forEach((box) => {
    box.addEventListener("change", async () => {
      const body = new FormData();
      body.append("csrfmiddlewaretoken", box.form.querySelector("[name=csrfmiddlewaretoken]").value);
      body.append("toggle", box.value);
      body.append("on", box.checked ? "1" : "0");
      const response = await fetch(box.form.action, {
        method: "POST", body, headers: FETCH, credentials: "same-origin",
      });
      if (!response.ok) alert((await response.json().catch(() => ({}))).error || response.status);
      refreshControls();
      refreshList();
    });
  });
  const status = head.querySelector("[data-status-select]");
  status?.addEventListener("change", () => {
    head.querySelector("[data-snooze-field]").hidden = status.value !== "snoozed";
  });
}

function enhanceForms(root) {
  root.querySelectorAll("form[data-fetch-form]").forEach((form) => {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const result = await postForm(form);
      if (!result.ok) {
        alert(result.error); // a clear reason from the service (DomainError)
      }
      if (form.closest("#conv-head")) refreshControls();
      if (result.availability) setAvailability(result.availability);
      refreshList();
    });
  });
  root.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form.requestSubmit());
  });
}

// A live notification: its text (rendered by the server in the agent's language) appears
// for a while in a polite live region; the navigation's badge keeps the count.
const showToast = debounce(async () => {
  const region = document.getElementById("toasts");
  if (!region) return;
  let html = "";
  try { html = await fetchHTML(region.dataset.toastUrl); } catch { return; }
  const holder = document.createElement("div");
  holder.innerHTML = html;
  const toast = holder.firstElementChild;
  if (!toast) return;
  region.append(toast);
  while (region.children.length > 3) region.firstElementChild.remove();
  setTimeout(() => toast.remove(), 10000);
}, 200);

function setAvailability(state) {
  const dot = document.querySelector("[data-availability-dot]");
  if (dot) dot.dataset.state = state;
  const select = document.getElementById("availability-select");
  if (select && (state === "online" || state === "away")) select.value = state;
}

function setConnection(state) {
  const el = document.querySelector("[data-connection]");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = t[state] || state;
}

function handleEvent(event) {
  const id = currentId();
  switch (event.type) {
    case "message.created":
    case "message.updated":
      if (event.conversation_id === id) {
        refreshThread();
        // A customer's message starts the reply clock the header shows.
        if (event.type === "message.created" && event.direction === "inbound") refreshControls();
      }
      if (event.type === "message.created") { refreshList(); refreshNav(); }
      if (event.type === "message.created" && event.direction === "inbound" && event.conversation_id !== id) {
        document.getElementById("live-region").textContent =
          t.newMessage.replace("%(id)s", event.conversation_id);
      }
      break;
    case "conversation.created":
    case "conversation.updated":
      refreshList();
      refreshNav();
      if (event.conversation_id === id) { refreshControls(); refreshThread(); }
      break;
    case "agent.availability":
      setAvailability(event.availability);
      break;
    case "sla.warning":
    case "sla.breached":
      refreshList();
      if (event.conversation_id === id) { refreshControls(); refreshThread(); }
      break;
    case "notification.created":
      refreshNav();
      showToast();
      break;
    default:
      if (event.type && event.type.startsWith("notification.")) refreshNav();
  }
}

function handlePresence(event) {
  if (event.conversation_id !== currentId()) return;
  const customer = event.role === "customer";
  const key = customer ? `customer-${event.customer_id}` : `agent-${event.user_id}`;
  if (event.state === "left") presence.delete(key);
  else presence.set(key, {
    name: event.name, customer, state: event.state, until: Date.now() + PRESENCE_TTL[event.state],
  });
  renderPresence();
  if (customer) return;
  // Answer a newcomer so they see us too (viewing, at most every few seconds).
  if (event.state === "viewing" && !handlePresence.recent) {
    handlePresence.recent = true;
    setTimeout(() => { handlePresence.recent = false; }, 5000);
    sendPresence("viewing");
  }
}

document.addEventListener("click", (e) => {
  const link = e.target.closest && e.target.closest("[data-conversation-link]");
  if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  openConversation(link);
});
window.addEventListener("popstate", () => location.reload());
document.querySelectorAll("[data-autosubmit-plain]").forEach((el) => {
  el.addEventListener("change", () => {
    const next = el.form.querySelector("input[name=next]");
    if (next) next.value = location.pathname + location.search; // the pane may have changed
    el.form.submit();
  });
});
document.querySelector("[data-help-open]")?.addEventListener("click", () => {
  document.getElementById("help-dialog").showModal();
});

enhanceForms(document.querySelector(".topbar"));
installShortcuts({ openConversation });
socket = new ConsoleSocket({
  onEvent: handleEvent,
  onPresence: handlePresence,
  onStatus: setConnection,
  onReconnected: () => { refreshList(); refreshNav(); refreshThread(); sendPresence("viewing"); },
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") { refreshThread(); refreshNav(); }
});
initPane();
startSlaClock();
setInterval(() => { renderPresence(); sendPresence("viewing"); }, 30000);
setInterval(() => socket.send({ type: "ping" }), 25000);
window.relayConsole = { socket, refreshList, refreshThread };
