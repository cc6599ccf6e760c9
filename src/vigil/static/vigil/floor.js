// The floor board's small amount of behaviour: connection state and ticking timers.
// The board itself arrives over Server-Sent Events (htmx sse extension); nothing here polls.
(function () {
  "use strict";
  var STALE_MS = 25000; // no board or heartbeat event for this long: treat as disconnected
  var live = document.getElementById("live");
  var badge = document.getElementById("connection");
  var lastMessage = 0;
  var connected = false;

  function show(state) {
    document.body.dispatchEvent(new CustomEvent("vigil:connection", { detail: { live: state === "live" } }));
    if (!badge || !live) return;
    badge.dataset.state = state;
    badge.textContent = state === "live" ? live.dataset.textLive : live.dataset.textLost;
    document.body.classList.toggle("disconnected", state !== "live");
  }

  document.body.addEventListener("htmx:sseOpen", function () {
    connected = true;
    lastMessage = Date.now();
    show("live");
  });
  document.body.addEventListener("htmx:sseError", function () {
    connected = false;
    show("lost");
  });
  // A refused alarm action (e.g. someone else already responding) is said, not swallowed.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 409 && xhr.responseText && xhr.getResponseHeader("Content-Type").indexOf("text/plain") === 0) {
      var toast = document.getElementById("toast");
      if (toast) { toast.textContent = xhr.responseText; toast.hidden = false; setTimeout(function () { toast.hidden = true; }, 6000); }
    }
  });
  document.body.addEventListener("htmx:sseMessage", function () {
    lastMessage = Date.now();
    if (connected) show("live");
  });

  // Live vitals arrive once a second as one small JSON event ({label: {spo2, resp, pulse,
  // spo2_path, resp_path, stale} | {none: true}}) and are written into the tiles in place;
  // the whole board is re-sent only when the floor or its alarms change.
  function showVitals(json) {
    var all;
    try { all = JSON.parse(json); } catch (e) { return; }
    Object.keys(all).forEach(function (label) {
      var box = document.querySelector('#tile-' + CSS.escape(label) + ' .vitals');
      if (!box) return;
      var v = all[label];
      if (v.none) { box.hidden = true; return; }
      ["spo2", "resp", "pulse"].forEach(function (name) {
        var b = box.querySelector("b." + name);
        if (b && b.textContent !== v[name]) b.textContent = v[name];
      });
      var spo2 = box.querySelector("path.spo2"), resp = box.querySelector("path.resp");
      if (spo2) spo2.setAttribute("d", v.spo2_path);
      if (resp) resp.setAttribute("d", v.resp_path);
      box.classList.toggle("stale", !!v.stale);
      box.hidden = false;
    });
  }
  // A personal session has ended (15 minutes without activity, or 12 hours): the stream says
  // so before it closes, and a reload takes the page to sign-in. Floor screens never get this.
  var signedOut = document.getElementById("signed-out");
  if (signedOut) {
    signedOut.addEventListener("htmx:sseBeforeMessage", function (event) {
      event.preventDefault();
      window.location.reload();
    });
  }
  var feed = document.getElementById("vitals-feed");
  if (feed) {
    feed.addEventListener("htmx:sseBeforeMessage", function (event) {
      event.preventDefault(); // nothing to swap: the tiles are updated here
      showVitals(event.detail.data);
      lastMessage = Date.now();
      if (connected) show("live");
    });
  }

  // The board the page came with is replaced by the stream's first board a moment after the
  // stream opens; from then on the board shown is the live one (end-to-end tests wait for
  // this mark before tapping, so a tap does not land in that swap).
  var slot = document.getElementById("board-slot");
  if (slot) {
    slot.addEventListener("htmx:sseMessage", function () { slot.dataset.synced = "live"; });
  }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".elapsed[data-since]").forEach(function (el) {
      var seconds = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      el.textContent = Math.floor(seconds / 60) + ":" + pad(seconds % 60);
    });
    if (connected && lastMessage && now - lastMessage > STALE_MS) {
      connected = false;
      show("lost");
    }
  }
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSwap", tick);
  tick();
})();
