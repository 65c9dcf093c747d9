// The reply box: reply/note mode, drafts per conversation (localStorage), character limit,
// `/shortcut` canned responses, Ctrl+Enter, and a client_id so a double submit is harmless.
const draftKey = (id) => `relay.console.draft.${document.body.dataset.userId}.${id}`;
const modeKey = (id) => `relay.console.mode.${id}`;
const newClientId = () =>
  (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).slice(0, 64);

export function setupReplyBox(pane, { postForm, onSent, sendPresence, t }) {
  const form = pane.querySelector("[data-reply-form]");
  if (!form) return;
  const id = pane.dataset.conversationId;
  const text = form.querySelector("[data-reply-text]");
  const count = form.querySelector("[data-char-count]");
  const error = form.querySelector("[data-reply-error]");
  const clientId = form.querySelector("[data-client-id]");
  const menu = form.querySelector("[data-canned-menu]");
  const canned = JSON.parse(document.getElementById("canned-data")?.textContent || "[]");
  const max = Number(pane.dataset.maxLength || 0);
  const send = form.querySelector("[data-send-button]");
  const files = form.querySelector("[data-reply-files]");
  const fileNames = form.querySelector("[data-reply-file-names]");
  const showFiles = () => {
    if (fileNames) fileNames.textContent = [...(files?.files || [])].map((f) => f.name).join(", ");
  };
  files?.addEventListener("change", showFiles);
  let typingSentAt = 0;
  let active = 0;

  clientId.value = sessionStorage.getItem(`relay.console.client.${id}`) || newClientId();
  sessionStorage.setItem(`relay.console.client.${id}`, clientId.value);
  text.value = localStorage.getItem(draftKey(id)) || "";

  const update = () => {
    count.textContent = String(text.value.length);
    form.classList.toggle("is-over", max > 0 && text.value.length > max);
    if (text.value) localStorage.setItem(draftKey(id), text.value);
    else localStorage.removeItem(draftKey(id));
  };
  // The mode is kept with the draft: a note must never turn into a reply behind the agent's back.
  const savedMode = sessionStorage.getItem(modeKey(id));
  if (savedMode) {
    const radio = form.querySelector(`input[name=mode][value="${savedMode === "note" ? "note" : "reply"}"]`);
    if (radio) radio.checked = true;
  }
  const setMode = () => {
    const mode = form.querySelector("input[name=mode]:checked").value;
    form.dataset.mode = mode;
    sessionStorage.setItem(modeKey(id), mode);
    send.textContent = mode === "note" ? t.addNote : t.send;
    text.dataset.replyPlaceholder ??= text.placeholder;
    text.placeholder = mode === "note" ? t.notePlaceholder : text.dataset.replyPlaceholder;
    // A closed WhatsApp window blocks replies, never notes.
    const closed = pane.dataset.windowClosed === "1"
      || (pane.dataset.windowSeconds !== undefined && Number(pane.dataset.windowSeconds) <= 0);
    if (closed) {
      text.disabled = mode === "reply";
      send.disabled = mode === "reply";
    }
  };

  const matches = () => {
    const m = /^\/([\p{L}\p{N}_-]*)$/u.exec(text.value.split("\n").pop());
    if (!m) return null;
    return canned.filter((c) => c.shortcut.startsWith(m[1]));
  };
  const renderMenu = () => {
    const found = matches();
    menu.replaceChildren();
    if (!found) { menu.hidden = true; text.setAttribute("aria-expanded", "false"); return; }
    if (!found.length) {
      const li = document.createElement("li");
      li.textContent = t.noCanned;
      li.className = "muted";
      menu.append(li);
    }
    active = Math.min(active, Math.max(0, found.length - 1));
    found.forEach((c, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `canned-${i}`;
      li.setAttribute("aria-selected", String(i === active));
      const code = document.createElement("code");
      code.textContent = `/${c.shortcut}`;
      const span = document.createElement("span");
      span.textContent = c.text;
      li.append(code, " ", span);
      li.addEventListener("mousedown", (e) => { e.preventDefault(); insert(c); });
      menu.append(li);
    });
    menu.hidden = false;
    text.setAttribute("aria-expanded", "true");
    text.setAttribute("aria-activedescendant", found.length ? `canned-${active}` : "");
  };
  const insert = (c) => {
    const lines = text.value.split("\n");
    lines[lines.length - 1] = c.text;
    text.value = lines.join("\n");
    menu.hidden = true;
    update();
    text.focus();
  };

  text.addEventListener("input", () => {
    update();
    renderMenu();
    const now = Date.now();
    if (now - typingSentAt > 3000) {
      typingSentAt = now;
      sendPresence("typing");
    }
  });
  text.addEventListener("keydown", (e) => {
    const found = menu.hidden ? null : matches();
    if (found && found.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : -1) + found.length) % found.length;
        renderMenu();
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); insert(found[active]); return; }
    }
    if (e.key === "Escape") { menu.hidden = true; text.blur(); }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  form.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", setMode));
  pane.addEventListener("relay:window-closed", setMode);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (send.disabled) return;
    error.textContent = "";
    send.disabled = true;
    try {
      const result = await postForm(form);
      if (result.ok) {
        text.value = "";
        if (files) { files.value = ""; showFiles(); }
        update();
        clientId.value = newClientId();
        sessionStorage.setItem(`relay.console.client.${id}`, clientId.value);
        onSent();
      } else {
        error.textContent = result.error || t.sendFailed;
      }
    } catch (err) {
      error.textContent = t.sendFailed; // same client_id on retry: never two messages
    } finally {
      send.disabled = false;
      setMode(); // a window that closed meanwhile keeps replies locked
    }
  });
  setMode();
  update();
}
