// Relative times in the page's language ("in 95 minutes", "3 hours ago"), via Intl, so every
// console language gets correct wording and plurals without a JavaScript catalog.
const rtf = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "always" });

export function relative(ms) {
  const minutes = Math.round(ms / 60000);
  const abs = Math.abs(minutes);
  if (abs < 120) return rtf.format(minutes, "minute");
  const hours = Math.round(ms / 3600000);
  if (Math.abs(hours) < 48) return rtf.format(hours, "hour");
  return rtf.format(Math.round(ms / 86400000), "day");
}
