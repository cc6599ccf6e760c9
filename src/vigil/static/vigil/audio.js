// Alarm sound on a floor screen, after IEC 60601-1-8 conventions: one tone pattern per priority,
// an escalated alarm louder and more often, audio pause of at most 2 minutes during which a new
// alarm of higher priority still sounds, and a screen that has lost its connection sounds its
// own (technical, medium) alarm. Browsers allow sound only after a tap: "Enable sound".
// State is exposed as window.vigilAudio so staff tools and tests can see what is playing.
(function () {
  "use strict";
  var RANK = { low: 1, medium: 2, high: 3 };
  var NAME = { 1: "low", 2: "medium", 3: "high" };
  var PAUSE_MS = 120000;
  // [frequency Hz, beeps, beep ms, gap ms, repeat every ms] per priority
  var PATTERN = {
    3: [880, 5, 120, 80, 2500],
    2: [660, 3, 180, 120, 6000],
    1: [523, 2, 200, 150, 15000],
  };
  var state = (window.vigilAudio = {
    enabled: false, playing: null, level: 0, paused: false, pausedUntil: 0,
    pausedRank: 0, beeps: 0, disconnected: false,
  });
  var ctx = null;
  var nextAt = 0;

  function loudest() {
    var rank = 0, level = 0;
    document.querySelectorAll('#alarms .alarm[data-sounding="1"]').forEach(function (el) {
      var r = RANK[el.dataset.priority] || 0;
      if (r > rank) rank = r;
      level = Math.max(level, parseInt(el.dataset.level || "0", 10));
    });
    if (state.disconnected && rank < 2) rank = 2;
    return { rank: rank, level: level };
  }

  function beep(freq, count, len, gap, gain) {
    if (!ctx) return;
    var t = ctx.currentTime;
    for (var i = 0; i < count; i++) {
      var osc = ctx.createOscillator();
      var amp = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      amp.gain.value = gain;
      osc.connect(amp).connect(ctx.destination);
      var start = t + i * (len + gap) / 1000;
      osc.start(start);
      osc.stop(start + len / 1000);
      state.beeps += 1;
    }
  }

  function update() {
    var now = Date.now();
    var top = loudest();
    state.paused = now < state.pausedUntil;
    var rank = top.rank;
    if (state.paused && rank <= state.pausedRank) rank = 0;
    state.level = top.level;
    state.playing = state.enabled && rank ? NAME[rank] : null;
    document.body.classList.toggle("sound-off", !state.enabled);
    var pauseButton = document.getElementById("pause-audio");
    if (pauseButton) pauseButton.setAttribute("aria-pressed", state.paused ? "true" : "false");
    if (!state.playing) { nextAt = 0; return; }
    if (now >= nextAt) {
      var p = PATTERN[rank];
      var escalated = top.level >= 1;
      beep(p[0], p[1], p[2], p[3], escalated ? 0.9 : 0.4);
      nextAt = now + (escalated ? p[4] / 2 : p[4]);
    }
  }

  function enable() {
    if (!ctx) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (AC) ctx = new AC();
    }
    if (ctx && ctx.state === "suspended") ctx.resume();
    state.enabled = true;
    var button = document.getElementById("enable-sound");
    if (button) button.hidden = true;
    update();
  }

  function pause() {
    state.pausedUntil = Date.now() + PAUSE_MS;
    state.pausedRank = loudest().rank;
    update();
  }

  window.vigilAudioControl = { enable: enable, pause: pause, update: update };
  document.addEventListener("click", function (event) {
    if (event.target.closest("#enable-sound")) enable();
    if (event.target.closest("#pause-audio")) pause();
  });
  document.body.addEventListener("htmx:afterSwap", update);
  document.body.addEventListener("vigil:connection", function (event) {
    state.disconnected = !event.detail.live;
    update();
  });
  setInterval(update, 250);

  // Keyboard: S sound on, P pause audio, A "seen" and C "I'm responding" on the top alarm.
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    if (key === "s") enable();
    else if (key === "p") pause();
    else if (key === "a" || key === "c") {
      var button = document.querySelector("#alarms .alarm button." + (key === "a" ? "ack" : "claim"));
      if (button) button.click();
    }
  });
})();
