// Desktop notifications and window focus under a spec's control. Headless Chromium reports
// every page as focused, so `document.hasFocus()` is taken over by an init script and set
// with `setFocus`; `window.Notification` is wrapped to record each notification shown.

const INIT = () => {
  window.__notes = [];
  const Real = window.Notification;
  if (Real) {
    function Recording(title, opts) {
      window.__notes.push({ title: String(title), body: (opts && opts.body) || "" });
      try { return new Real(title, opts); } catch { return Object.create(Real.prototype); }
    }
    Object.defineProperty(Recording, "permission", { get: () => Real.permission });
    Recording.requestPermission = (...a) => Real.requestPermission(...a);
    Recording.prototype = Real.prototype;
    window.Notification = Recording;
  }
  // Kept in sessionStorage so a reload keeps the state the test set.
  window.__focused = sessionStorage.getItem("__focused") !== "0";
  Document.prototype.hasFocus = function () { return window.__focused; };
};

/** Grants the notification permission for `origin` and installs the recorders. */
export async function recordNotifications(ctx, origin) {
  await ctx.grantPermissions(["notifications"], { origin });
  await ctx.addInitScript(INIT);
}

/** The notifications the page has shown so far: [{title, body}]. */
export function shownNotifications(page) {
  return page.evaluate(() => window.__notes.slice());
}

/** Makes the page (un)focused as far as it can tell; focusing fires `focus` like a browser. */
export function setFocus(page, on) {
  return page.evaluate((on) => {
    window.__focused = on;
    sessionStorage.setItem("__focused", on ? "1" : "0");
    window.dispatchEvent(new Event(on ? "focus" : "blur"));
  }, on);
}
