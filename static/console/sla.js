// Live SLA countdowns: every element with data-sla-due shows "<target> · in 40 minutes" and
// turns to warning or breached on time, without a reload (the breach job records the rest).
import { relative } from "./time.js";

export function tickSla(root = document) {
  const now = Date.now();
  root.querySelectorAll("[data-sla-due]").forEach((el) => {
    const due = Date.parse(el.dataset.slaDue);
    const warn = el.dataset.slaWarn ? Date.parse(el.dataset.slaWarn) : null;
    if (Number.isNaN(due)) return;
    let state = "ok";
    if (now >= due || el.dataset.slaBreached === "1") state = "breached";
    else if (warn !== null && now >= warn) state = "warning";
    el.dataset.state = state;
    const label = state === "breached" ? el.dataset.labelBreached : el.dataset.labelDue;
    el.querySelector("[data-sla-text]").textContent = `${label} ${relative(due - now)}`;
  });
}

export function startSlaClock() {
  tickSla();
  setInterval(() => tickSla(), 15000);
}
