/* Switchboard loader. Draws the chat launcher at once, inside its own shadow root, and loads
 * the WebAssembly widget only when the visitor shows intent (hover, focus, click) or has an
 * ongoing conversation. It must never break the host page: every failure ends in the
 * launcher's offline state, never in an uncaught error.
 * Colour and corner: data-* attributes, else the site's settings as the widget last reported
 * them ("look", remembered here so the next page draws the launcher right at once), else ours.
 * A site that hides the widget while nobody is online loads it at once to find out.
 * Styles are constructable stylesheets adopted by the shadow root, the panel's fetched as
 * text: a page's Content-Security-Policy governs <style>, <link> and style attributes
 * (style-src), not these, so a strict policy without 'unsafe-inline' needs no style-src for
 * us (README, "Content-Security-Policy"). Browsers without them (before Safari 16.4) get a
 * <style> and a <link>, carrying our tag's nonce for a page whose style-src allows it.
 * The __SB_*__ names are replaced by the build with content-hashed file names. */
(function () {
  var w = window, d = document, s = d.currentScript;
  if (!s || (w.Switchboard && w.Switchboard.v)) return;
  var ds = s.dataset, site = ds.site || "default", pre = "switchboard:" + site + ":";
  var base = new URL(".", s.src).href, assets = base + "assets/";
  var de = /^de/i.test(ds.locale || navigator.language || "");
  var pending = (w.Switchboard && w.Switchboard.q) || [], on = {}, handle, loading, isOpen;
  var cfg = { site: site, relay: (ds.relay || base).replace(/\/$/, ""), locale: ds.locale || null,
    greeting: ds.greeting || null, open: false };
  var look = (store("look") || "").split(" ");
  function col(c) { return /^#[0-9a-f]{3,8}$/i.test(c) && c; }

  function store(k, v) {
    try { return v === undefined ? localStorage.getItem(pre + k) : v === null ? localStorage.removeItem(pre + k) : localStorage.setItem(pre + k, v); } catch (e) { return null; }
  }
  // The note says what the panel says when its relay cannot be reached (i18n.rs, Unreachable).
  var t = de ? ["Chat öffnen", "Der Chat ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut."]
             : ["Open chat", "The chat can't be reached right now. Please try again later."];

  var host = d.createElement("switchboard-chat");
  var root = host.attachShadow({ mode: "open" });
  var adopt = root.adoptedStyleSheets && w.CSSStyleSheet, own = adopt ? new CSSStyleSheet() : d.createElement("style");
  function css(sheet, text) { sheet.replaceSync ? sheet.replaceSync(text) : sheet.textContent = text; }
  // The launcher's and the panel's colour (--sb-a, inherited by the panel) and corner.
  function paint() {
    var side = (/^(left|right)$/.test(ds.position) ? ds.position : look[1]) === "left" ? "left" : "right";
    pane.className = "sb-" + side;
    css(own, ".l,#p{--sb-a:" + (col(ds.accent) || col(look[0]) || "#c8102e") + "}" +
    ":host{all:initial!important;position:fixed!important;bottom:0!important;" + side + ":0!important;" +
    "width:0!important;height:0!important;z-index:2147483647!important;display:block!important}" +
    ".l{all:initial;position:fixed;bottom:20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;" +
    "background:var(--sb-a);cursor:pointer;display:flex;align-items:center;justify-content:center;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.3)}.l:focus-visible{outline:3px solid #1a73e8;outline-offset:3px}" +
    ".l.off{background:#777}.b{all:initial;position:absolute;top:-4px;" + side + ":-4px;min-width:20px;height:20px;" +
    "border-radius:10px;background:#1d1f23;color:#fff;box-shadow:0 0 0 2px #fff;font:bold 12px/20px sans-serif;text-align:center}" +
    ".n{all:initial;position:fixed;bottom:84px;" + side + ":20px;max-width:260px;padding:10px 12px;background:#fff;" +
    "color:#222;font:14px/1.4 sans-serif;border-radius:8px;box-shadow:0 4px 14px rgba(0,0,0,.3)}[hidden]{display:none!important}");
  }
  root.innerHTML =
    "<button class=l type=button data-testid=sb-launcher aria-expanded=false aria-label='" + t[0] + "'>" +
    "<svg width=28 height=28 viewBox='0 0 24 24' aria-hidden=true><path fill=#fff d='M4 4h16v12H7l-3 3z'/></svg>" +
    "<span class=b data-testid=sb-badge hidden></span></button>" +
    "<div class=n role=status data-testid=sb-offline-note hidden>" + t[1] + "</div><div id=p></div>";
  var btn = root.querySelector(".l"), badge = root.querySelector(".b"), note = root.querySelector(".n"), pane = root.lastChild;
  own.nonce = s.nonce;
  adopt ? root.adoptedStyleSheets = [own] : root.prepend(own);
  paint();
  btn.hidden = look[2] === "hide";

  function emit(name, detail) {
    if (name === "unread") { badge.textContent = detail; badge.hidden = !detail; }
    if (name === "open" || name === "close") { isOpen = name === "open"; btn.setAttribute("aria-expanded", isOpen); }
    if (name === "close") btn.focus();
    // "hidden" is absent until the relay has answered: the remembered look holds till then.
    if (name === "status") { btn.classList.toggle("off", !detail.online); if ("hidden" in detail) btn.hidden = detail.hidden; }
    if (name === "look") { store("look", detail); look = detail.split(" "); paint(); }
    if (name === "message") store("last", String(Date.now()));
    (on[name] || []).forEach(function (f) { try { f(detail); } catch (e) { setTimeout(function () { throw e; }); } });
  }
  // Not loadable (relay down, blocked, old browser): grey launcher; the note only once the
  // visitor actually asked for the chat. The next intent tries again.
  function offline() { btn.classList.add("off"); note.hidden = !cfg.open; loading = null; }

  function load() {
    if (!loading) {
      note.hidden = true;
      var href = assets + "__SB_CSS__";
      loading = (adopt ? fetch(href).then(function (r) {
        if (!r.ok) throw r;
        return r.text();
      }).then(function (text) {
        var panel = new CSSStyleSheet();
        css(panel, text);
        root.adoptedStyleSheets = [own, panel];
      }) : new Promise(function (ok, no) {
        var l = d.createElement("link");
        l.rel = "stylesheet"; l.href = href; l.nonce = s.nonce; l.onload = ok; l.onerror = no;
        root.appendChild(l);
      })).then(function () { return import(assets + "__SB_JS__"); }).then(function (m) {
        return m.default({ module_or_path: assets + "__SB_WASM__" }).then(function () {
          handle = m.mount(pane, JSON.stringify(cfg), emit);
          pending.splice(0).forEach(function (c) { api[c[0]].apply(null, c[1] || []); });
        });
      }).catch(offline);
    }
    return loading;
  }
  function call(name) {
    return function () {
      var args = [].slice.call(arguments);
      // Before the widget exists, open/close/toggle just decide how it starts.
      if (!handle && /^(open|close|toggle)$/.test(name)) { cfg.open = name === "toggle" ? !cfg.open : name === "open"; if (cfg.open) load(); return; }
      if (name === "identify") args = [JSON.stringify(args[0] || {})];
      if (name === "setLocale") cfg.locale = args[0];
      if (handle) handle[name === "setLocale" ? "set_locale" : name].apply(handle, args);
      else { pending.push([name, [].slice.call(arguments)]); load(); }
    };
  }
  var api = { v: 1, open: call("open"), close: call("close"), toggle: call("toggle"),
    identify: call("identify"), setLocale: call("setLocale"),
    on: function (n, f) { (on[n] = on[n] || []).push(f); },
    reset: function () { ["token", "outbox", "last"].forEach(function (k) { store(k, null); }); if (handle) handle.reset(); } };
  w.Switchboard = api;

  // The launcher opens while the widget is still loading: a visitor who clicks again because
  // nothing showed yet (a slow connection) wants the chat, not to cancel it. Once the panel
  // exists, the launcher toggles it.
  btn.addEventListener("click", function () { (handle ? api.toggle : api.open)(); });
  ["pointerenter", "focus", "touchstart"].forEach(function (e) { btn.addEventListener(e, load, { passive: true }); });
  (d.body || d.documentElement).appendChild(host);
  // A conversation in the last day or an open ticket: load now, so replies and the unread
  // badge arrive.
  if (btn.hidden || store("tickets") || Date.now() - (+store("last") || 0) < 864e5) load();
})();
