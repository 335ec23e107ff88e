// A tiny static server standing in for a customer's web server when the relay is
// unreachable: it serves examples/ and the real loader (widget.js), and /assets/* as
// `assetsMode` says: "500", "reset" (the connection is dropped), or "serve" (the real files:
// the widget loads, but there is no relay behind this server for its WebSocket).
// `pages` adds host pages of the test's own: `{ "/path": { html, headers } }`, served with
// exactly those response headers (e.g. a real Content-Security-Policy).
import http from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ASSETS, EXAMPLES } from "./env.mjs";

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".css": "text/css", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml" };

export function startStaticServer({ assetsMode = "500", pages = {} } = {}) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    try {
      const page = pages[url.pathname];
      if (page) {
        res.writeHead(200, { "content-type": TYPES[".html"], "cache-control": "no-store", ...page.headers });
        return res.end(page.html);
      }
      if (url.pathname === "/widget.js") {
        res.writeHead(200, { "content-type": TYPES[".js"], "cache-control": "no-store" });
        return res.end(await readFile(path.join(ASSETS, "widget.js")));
      }
      if (url.pathname.startsWith("/assets/")) {
        if (assetsMode === "reset") return req.socket.destroy();
        if (assetsMode === "serve") {
          const name = path.basename(url.pathname);
          const body = await readFile(path.join(ASSETS, name));
          const type = name.endsWith(".wasm") ? "application/wasm" : TYPES[path.extname(name)];
          res.writeHead(200, { "content-type": type || "application/octet-stream" });
          return res.end(body);
        }
        res.writeHead(500, { "content-type": "text/plain" });
        return res.end("relay unavailable");
      }
      let file = path.normalize(path.join(EXAMPLES, decodeURIComponent(url.pathname)));
      if (!file.startsWith(EXAMPLES)) { res.writeHead(403); return res.end(); }
      if ((await stat(file).catch(() => null))?.isDirectory()) file = path.join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}
