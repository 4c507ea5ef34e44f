/* The interface page: heartbeats, idle countdown, Stop, and the close beacon. */
(function () {
  "use strict";
  const root = document.getElementById("sm-interface");
  const scriptId = root.dataset.scriptId;
  const executionId = root.dataset.executionId;
  const base = "/api/scripts/" + scriptId;
  const status = root.querySelector("[data-role=status]");
  const countdown = root.querySelector("[data-role=countdown]");
  const countdownText = root.querySelector("[data-role=countdown-text]");
  const ended = root.querySelector("[data-role=ended]");
  const warning = Number(root.dataset.idleWarning);
  let active = true;
  let stopped = false;

  ["mousemove", "keydown", "pointerdown", "wheel", "touchstart"].forEach(function (name) {
    window.addEventListener(name, function () { active = true; }, { passive: true });
  });
  window.addEventListener("focus", function () { active = true; });

  function show(result) {
    status.textContent = result.status_label;
    if (result.status !== "running" && result.status !== "starting") {
      stopped = true;
      countdown.classList.add("d-none");
      ended.textContent = interpolate(gettext("The script has stopped (%s)."), [result.stop_reason_label || result.status_label]);
      ended.classList.remove("d-none");
      root.querySelector("[data-role=stop]").disabled = true;
      status.className = "badge text-bg-secondary";
      return;
    }
    const left = result.seconds_until_idle;
    if (left !== null && left <= warning) {
      countdownText.textContent = interpolate(gettext("No activity: this script stops in %s seconds."), [left]);
      countdown.classList.remove("d-none");
    } else {
      countdown.classList.add("d-none");
    }
  }

  async function ping(force) {
    if (stopped) { return; }
    const body = { execution_id: executionId, active: force || active };
    active = false;
    try {
      const response = await window.smApi(base + "/ping-interface", { method: "POST", body: body });
      if (response.ok) { show(await response.json()); }
    } catch (e) { /* the next heartbeat tries again */ }
  }

  root.querySelector("[data-role=keep]").addEventListener("click", function () { ping(true); });
  root.querySelector("[data-role=stop]").addEventListener("click", async function (event) {
    event.target.disabled = true;
    const response = await window.smApi(base + "/close-interface", { method: "POST", body: { execution_id: executionId } });
    if (response.ok) { show(await response.json()); } else { event.target.disabled = false; }
  });
  window.addEventListener("pagehide", function () {
    if (stopped) { return; }
    const form = new FormData();
    form.append("csrfmiddlewaretoken", (document.cookie.match(/(?:^|; )csrftoken=([^;]*)/) || [])[1] || "");
    navigator.sendBeacon(root.dataset.closedUrl, form);
  });
  ping(true);
  setInterval(ping, Math.max(1, Number(root.dataset.heartbeat)) * 1000);
  setInterval(function () { if (!countdown.classList.contains("d-none")) { ping(false); } }, 5000);
})();
