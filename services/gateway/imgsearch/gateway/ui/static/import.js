// Import session page: follows GET /api/v1/sessions/{id} about once a second and redraws the numbers the
// server rendered (progress bars, counts, rates, ETA, state, which of Pause/Resume/Cancel apply).
// Progressive enhancement only: without this file the page refreshes itself (<noscript> meta refresh).
// The formatting rules match ui/import_view.py.
"use strict";

(function () {
  var root = document.getElementById("session");
  if (!root || !window.fetch) { return; }
  var api = root.getAttribute("data-api");
  var renderedFailed = Number(root.getAttribute("data-failed") || "0");
  var INTERVAL_MS = 1000;
  var MAX_INTERVAL_MS = 30000;
  var ACTIONS = {
    pause: ["discovering", "running"],
    resume: ["paused"],
    cancel: ["discovering", "running", "paused"]
  };
  var STAGES = ["ingested", "embedded", "faces_done", "failed"];
  var lastState = text("session-state");
  var delay = INTERVAL_MS;

  function text(id) {
    var el = document.getElementById(id);
    return el ? el.textContent.trim() : "";
  }
  function setText(el, value) {
    if (el && el.textContent !== value) { el.textContent = value; }
  }
  function setId(id, value) { setText(document.getElementById(id), value); }
  function whole(n) { return Math.max(0, Math.min(100, Math.floor(Number(n) || 0))); }
  function count(n) { return (Number(n) || 0).toLocaleString("en-US"); }
  function rate(perSecond) {
    var v = Number(perSecond) || 0;
    if (v <= 0) { return "—"; }
    return v < 100 ? v.toFixed(1) + "/s" : Math.round(v).toLocaleString("en-US") + "/s";
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (h) { return h + "h" + two(m) + "m"; }
    if (m) { return m + "m" + two(r) + "s"; }
    return r + "s";
  }
  function finished(session) {
    var p = session.progress || {};
    return session.state === "cancelled" || (session.state === "done" && Number(p.percent) >= 100);
  }
  function setBar(bar, value, max) {
    if (!bar) { return; }
    if (max !== undefined) { bar.setAttribute("max", String(Math.max(1, max))); }
    bar.setAttribute("value", String(value));
    bar.textContent = value + (max === undefined ? "%" : "");
  }
  function announce(message) {
    setId("session-announce", message);
  }

  function draw(session) {
    var p = session.progress || {};
    var rates = p.rates || {};
    var percent = whole(p.percent);
    setBar(document.getElementById("overall-progress"), percent);
    setId("overall-percent", percent + "%");
    setId("session-files", count(p.discovered));
    setId("session-eta", finished(session) ? "—" : duration(p.eta_s));
    var discovering = document.getElementById("session-discovering");
    if (discovering) { discovering.hidden = !!p.discovery_complete; }
    setId("session-state", session.state);

    STAGES.forEach(function (key) {
      var row = root.querySelector('[data-stage="' + key + '"]');
      if (!row) { return; }
      setText(row.querySelector('[data-field="count"]'), count(p[key]));
      setText(row.querySelector('[data-field="total"]'), count(p.discovered));
      setText(row.querySelector('[data-field="rate"]'), rate(rates[key]));
      setBar(row.querySelector("progress"), Number(p[key]) || 0, Number(p.discovered) || 0);
    });

    var byName = {};
    (session.subdirectory_progress || []).forEach(function (entry) { byName[entry.subdirectory] = entry.progress; });
    Array.prototype.forEach.call(root.querySelectorAll("tr[data-subdirectory]"), function (row) {
      var sub = byName[row.getAttribute("data-subdirectory")];
      if (!sub) { return; }
      var subPercent = whole(sub.percent);
      setBar(row.querySelector("progress"), subPercent);
      setText(row.querySelector('[data-field="percent"]'), subPercent + "%");
      setText(row.querySelector('[data-field="discovered"]'), count(sub.discovered));
      setText(row.querySelector('[data-field="failed"]'), count(sub.failed));
    });

    Object.keys(ACTIONS).forEach(function (action) {
      var form = root.querySelector('form[data-action="' + action + '"]');
      if (form) { form.hidden = ACTIONS[action].indexOf(session.state) < 0; }
    });
    var stale = document.getElementById("failures-stale");
    if (stale) { stale.hidden = (Number(p.failed) || 0) <= renderedFailed; }

    if (finished(session)) {
      announce(session.state === "cancelled"
        ? "Import cancelled at " + percent + "%."
        : "Import finished: " + count(p.discovered) + " files, " + count(p.failed) + " failed.");
    } else if (session.state !== lastState) {
      announce("Import is now " + session.state + ".");
    }
    lastState = session.state;
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.status === 404 || response.status === 401 || response.status === 403 ||
            (response.ok && type.indexOf("json") < 0)) {
          return null; // gone, or signed out (redirected to the login page): stop following
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (session) {
        if (!session) { return; }
        delay = INTERVAL_MS;
        draw(session);
        if (!finished(session)) { window.setTimeout(poll, delay); }
      })
      .catch(function () {
        delay = Math.min(MAX_INTERVAL_MS, delay * 2); // the gateway is busy or away: ask less often
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
