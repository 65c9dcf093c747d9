// Keyboard shortcuts: j/k next/previous conversation, r reply, n note, e resolve,
// a assign to me, ? help. Ignored while typing in a field.
export function installShortcuts({ openConversation }) {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t.closest && t.closest("input, textarea, select, [contenteditable]")) return;
    const pane = document.getElementById("conversation");
    const click = (selector) => {
      const button = pane && pane.querySelector(selector);
      if (button && !button.disabled) { e.preventDefault(); button.click(); }
    };
    switch (e.key) {
      case "j": case "k": {
        const links = [...document.querySelectorAll("[data-conversation-link]")];
        if (!links.length) return;
        const current = links.findIndex((a) => a.closest(".is-current"));
        let next = e.key === "j" ? current + 1 : current - 1;
        if (current === -1) next = 0;
        next = Math.max(0, Math.min(links.length - 1, next));
        e.preventDefault();
        openConversation(links[next]);
        break;
      }
      case "r": case "n": {
        if (!pane) return;
        e.preventDefault();
        const radio = pane.querySelector(`input[name=mode][value=${e.key === "r" ? "reply" : "note"}]`);
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        pane.querySelector("[data-reply-text]").focus();
        break;
      }
      case "e": click("[data-resolve] button"); break;
      case "a": click("[data-assign-me] button"); break;
      case "?": {
        e.preventDefault();
        document.getElementById("help-dialog").showModal();
        break;
      }
      default:
    }
  });
}
