// What a visitor can see and use of the widget, measured in the page: whether an element is
// clipped (by the viewport or a scroll box on its way up, across the shadow root), how many
// lines a text takes, pixel contrast against the page, and axe-core on the whole document.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { tid } from "./widget.mjs";
import { startStaticServer } from "./static-server.mjs";

/**
 * A plain white host page, `<server>/plain/` (German) or `/plain/en/`, on a static server of
 * its own (a localhost origin the demo site accepts) embedding the relay's widget.js: lang,
 * title, landmark and heading, so axe judges the widget only. Returns `{url, close}`.
 */
export function startPlainPages(relayUrl) {
  const page = (lang) => ({ html: `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>Weiße Seite</title>` +
    `<style>html,body{margin:0;background:#fff;color:#111;font:16px sans-serif}</style></head>` +
    `<body><main><h1>Weiße Seite</h1><p>Ein schlichter Text.</p></main>` +
    `<script src="${relayUrl}/widget.js" data-site="demo" data-locale="${lang}" async></script></body></html>` });
  return startStaticServer({ pages: { "/plain/": page("de"), "/plain/en/": page("en") } });
}

/**
 * Where `locator`'s element is cut off: `viewport` if it is not wholly inside the window, and
 * every ancestor (through shadow roots) whose overflow clips and whose box does not contain it.
 */
export function clipping(locator) {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const inside = (o) => r.top >= o.top - 0.5 && r.left >= o.left - 0.5 &&
      r.bottom <= o.bottom + 0.5 && r.right <= o.right + 0.5;
    const box = (b) => ({ top: Math.round(b.top), bottom: Math.round(b.bottom), left: Math.round(b.left), right: Math.round(b.right) });
    const cut = [];
    if (!inside({ top: 0, left: 0, bottom: innerHeight, right: innerWidth })) {
      cut.push({ by: "viewport", box: { top: 0, bottom: innerHeight, left: 0, right: innerWidth } });
    }
    for (let n = el.parentNode || el.host; n; n = n.parentNode || n.host) {
      if (n.nodeType !== 1) continue;
      const s = getComputedStyle(n);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const b = n.getBoundingClientRect();
      const content = { top: b.top + n.clientTop, left: b.left + n.clientLeft,
        bottom: b.top + n.clientTop + n.clientHeight, right: b.left + n.clientLeft + n.clientWidth };
      if (!inside(content)) {
        cut.push({ by: `${n.tagName.toLowerCase()}.${[...n.classList].join(".")}`, box: box(content),
          scrollHeight: n.scrollHeight, clientHeight: n.clientHeight });
      }
    }
    return { rect: box(r), cut };
  });
}

/** How many lines the text inside `locator`'s element takes (distinct line boxes). */
export function textLines(locator) {
  return locator.evaluate((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = [];
    for (const rect of range.getClientRects()) {
      if (rect.width < 1 || rect.height < 1) continue;
      if (!tops.some((t) => Math.abs(t - rect.top) < rect.height / 2)) tops.push(rect.top);
    }
    return tops.length;
  });
}

/** WCAG contrast ratio of two `[r, g, b]` colours (0–255). */
export function contrast(a, b) {
  const lum = ([r, g, bl]) => {
    const c = [r, g, bl].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * The pixels of a screenshot of `clip` (page coordinates), as rows of `[r, g, b]`: what is
 * really drawn, shadows and anti-aliasing included. Decoded by the page's own canvas.
 */
export async function pixels(page, clip) {
  const png = await page.screenshot({ clip });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const rows = [];
    for (let y = 0; y < c.height; y++) {
      const row = [];
      for (let x = 0; x < c.width; x++) row.push([d[(y * c.width + x) * 4], d[(y * c.width + x) * 4 + 1], d[(y * c.width + x) * 4 + 2]]);
      rows.push(row);
    }
    return rows;
  }, png.toString("base64"));
}

/** The size of `locator`'s element in CSS pixels. */
export async function size(locator) {
  const b = await locator.boundingBox();
  return { width: Math.round(b.width * 10) / 10, height: Math.round(b.height * 10) / 10 };
}

/** Computed font size (px) of every visible text field in the panel, by test id or tag. */
export function fieldFontSizes(page) {
  return tid(page, "sb-panel").locator("input, textarea").evaluateAll((els) => els
    .filter((e) => e.getClientRects().length > 0)
    .map((e) => ({ field: e.getAttribute("data-testid") || e.tagName.toLowerCase(),
      fontSize: parseFloat(getComputedStyle(e).fontSize) })));
}

const require = createRequire(import.meta.url);
let axeSource;

/**
 * axe-core (from node_modules) on the whole document, shadow roots included; returns the
 * serious and critical violations as `{id, impact, help, nodes}` (selector and summary).
 */
export async function seriousAxe(page) {
  axeSource ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.waitForTimeout(300); // the panel's 160 ms fade-in: judge the settled colours
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ content: axeSource });
  }
  const found = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ["violations"] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${JSON.stringify(n.target)} ${(n.failureSummary || "").split("\n").slice(1).join(" ")}`.trim()) }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** axe in the light and the dark colour scheme; returns `{light, dark}` violations. */
export async function seriousAxeBothSchemes(page) {
  await page.emulateMedia({ colorScheme: "light" });
  const light = await seriousAxe(page);
  await page.emulateMedia({ colorScheme: "dark" });
  const dark = await seriousAxe(page);
  await page.emulateMedia({ colorScheme: "light" });
  return { light, dark };
}
