// Injected by tests/carbon/test_report_screens.py into a copy of the report (the report itself runs no
// script): measures the layout as Chromium draws it and writes the result as JSON into a pre element (id layout-probe).
(function () {
  const de = document.documentElement, vw = de.clientWidth;
  const inScroller = (el) => !!(el.parentElement && el.parentElement.closest(".wide"));
  const outside = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (inScroller(el) || (el.closest("svg") && el.tagName.toLowerCase() !== "svg")) continue;
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) outside.push(el.tagName + (el.id ? "#" + el.id : "") + " right " + Math.round(r.right));
  }
  const scrolling = Array.from(document.querySelectorAll(".wide"))
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => el.textContent.trim().slice(0, 60));
  const wrapped = [];
  for (const el of document.querySelectorAll(".id, .n, .v")) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    if (tops.size > 1) wrapped.push(el.textContent.trim());
  }
  const box = (id) => {
    const el = document.getElementById(id);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, text: el.textContent.trim() };
  };
  const ids = ["period", "status", "brief-sinks", "brief-sources", "brief-net", "brief-sinks-sentence",
               "brief-sources-sentence", "brief-net-sentence"];
  const out = {
    scrollWidth: de.scrollWidth, clientWidth: vw, innerHeight: window.innerHeight, lang: de.lang,
    outside, scrolling, wrapped, boxes: Object.fromEntries(ids.map((k) => [k, box(k)])),
    text: document.body.innerText,
  };
  const pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
