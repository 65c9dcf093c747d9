// The WhatsApp 24-hour window in the reply area: a countdown while it is open; once it closes,
// free-form replies lock (the server refuses them anyway) and the approved-template picker
// appears. Template sends go through the same fetch/JSON contract as console replies.
import { relative } from "./time.js";

const newClientId = () =>
  (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).slice(0, 64);

export function setupWindow(pane, { postForm, fetchHTML, onSent, t }) {
  if (pane.dataset.windowSeconds === undefined) return () => {};
  const info = pane.querySelector("[data-window-info]");
  const slot = pane.querySelector("[data-template-picker]");
  const closesAt = Date.now() + Number(pane.dataset.windowSeconds) * 1000;
  let loaded = false;

  const close = () => {
    pane.dataset.windowClosed = "1";
    info.classList.add("is-closed");
    info.textContent = t.windowClosed;
    pane.dispatchEvent(new CustomEvent("relay:window-closed"));
    if (slot && !loaded) { loaded = true; slot.hidden = false; loadPicker(); }
  };
  const tick = () => {
    const left = closesAt - Date.now();
    if (left <= 0) { close(); return false; }
    info.textContent = t.windowOpen.replace("%(when)s", relative(left));
    return true;
  };

  async function loadPicker() {
    try { slot.innerHTML = await fetchHTML(slot.dataset.url); } catch { loaded = false; return; }
    const form = slot.querySelector("[data-template-form]");
    if (!form) return;
    const choice = form.querySelector("[data-template-choice]");
    const error = form.querySelector("[data-template-error]");
    const clientId = form.querySelector("[data-client-id]");
    clientId.value = newClientId();
    const preview = (fields) => {
      const body = fields.querySelector("[data-template-body]");
      body.dataset.source ??= body.textContent;
      let text = body.dataset.source;
      fields.querySelectorAll("[data-template-var]").forEach((input) => {
        text = text.split(`{{${input.dataset.templateVar}}}`).join(input.value || "…");
      });
      body.textContent = text;
    };
    choice.addEventListener("change", () => {
      form.querySelectorAll("[data-template-fields]").forEach((fields) => {
        const on = fields.dataset.templateFields === choice.value;
        fields.hidden = !on;
        fields.disabled = !on;
        if (on) preview(fields);
      });
    });
    form.addEventListener("input", (e) => {
      const fields = e.target.closest("[data-template-fields]");
      if (fields) preview(fields);
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      const result = await postForm(form);
      if (!result.ok) { error.textContent = result.error || t.sendFailed; return; }
      clientId.value = newClientId();
      choice.value = "";
      choice.dispatchEvent(new Event("change"));
      onSent();
    });
  }

  if (!tick()) return () => {};
  const timer = setInterval(() => { if (!tick()) clearInterval(timer); }, 30000);
  return () => clearInterval(timer);
}
