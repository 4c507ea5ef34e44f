/* SIDEL ScriptsManager: small helpers shared by every page. */
(function () {
  "use strict";

  function cookie(name) {
    const match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  /* fetch() for the JSON API: sends the session cookie and the CSRF token. */
  window.smApi = function (url, options) {
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
    if (opts.body && typeof opts.body !== "string") {
      opts.body = JSON.stringify(opts.body);
      opts.headers["Content-Type"] = "application/json";
    }
    if (opts.method && !/^(GET|HEAD|OPTIONS)$/i.test(opts.method)) {
      opts.headers["X-CSRFToken"] = cookie("csrftoken");
    }
    return fetch(url, opts);
  };

  /* Widths computed on the server (progress bars): no inline style attribute,
     which the Content-Security-Policy refuses. */
  document.querySelectorAll("[data-sm-width]").forEach(function (element) {
    element.style.width = Math.max(0, Math.min(100, Number(element.dataset.smWidth) || 0)) + "%";
  });

  /* Theme toggle: switch at once, then store the choice in the background.
     Without JavaScript the form posts normally and the page reloads. */
  document.querySelectorAll("form[data-sm-theme-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const input = form.querySelector("input[name=theme]");
      const next = input.value;
      document.documentElement.setAttribute("data-bs-theme", next);
      input.value = next === "dark" ? "light" : "dark";
      const icon = form.querySelector("i.bi");
      if (icon) { icon.className = "bi " + (next === "dark" ? "bi-sun" : "bi-moon-stars"); }
      const body = new FormData(form);
      body.set("theme", next);
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "manual" })
        .then(function (response) {
          if (response.type !== "opaqueredirect" && !response.ok) { throw new Error(response.status); }
        })
        .catch(function () {
          window.alert(gettext("Your theme could not be saved. Check your connection and try again."));
        });
    });
  });
})();
