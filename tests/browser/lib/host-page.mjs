// Host pages of the tests' own, for the static server's `pages`: a plain customer page that
// embeds the widget with a given script tag, under a given Content-Security-Policy, and a
// recorder for the policy violations the browser reports on it.
import net from "node:net";

/** The nonce the strict-CSP pages give their own inline script and style (and the tag). */
export const NONCE = "c3dpdGNoYm9hcmQtdGVzdA";

/**
 * A customer page with a header, long content (so it scrolls), a footer, its own inline
 * style and script (both with `nonce`, so a policy without 'unsafe-inline' keeps them), and
 * the widget's tag: `src` and `data-*` from `widget`, the nonce on the tag unless
 * `widget.nonce === false`.
 */
export function hostPage({ widget, lang = "de" }) {
  const { src, nonce = true, ...data } = widget;
  const attrs = Object.entries(data).map(([k, v]) => ` data-${k}="${v}"`).join("");
  const paras = Array.from({ length: 30 }, (_, i) =>
    `<p>Abschnitt ${i + 1}: Feuerlöscher, Wartung und Schulung aus einer Hand.</p>`).join("\n");
  return `<!doctype html>
<html lang="${lang}">
<head>
  <meta charset="utf-8">
  <title>Acme Brandschutz – strenge CSP</title>
  <style nonce="${NONCE}">
    body { margin: 0; font-family: sans-serif; }
    header, footer { padding: 1rem; background: #2b2b2b; color: #eee; }
    main { padding: 1rem; }
  </style>
</head>
<body>
  <header><button id="warenkorb-knopf" type="button">Warenkorb: <span id="warenkorb-anzahl">0</span></button></header>
  <main>${paras}</main>
  <footer id="fuss">© Acme Brandschutz GmbH</footer>
  <script nonce="${NONCE}">
    document.getElementById("warenkorb-knopf").addEventListener("click", function () {
      var n = document.getElementById("warenkorb-anzahl");
      n.textContent = String(Number(n.textContent) + 1);
    });
  </script>
  <script src="${src}"${nonce ? ` nonce="${NONCE}"` : ""}${attrs} async></script>
</body>
</html>`;
}

/** A `Content-Security-Policy` header value from `{ directive: "sources" }`. */
export function policy(directives) {
  return Object.entries(directives).map(([d, v]) => `${d} ${v}`.trim()).join("; ");
}

/**
 * Records every `securitypolicyviolation` on the page (also those from inside shadow roots,
 * whose events are composed) into `window.__violations`; read them with `violations(page)`.
 */
export async function recordViolations(page) {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI,
        sample: e.sample });
    }, true);
  });
}

export const violations = (page) => page.evaluate(() => window.__violations || []);

/** A TCP port nothing listens on right now (for a relay started later, or never). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
