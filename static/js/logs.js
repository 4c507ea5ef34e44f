/* Execution log pages.
   List page: filters kept in the address, sortable columns, pages, full-text
   search, saved filter presets, an output preview per row, bulk export and
   delete.
   Detail page: a virtualised viewer per stream that loads byte ranges of the
   output files on demand (GET /api/logs/execution/<id>/output) and, while the
   run lives, appends what the log WebSocket sends; re-run, stop, download,
   delete, and the owner's bookmark and note. */
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const language = document.documentElement.lang || "en";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function errorMessage(body, status) {
    if (body && Array.isArray(body.errors) && body.errors.length) {
      return body.errors.map((e) => (e.field ? e.field + ": " : "") + e.message).join(" ");
    }
    if (body && typeof body.detail === "string") { return body.detail; }
    return gettext("The server answered with an error.") + " (" + status + ")";
  }

  async function api(url, options) {
    const response = await window.smApi(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const error = new Error(errorMessage(body, response.status));
      error.status = response.status;
      error.body = body;
      throw error;
    }
    return body;
  }

  const numberFormat = new Intl.NumberFormat(language);
  const dateFormat = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "medium" });

  function formatNumber(n) { return numberFormat.format(n); }

  function formatBytes(n) {
    const units = [pgettext("bytes", "B"), pgettext("bytes", "KB"), pgettext("bytes", "MB"), pgettext("bytes", "GB"), pgettext("bytes", "TB")];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return new Intl.NumberFormat(language, { maximumFractionDigits: i ? 1 : 0 }).format(n) + " " + units[i];
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    if (seconds < 60) {
      return interpolate(gettext("%s s"), [new Intl.NumberFormat(language, { maximumFractionDigits: 2 }).format(seconds)]);
    }
    const s = Math.round(seconds);
    if (s < 3600) {
      return interpolate(gettext("%(m)s min %(s)s s"), { m: Math.floor(s / 60), s: String(s % 60).padStart(2, "0") }, true);
    }
    return interpolate(gettext("%(h)s h %(m)s min"), { h: Math.floor(s / 3600), m: String(Math.floor(s / 60) % 60).padStart(2, "0") }, true);
  }

  function formatDate(iso) { return iso ? dateFormat.format(new Date(iso)) : "–"; }

  function statusBadge(status, statuses) {
    const info = statuses[status] || { label: status, colour: "secondary" };
    const badge = el("span", "badge rounded-pill sm-status text-bg-" + info.colour);
    if (status === "running" || status === "starting") {
      const dot = el("span", "sm-status-dot");
      dot.setAttribute("aria-hidden", "true");
      badge.appendChild(dot);
    }
    badge.appendChild(document.createTextNode(info.label));
    badge.dataset.status = status;
    return badge;
  }

  function showAlert(box, message) {
    box.textContent = message;
    box.classList.toggle("d-none", !message);
  }

  /* Saves a fetch() response as a file, named by its Content-Disposition. */
  async function saveResponse(response, fallbackName) {
    const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = match ? match[1] : fallbackName;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  /* ===================================================================== */
  /* List page                                                              */
  /* ===================================================================== */

  const PAGE_SIZE = 25; // the API's page size
  function isFinal(status) { return status !== "running" && status !== "starting"; }
  const FILTERS = ["q", "script_id", "project_id", "status", "since", "until", "min_duration", "max_duration"];
  const FIRST_DIRECTION = { start: "-", duration: "-", status: "", script: "", project: "" };

  function listPage(config) {
    const form = $("#sm-log-filters");
    const body = $("#sm-log-rows");
    const errorBox = $("#sm-list-error");
    const selectAll = $("#sm-select-page");
    const bookmarked = new Set(config.bookmarked);
    let presets = [];
    const selected = new Set();
    const state = { sort: "-start", page: 1, items: [] };
    let request = 0;

    function fromAddress() {
      const params = new URLSearchParams(window.location.search);
      FILTERS.forEach(function (name) { form.elements[name].value = params.get(name) || ""; });
      state.sort = params.get("sort") || "-start";
      state.page = Math.max(1, parseInt(params.get("page"), 10) || 1);
    }

    function filterParams() {
      const params = new URLSearchParams();
      FILTERS.forEach(function (name) {
        const value = form.elements[name].value.trim();
        if (value) { params.set(name, value); }
      });
      return params;
    }

    function addressQuery() {
      const params = filterParams();
      if (state.sort !== "-start") { params.set("sort", state.sort); }
      if (state.page > 1) { params.set("page", state.page); }
      return params.toString();
    }

    function apiQuery() {
      const params = filterParams();
      ["since", "until"].forEach(function (name) {
        // datetime-local is the browser's local time; the API wants an instant.
        const value = params.get(name);
        if (value) {
          const moment = new Date(value);
          if (isNaN(moment)) { params.delete(name); } else { params.set(name, moment.toISOString()); }
        }
      });
      params.set("sort", state.sort);
      params.set("page", state.page);
      return params.toString();
    }

    async function load(push) {
      const query = addressQuery();
      const address = window.location.pathname + (query ? "?" + query : "");
      if (address !== window.location.pathname + window.location.search) {
        window.history[push ? "pushState" : "replaceState"](null, "", address);
      }
      const mine = ++request;
      body.setAttribute("aria-busy", "true");
      try {
        const data = await api("/api/logs/execution?" + apiQuery());
        if (mine !== request) { return; }
        const last = Math.max(1, Math.ceil(data.count / PAGE_SIZE));
        if (state.page > last) { state.page = last; load(false); return; }
        showAlert(errorBox, "");
        state.items = data.items;
        renderRows(data.items);
        renderPages(data.count, data.count_capped);
      } catch (error) {
        if (mine === request) { showAlert(errorBox, error.message); }
      } finally {
        if (mine === request) { body.removeAttribute("aria-busy"); }
      }
    }

    function renderSortHeaders() {
      $$("th[data-sort]").forEach(function (th) {
        const key = th.dataset.sort;
        const icon = $("i", th);
        let sort = "none";
        if (state.sort === key) { sort = "ascending"; } else if (state.sort === "-" + key) { sort = "descending"; }
        th.setAttribute("aria-sort", sort);
        icon.className = "bi ms-1 " + (sort === "ascending" ? "bi-sort-up-alt" : sort === "descending" ? "bi-sort-down" : "bi-arrow-down-up sm-sort-idle");
      });
    }

    function previewBlock(title, text, kind, running) {
      const column = el("div", "col-lg-6");
      column.appendChild(el("div", "small fw-semibold mb-1", title));
      if (text) {
        const pre = el("pre", "sm-preview-pre mb-0" + (kind === "stderr" ? " sm-preview-err" : ""), text);
        column.appendChild(pre);
      } else {
        let empty = kind === "stderr" ? gettext("No errors.") : gettext("No output.");
        if (running) { empty = gettext("Still running: open the log to follow it live."); }
        column.appendChild(el("div", "small text-body-secondary", empty));
      }
      return column;
    }

    function renderRows(items) {
      body.replaceChildren();
      renderSortHeaders();
      if (!items.length) {
        const row = el("tr");
        const cell = el("td", "text-center text-body-secondary py-5");
        cell.colSpan = 8;
        const filtered = filterParams().toString() !== "";
        cell.appendChild(el("i", "bi bi-journal-x d-block fs-2 mb-2"));
        cell.appendChild(document.createTextNode(filtered ? gettext("No log matches these filters.") : gettext("You have not run any script yet. The output of every run you start is kept here.")));
        row.appendChild(cell);
        body.appendChild(row);
        updateSelection();
        return;
      }
      items.forEach(function (item) {
        const id = item.execution_id;
        const row = el("tr", "sm-log-row");
        row.dataset.id = id;
        row.setAttribute("data-testid", "log-row");

        const check = el("td", "sm-col-check");
        const box = el("input", "form-check-input");
        box.type = "checkbox";
        box.checked = selected.has(id);
        box.setAttribute("aria-label", interpolate(gettext("Select the run of %s"), [item.script_name]));
        box.addEventListener("change", function () {
          if (box.checked) { selected.add(id); } else { selected.delete(id); }
          updateSelection();
        });
        check.appendChild(box);

        const status = el("td");
        status.appendChild(statusBadge(item.status, config.statuses));

        const script = el("td");
        const link = el("a", "fw-semibold text-decoration-none", item.script_name);
        link.href = "/logs/" + id + "/";
        script.appendChild(link);
        if (bookmarked.has(id)) {
          const flag = el("i", "bi bi-bookmark-fill text-warning ms-2");
          flag.title = gettext("Bookmarked");
          script.appendChild(flag);
        }

        const project = el("td", "small", item.project_name);
        const started = el("td", "small text-nowrap");
        const time = el("time", "", formatDate(item.start_time));
        time.dateTime = item.start_time;
        started.appendChild(time);
        const duration = el("td", "small text-end text-nowrap", formatDuration(item.duration_seconds));
        const exit = el("td", "small text-end font-monospace", item.exit_code === null ? "–" : String(item.exit_code));
        if (item.exit_code) { exit.classList.add("text-danger"); }

        const actions = el("td", "text-end text-nowrap");
        const toggle = el("button", "btn btn-sm btn-outline-secondary sm-preview-toggle");
        toggle.type = "button";
        toggle.setAttribute("aria-expanded", "false");
        toggle.setAttribute("data-testid", "preview-toggle");
        toggle.title = gettext("Preview the end of the output");
        toggle.appendChild(el("i", "bi bi-chevron-down"));
        toggle.appendChild(el("span", "visually-hidden", gettext("Preview the end of the output")));
        const open = el("a", "btn btn-sm btn-outline-primary ms-1");
        open.href = link.href;
        open.title = gettext("Open the log");
        open.appendChild(el("i", "bi bi-box-arrow-up-right"));
        open.appendChild(el("span", "visually-hidden", gettext("Open the log")));
        actions.append(toggle, open);

        row.append(check, status, script, project, started, duration, exit, actions);

        const previewRow = el("tr", "sm-preview-row d-none");
        previewRow.setAttribute("data-testid", "preview-row");
        const cell = el("td");
        cell.colSpan = 8;
        const columns = el("div", "row g-3");
        columns.append(
          previewBlock(gettext("End of the output"), item.output_preview, "stdout", !isFinal(item.status)),
          previewBlock(gettext("End of the errors"), item.error_preview, "stderr", false)
        );
        cell.appendChild(columns);
        previewRow.appendChild(cell);
        toggle.addEventListener("click", function () {
          const opened = previewRow.classList.toggle("d-none") === false;
          toggle.setAttribute("aria-expanded", opened);
          $("i", toggle).className = "bi " + (opened ? "bi-chevron-up" : "bi-chevron-down");
          row.classList.toggle("sm-expanded", opened);
        });
        body.append(row, previewRow);
      });
      updateSelection();
    }

    function pageButton(label, page, options) {
      const item = el("li", "page-item" + (options.active ? " active" : "") + (options.disabled ? " disabled" : ""));
      const button = el("button", "page-link", label);
      button.type = "button";
      if (options.label) { button.setAttribute("aria-label", options.label); }
      if (options.active) { button.setAttribute("aria-current", "page"); }
      if (options.disabled || options.active) { button.disabled = true; } else {
        button.addEventListener("click", function () { state.page = page; load(true); window.scrollTo({ top: 0 }); });
      }
      item.appendChild(button);
      return item;
    }

    function renderPages(count, capped) {
      const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
      const list = $("#sm-pages");
      list.replaceChildren();
      const first = count ? (state.page - 1) * PAGE_SIZE + 1 : 0;
      const last = Math.min(count, state.page * PAGE_SIZE);
      $("#sm-page-info").textContent = count
        ? interpolate(ngettext("%(first)s–%(last)s of %(count)s run", "%(first)s–%(last)s of %(count)s runs", count),
          { first: formatNumber(first), last: formatNumber(last), count: formatNumber(count) + (capped ? "+" : "") }, true)
        : "";
      if (pages < 2) { return; }
      list.appendChild(pageButton("‹", state.page - 1, { disabled: state.page === 1, label: gettext("Previous page") }));
      const shown = new Set([1, pages, state.page - 1, state.page, state.page + 1]);
      if (state.page <= 3) { shown.add(2).add(3).add(4); }
      if (state.page >= pages - 2) { shown.add(pages - 1).add(pages - 2).add(pages - 3); }
      let previous = 0;
      Array.from(shown).filter((p) => p >= 1 && p <= pages).sort((a, b) => a - b).forEach(function (page) {
        if (page - previous > 1) { list.appendChild(pageButton("…", 0, { disabled: true })); }
        list.appendChild(pageButton(formatNumber(page), page, { active: page === state.page }));
        previous = page;
      });
      list.appendChild(pageButton("›", state.page + 1, { disabled: state.page === pages, label: gettext("Next page") }));
    }

    function updateSelection() {
      const onPage = state.items.map((item) => item.execution_id);
      const chosen = onPage.filter((id) => selected.has(id)).length;
      selectAll.checked = onPage.length > 0 && chosen === onPage.length;
      selectAll.indeterminate = chosen > 0 && chosen < onPage.length;
      $("#sm-bulk-bar").classList.toggle("d-none", selected.size === 0);
      $("#sm-selected-count").textContent = interpolate(ngettext("%s log selected", "%s logs selected", selected.size), [formatNumber(selected.size)]);
    }

    selectAll.addEventListener("change", function () {
      state.items.forEach(function (item) {
        if (selectAll.checked) { selected.add(item.execution_id); } else { selected.delete(item.execution_id); }
      });
      $$("tr.sm-log-row .form-check-input", body).forEach(function (box) { box.checked = selectAll.checked; });
      updateSelection();
    });

    $$("th[data-sort] .sm-sort").forEach(function (button) {
      button.addEventListener("click", function () {
        const key = button.closest("th").dataset.sort;
        if (state.sort === key) { state.sort = "-" + key; } else if (state.sort === "-" + key) { state.sort = key; } else { state.sort = FIRST_DIRECTION[key] + key; }
        state.page = 1;
        load(true);
      });
    });

    let typing = null;
    form.elements.q.addEventListener("input", function () {
      clearTimeout(typing);
      typing = setTimeout(function () { state.page = 1; load(false); }, 350);
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "q") { return; }
      state.page = 1;
      load(true);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(typing);
      state.page = 1;
      load(true);
    });
    window.addEventListener("popstate", function () { fromAddress(); load(false); });

    /* --- Presets (saved on the server, per user) --- */
    function currentFilters() {
      const filters = {};
      FILTERS.forEach(function (name) {
        const value = form.elements[name].value.trim();
        if (!value) { return; }
        if (name === "script_id" || name === "project_id") { filters[name] = parseInt(value, 10); }
        else if (name === "min_duration" || name === "max_duration") { filters[name] = parseFloat(value); }
        else { filters[name] = value; }
      });
      if (state.sort !== "-start") { filters.sort = state.sort; }
      return filters;
    }

    function applyPreset(preset) {
      FILTERS.forEach(function (name) {
        const value = preset.filters[name];
        form.elements[name].value = value === undefined || value === null ? "" : String(value);
      });
      state.sort = preset.filters.sort || "-start";
      state.page = 1;
      load(true);
    }

    function renderPresets() {
      const box = $("#sm-preset-list");
      box.replaceChildren();
      if (!presets.length) {
        box.appendChild(el("div", "dropdown-item-text small text-body-secondary", gettext("No preset saved yet.")));
        return;
      }
      presets.forEach(function (preset) {
        const line = el("div", "d-flex align-items-center sm-preset");
        const apply = el("button", "dropdown-item flex-grow-1", preset.name);
        apply.type = "button";
        apply.setAttribute("data-testid", "preset");
        apply.addEventListener("click", () => applyPreset(preset));
        const remove = el("button", "btn btn-sm btn-link text-danger me-2 p-0");
        remove.type = "button";
        remove.title = interpolate(gettext("Forget the preset “%s”"), [preset.name]);
        remove.appendChild(el("i", "bi bi-x-lg"));
        remove.appendChild(el("span", "visually-hidden", remove.title));
        remove.addEventListener("click", async function (event) {
          event.stopPropagation();
          try {
            await api("/api/logs/presets/" + preset.id, { method: "DELETE" });
            presets = presets.filter((p) => p.id !== preset.id);
            renderPresets();
          } catch (error) {
            showAlert(errorBox, error.message);
          }
        });
        line.append(apply, remove);
        box.appendChild(line);
      });
    }

    async function loadPresets() {
      try {
        presets = await api("/api/logs/presets");
      } catch (error) {
        presets = [];
      }
      renderPresets();
    }

    async function savePreset() {
      const name = (window.prompt(gettext("Name this set of filters:")) || "").trim();
      if (!name) { return; }
      try {
        const saved = await api("/api/logs/presets", { method: "POST", body: { name: name, filters: currentFilters() } });
        presets = presets.filter((p) => p.id !== saved.id).concat([saved]);
        presets.sort((a, b) => a.name.localeCompare(b.name, language));
        renderPresets();
      } catch (error) {
        showAlert(errorBox, error.message);
      }
    }

    /* --- Bulk actions --- */
    const deleteModal = $("#sm-delete-modal");

    async function exportSelected(format) {
      try {
        const response = await window.smApi("/api/logs/export", { method: "POST", body: { execution_ids: Array.from(selected), format: format } });
        if (!response.ok) {
          let detail = null;
          try { detail = await response.json(); } catch (e) { detail = null; }
          throw new Error(errorMessage(detail, response.status));
        }
        await saveResponse(response, "executions." + format);
      } catch (error) {
        showAlert(errorBox, error.message);
      }
    }

    async function deleteSelected() {
      const button = $("[data-sm-action=confirm-delete]", deleteModal);
      button.disabled = true;
      try {
        const result = await api("/api/logs/delete", { method: "POST", body: { execution_ids: Array.from(selected) } });
        selected.clear();
        bootstrap.Modal.getOrCreateInstance(deleteModal).hide();
        showAlert(errorBox, "");
        await load(false);
        loadStats();
        const done = el("div", "alert alert-success alert-dismissible fade show", interpolate(ngettext("%s log deleted.", "%s logs deleted.", result.deleted), [formatNumber(result.deleted)]));
        done.setAttribute("role", "status");
        const close = el("button", "btn-close");
        close.type = "button";
        close.setAttribute("data-bs-dismiss", "alert");
        close.setAttribute("aria-label", gettext("Close"));
        done.appendChild(close);
        errorBox.before(done);
      } catch (error) {
        bootstrap.Modal.getOrCreateInstance(deleteModal).hide();
        showAlert(errorBox, error.message);
      } finally {
        button.disabled = false;
      }
    }

    document.addEventListener("click", function (event) {
      const button = event.target.closest("[data-sm-action]");
      if (!button) { return; }
      const action = button.dataset.smAction;
      if (action === "reset-filters") {
        form.reset();
        FILTERS.forEach(function (name) { form.elements[name].value = ""; });
        state.sort = "-start";
        state.page = 1;
        load(true);
      } else if (action === "save-preset") {
        savePreset();
      } else if (action === "export") {
        exportSelected(button.dataset.format);
      } else if (action === "bulk-delete") {
        $("[data-role=message]", deleteModal).textContent = interpolate(
          ngettext("Delete %s log and its output files for good? Running executions cannot be deleted.",
            "Delete %s logs and their output files for good? Running executions cannot be deleted.", selected.size),
          [formatNumber(selected.size)]);
        bootstrap.Modal.getOrCreateInstance(deleteModal).show();
      } else if (action === "confirm-delete") {
        deleteSelected();
      } else if (action === "clear-selection") {
        selected.clear();
        $$("tr.sm-log-row .form-check-input", body).forEach(function (box) { box.checked = false; });
        updateSelection();
      }
    });

    async function loadStats() {
      try {
        const stats = await api("/api/logs/stats");
        const parts = [interpolate(ngettext("%s run", "%s runs", stats.total), [formatNumber(stats.total)])];
        if (stats.success_rate !== null) {
          parts.push(interpolate(gettext("%s successful"), [new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1 }).format(stats.success_rate)]));
        }
        parts.push(interpolate(gettext("%(used)s of %(quota)s of storage"), { used: formatBytes(stats.storage_bytes), quota: formatBytes(stats.quota_bytes) }, true));
        $("#sm-log-stats").textContent = parts.join(" · ");
        showAlert($("#sm-quota-warning"), stats.quota_warning
          ? interpolate(gettext("Your logs use %(used)s of your %(quota)s. Export and delete old logs before new runs are refused."),
            { used: formatBytes(stats.storage_bytes), quota: formatBytes(stats.quota_bytes) }, true)
          : "");
      } catch (error) {
        $("#sm-log-stats").textContent = "";
      }
    }

    /* Your runs changing status (ws/logs/user/): refresh the rows on screen. */
    function watchStatuses() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      let refresh = null;
      let attempts = 0;
      function connect() {
        const socket = new WebSocket(scheme + "//" + window.location.host + "/ws/logs/user/");
        socket.addEventListener("open", function () { attempts = 0; });
        socket.addEventListener("message", function (event) {
          let message;
          try { message = JSON.parse(event.data); } catch (e) { return; }
          if (message.type !== "status") { return; }
          const shown = state.items.some((item) => item.execution_id === message.execution_id);
          if (shown || (state.page === 1 && state.sort === "-start")) {
            clearTimeout(refresh);
            refresh = setTimeout(function () { load(false); loadStats(); }, 300);
          }
        });
        socket.addEventListener("close", function (event) {
          // 44xx: refused (signed out, bad request); anything else: try again.
          if (event.code >= 4400 && event.code < 4500) { return; }
          attempts += 1;
          setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(attempts, 5)));
        });
      }
      connect();
    }

    fromAddress();
    loadPresets();
    load(false);
    watchStatuses();
    loadStats();
  }

  /* ===================================================================== */
  /* The log viewer                                                         */
  /* ===================================================================== */

  const LINE_HEIGHT = 18;          // px; .sm-log-line in logs.css has the same height
  const CHUNK_BYTES = 512 * 1024;  // one request's range (the API allows up to 1 MiB)
  const MAX_CHUNK_BYTES = 1024 * 1024;
  const MAX_HEIGHT = 8000000;      // px: browsers cap element heights (Firefox near 1.8e7)
  const OVERSCAN = 20;             // lines rendered above and below the visible ones
  const KEEP_CHUNKS = 48;          // loaded ranges kept in memory; older ones are re-read on demand
  const MAX_LINE_CHARS = 20000;    // a longer line is cut on screen (downloads have it whole)
  const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
  const encoder = new TextEncoder();

  function byteLength(text) { return encoder.encode(text).length; }

  /* Bytes of the partial first line of a range read from the middle of the
     file. The server turns the continuation bytes of a character cut by the
     range start into one U+FFFD each: those count one byte, not three. */
  function leadingBytes(text) {
    let i = 0;
    while (i < 3 && text.charCodeAt(i) === 0xfffd) { i += 1; }
    return i + byteLength(text.slice(i));
  }

  function splitLines(text) {
    if (!text) { return { lines: [], open: false }; }
    const lines = text.split("\n");
    let open = true;
    if (lines[lines.length - 1] === "") { lines.pop(); open = false; }
    return { lines: lines, open: open };
  }

  /* What a terminal would show: no colour codes, the last rewrite of a line. */
  function displayText(line) {
    let text = line.indexOf("\x1b") >= 0 ? line.replace(ANSI, "") : line;
    if (text.endsWith("\r")) { text = text.slice(0, -1); }
    const cr = text.lastIndexOf("\r");
    if (cr >= 0) { text = text.slice(cr + 1); }
    if (text.length > MAX_LINE_CHARS) {
      text = text.slice(0, MAX_LINE_CHARS) + " … " + interpolate(gettext("(%s more characters)"), [formatNumber(text.length - MAX_LINE_CHARS)]);
    }
    return text;
  }

  /* The file is a list of contiguous segments covering [0, size): loaded
     ranges ({start, end, lines, open}) whose boundaries fall just after a
     newline, and gaps ({start, end, count}) not loaded yet, or dropped again,
     whose line count is known (count) or estimated from the average line.
     Rendering maps a line index to a segment; gaps render as placeholders
     and are loaded when they come into view. */
  class LogViewer {
    constructor(root, options) {
      this.root = root;
      this.url = options.url;
      this.stream = options.stream;
      this.onChange = options.onChange || function () {};
      this.emptyText = options.emptyText;
      this.segments = [];
      this.size = 0;
      this.live = false;
      this.paused = null;          // null, "manual" or "auto" (the user scrolled up)
      this.newWhilePaused = 0;
      this.bytesSeen = 0;
      this.linesSeen = 0;
      this.index = null;
      this.loading = false;
      this.loadTimer = null;
      this.frame = 0;
      this.expectedTop = 0;
      this.clock = 0;
      this.pool = [];

      root.replaceChildren();
      this.spacer = el("div", "sm-log-spacer");
      this.slice = el("div", "sm-log-slice");
      this.spacer.appendChild(this.slice);
      this.empty = el("div", "sm-log-empty d-none");
      root.append(this.spacer, this.empty);
      root.style.setProperty("--sm-log-line-height", LINE_HEIGHT + "px");

      root.addEventListener("scroll", () => this.onScroll(), { passive: true });
      root.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
      root.addEventListener("keydown", (event) => this.onKey(event));
      if (window.ResizeObserver) { new ResizeObserver(() => this.schedule()).observe(root); }
    }

    /* --- Reading the file --- */

    async fetchRange(offset, limit) {
      const query = "?stream=" + this.stream + "&offset=" + offset + "&limit=" + Math.max(1, Math.min(limit, MAX_CHUNK_BYTES));
      return api(this.url + query);
    }

    chunk(start, end, text) {
      const parts = splitLines(text);
      this.bytesSeen += end - start;
      this.linesSeen += parts.lines.length;
      return { start: start, end: end, lines: parts.lines, open: parts.open, used: ++this.clock };
    }

    /* First range and, for a longer file, the last one: the run's latest
       lines are one click away, and a live tail continues from there. */
    async open(live) {
      const first = await this.fetchRange(0, CHUNK_BYTES);
      let end = first.next_offset;
      let text = first.data;
      if (end < first.size) {
        const cut = text.lastIndexOf("\n");
        if (cut >= 0 && cut < text.length - 1) {
          end -= byteLength(text.slice(cut + 1));
          text = text.slice(0, cut + 1);
        }
      }
      const segments = [this.chunk(0, end, text)];
      let size = end;
      if (end < first.size) {
        const from = Math.max(end, first.size - CHUNK_BYTES);
        const tail = await this.fetchRange(from, first.size - from);
        let start = from;
        let tailText = tail.data;
        if (from > end) {
          const cut = tailText.indexOf("\n");
          if (cut >= 0) {
            start += leadingBytes(tailText.slice(0, cut + 1));
            tailText = tailText.slice(cut + 1);
          }
        }
        if (start > end) { segments.push({ start: end, end: start, count: null }); }
        segments.push(this.chunk(start, tail.next_offset, tailText));
        size = tail.next_offset;
      }
      this.segments = segments.filter((s) => s.end > s.start || s.lines);
      this.size = size;
      this.live = live;
      this.index = null;
      this.render();
      if (live) { this.scrollToEnd(); }
      this.onChange(this);
    }

    /* Text the live stream sent for the bytes [size, offset). */
    append(text, offset) {
      if (offset <= this.size) { return; }
      const anchor = this.following() ? null : this.anchor();
      let last = this.segments[this.segments.length - 1];
      if (!last || !last.lines) {
        last = { start: this.size, end: this.size, lines: [], open: false, used: ++this.clock };
        this.segments.push(last);
      }
      const before = last.lines.length;
      const parts = text.split("\n");
      if (last.open && last.lines.length) { last.lines[last.lines.length - 1] += parts[0]; } else { last.lines.push(parts[0]); }
      for (let i = 1; i < parts.length; i += 1) { last.lines.push(parts[i]); }
      last.open = !text.endsWith("\n");
      if (!last.open) { last.lines.pop(); }
      this.bytesSeen += offset - this.size;
      this.linesSeen += last.lines.length - before;
      if (this.paused) { this.newWhilePaused += last.lines.length - before; }
      last.end = offset;
      this.size = offset;
      this.index = null;
      if (anchor) { this.restore(anchor); }
      this.schedule();
      this.onChange(this);
    }

    finish() {
      this.live = false;
      this.paused = null;
      this.schedule();
      this.onChange(this);
    }

    /* --- Line index --- */

    averageLine() { return this.linesSeen ? Math.max(1, this.bytesSeen / this.linesSeen) : 80; }

    segmentLines(segment) {
      if (segment.lines) { return segment.lines.length; }
      if (segment.count !== null && segment.count !== undefined) { return segment.count; }
      return Math.max(1, Math.round((segment.end - segment.start) / this.averageLine()));
    }

    buildIndex() {
      if (this.index) { return this.index; }
      const starts = new Array(this.segments.length);
      let total = 0;
      let exactUntil = -1; // segments before this index have exact line counts
      this.segments.forEach((segment, i) => {
        starts[i] = total;
        total += this.segmentLines(segment);
        if (exactUntil < 0 && !segment.lines && (segment.count === null || segment.count === undefined)) { exactUntil = i; }
      });
      this.index = { starts: starts, total: total, exactUntil: exactUntil < 0 ? this.segments.length : exactUntil, estimated: exactUntil >= 0 };
      return this.index;
    }

    locate(line) {
      const { starts } = this.buildIndex();
      let low = 0;
      let high = starts.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (starts[middle] <= line) { low = middle; } else { high = middle - 1; }
      }
      return { i: low, segment: this.segments[low], line: line - starts[low] };
    }

    /* --- Scroll geometry: line positions to pixels, scaled down when the
       log is taller than a browser lets an element be. --- */

    metrics() {
      const total = this.buildIndex().total;
      const viewHeight = this.root.clientHeight || 1;
      const visible = viewHeight / LINE_HEIGHT;
      const natural = total * LINE_HEIGHT;
      const height = Math.min(natural, MAX_HEIGHT);
      return {
        total: total, visible: visible, height: height, scaled: natural > MAX_HEIGHT,
        maxScroll: Math.max(0, height - viewHeight), maxTop: Math.max(0, total - visible),
      };
    }

    topLine(m) {
      m = m || this.metrics();
      if (!m.scaled) { return this.root.scrollTop / LINE_HEIGHT; }
      return m.maxScroll ? (this.root.scrollTop / m.maxScroll) * m.maxTop : 0;
    }

    setTopLine(position, byUser) {
      const m = this.metrics();
      this.spacer.style.height = m.height + "px";
      const line = Math.max(0, Math.min(position, m.maxTop));
      const top = m.scaled ? (m.maxTop ? (line / m.maxTop) * m.maxScroll : 0) : line * LINE_HEIGHT;
      this.root.scrollTop = top;
      this.expectedTop = this.root.scrollTop;
      if (byUser) { this.userMoved(); }
      this.schedule();
    }

    atEnd() {
      const m = this.metrics();
      return this.root.scrollTop >= m.maxScroll - 2;
    }

    scrollToEnd() {
      const m = this.metrics();
      this.spacer.style.height = m.height + "px";
      this.root.scrollTop = m.maxScroll;
      this.expectedTop = this.root.scrollTop;
      this.schedule();
    }

    /* Where the first visible line is, in terms that survive a change of
       the line index (a range loaded, an estimate corrected, lines added). */
    anchor() {
      // At the end of a finished log, stay at the end; a paused live view stays put.
      if (!this.paused && this.atEnd() && this.root.scrollTop > 0) { return { end: true }; }
      const position = this.topLine();
      const spot = this.locate(Math.floor(position));
      const fraction = position - Math.floor(position);
      const lines = this.segmentLines(spot.segment);
      const byte = spot.segment.start + ((spot.line + fraction) / Math.max(1, lines)) * (spot.segment.end - spot.segment.start);
      return { segment: spot.segment.lines ? spot.segment : null, line: spot.line + fraction, byte: byte };
    }

    restore(anchor) {
      if (anchor.end) { this.scrollToEnd(); return; }
      const { starts } = this.buildIndex();
      let i = anchor.segment ? this.segments.indexOf(anchor.segment) : -1;
      let line;
      if (i >= 0) {
        line = starts[i] + anchor.line;
      } else {
        i = this.segments.findIndex((s) => anchor.byte >= s.start && anchor.byte < s.end);
        if (i < 0) { i = this.segments.length - 1; }
        if (i < 0) { return; }
        const segment = this.segments[i];
        line = starts[i] + ((anchor.byte - segment.start) / Math.max(1, segment.end - segment.start)) * this.segmentLines(segment);
      }
      this.setTopLine(line, false);
    }

    /* --- Following a live run --- */

    following() { return this.live && !this.paused; }

    pause(kind) {
      if (!this.live || this.paused) { return; }
      this.paused = kind;
      this.newWhilePaused = 0;
      this.onChange(this);
    }

    resume() {
      this.paused = null;
      this.newWhilePaused = 0;
      this.scrollToEnd();
      this.onChange(this);
    }

    userMoved() {
      if (!this.live) { return; }
      const end = this.atEnd();
      if (!this.paused && !end) { this.pause("auto"); } else if (this.paused === "auto" && end) { this.resume(); }
    }

    onScroll() {
      if (Math.abs(this.root.scrollTop - this.expectedTop) > 1) {
        this.expectedTop = this.root.scrollTop;
        this.userMoved();
      }
      this.schedule();
    }

    onWheel(event) {
      const m = this.metrics();
      if (!m.scaled || event.ctrlKey) { return; }
      // Scaled down, one pixel is more than a pixel's worth of lines: scroll by lines.
      event.preventDefault();
      const unit = event.deltaMode === 1 ? 1 : event.deltaMode === 2 ? m.visible : 1 / LINE_HEIGHT;
      this.root.scrollLeft += event.deltaX * (event.deltaMode ? LINE_HEIGHT : 1);
      if (event.deltaY) { this.setTopLine(this.topLine(m) + event.deltaY * unit, true); }
    }

    onKey(event) {
      const m = this.metrics();
      const page = Math.max(1, Math.floor(m.visible) - 1);
      const moves = {
        ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, " ": event.shiftKey ? -page : page,
      };
      if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        if (event.key === "Home") { this.setTopLine(0, true); } else if (this.live) { this.resume(); } else { this.setTopLine(m.maxTop, true); }
      } else if (event.key in moves && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this.setTopLine(Math.round(this.topLine(m)) + moves[event.key], true);
      }
    }

    /* --- Rendering --- */

    schedule() {
      if (!this.frame) { this.frame = window.requestAnimationFrame(() => this.render()); }
    }

    render() {
      this.frame = 0;
      const m = this.metrics();
      this.spacer.style.height = m.height + "px";
      if (this.following()) {
        this.root.scrollTop = m.maxScroll;
        this.expectedTop = this.root.scrollTop;
      }
      this.empty.classList.toggle("d-none", m.total > 0);
      if (!m.total) {
        this.empty.textContent = this.live ? gettext("Waiting for output…") : this.emptyText;
      }
      const position = this.topLine(m);
      const first = Math.floor(position);
      const from = Math.max(0, first - OVERSCAN);
      const to = Math.min(m.total, first + Math.ceil(m.visible) + 1 + OVERSCAN);
      this.slice.style.transform = "translateY(" + (this.root.scrollTop - (position - from) * LINE_HEIGHT) + "px)";

      const index = this.buildIndex();
      const exactLines = index.exactUntil < this.segments.length ? index.starts[index.exactUntil] : index.total;
      this.root.style.setProperty("--sm-log-gutter", Math.max(4, String(exactLines).length + 1) + "ch");
      while (this.pool.length < to - from) {
        const line = el("div", "sm-log-line");
        line.append(el("span", "sm-log-ln"), el("span", "sm-log-text"));
        this.slice.appendChild(line);
        this.pool.push(line);
      }
      let spot = to > from ? this.locate(from) : null;
      for (let k = 0; k < this.pool.length; k += 1) {
        const node = this.pool[k];
        if (k >= to - from) { node.hidden = true; continue; }
        node.hidden = false;
        const lineNumber = from + k;
        while (spot.line >= this.segmentLines(spot.segment) && spot.i < this.segments.length - 1) {
          spot = { i: spot.i + 1, segment: this.segments[spot.i + 1], line: 0 };
        }
        const segment = spot.segment;
        const number = node.firstChild;
        const text = node.lastChild;
        if (spot.i < index.exactUntil) {
          number.textContent = String(lineNumber + 1);
          number.removeAttribute("title");
        } else {
          number.textContent = "";
          number.title = gettext("The line number is known once the lines above it have been read.");
        }
        if (segment.lines) {
          segment.used = this.clock;
          text.textContent = displayText(segment.lines[spot.line] || "");
          node.classList.remove("sm-log-pending");
        } else {
          text.textContent = segment.failed ? gettext("(this part could not be read)") : "…";
          node.classList.add("sm-log-pending");
        }
        spot.line += 1;
      }
      this.clock += 1;
      this.wanted = [from, to];
      if (!this.loading) {
        clearTimeout(this.loadTimer);
        this.loadTimer = setTimeout(() => this.loadVisible(), 40);
      }
    }

    /* --- Loading gaps as they come into view --- */

    async loadVisible() {
      if (this.loading || !this.wanted) { return; }
      const [from, to] = this.wanted;
      if (to <= from) { return; }
      const middle = Math.floor((from + to) / 2);
      let best = null;
      const spot = this.locate(from);
      const { starts } = this.buildIndex();
      for (let i = spot.i; i < this.segments.length && starts[i] < to; i += 1) {
        const segment = this.segments[i];
        if (segment.lines || segment.failed) { continue; }
        const lines = this.segmentLines(segment);
        const target = Math.max(starts[i], Math.min(middle, starts[i] + lines - 1));
        const distance = Math.abs(target - middle);
        if (!best || distance < best.distance) { best = { segment: segment, target: target - starts[i], lines: lines, distance: distance }; }
      }
      if (!best) { this.evict(); return; }
      this.loading = true;
      try {
        await this.loadGap(best.segment, (best.target + 0.5) / best.lines);
      } catch (error) {
        best.segment.failed = true;
        this.onChange(this, error);
      } finally {
        this.loading = false;
        this.schedule();
      }
    }

    async loadGap(gap, fraction) {
      const whole = (gap.count !== null && gap.count !== undefined) || gap.end - gap.start <= CHUNK_BYTES;
      let from = gap.start;
      let limit = gap.end - gap.start;
      if (!whole) {
        const target = gap.start + fraction * (gap.end - gap.start);
        from = Math.round(Math.max(gap.start, Math.min(target - CHUNK_BYTES / 2, gap.end - CHUNK_BYTES)));
        limit = CHUNK_BYTES;
      }
      const range = await this.fetchRange(from, limit);
      let start = from;
      let end = range.next_offset;
      let text = range.data;
      if (start > gap.start) {
        const cut = text.indexOf("\n");
        if (cut >= 0) {
          start += leadingBytes(text.slice(0, cut + 1));
          text = text.slice(cut + 1);
        }
      }
      if (end < gap.end) {
        const cut = text.lastIndexOf("\n");
        if (cut >= 0 && cut < text.length - 1) {
          end -= byteLength(text.slice(cut + 1));
          text = text.slice(0, cut + 1);
        }
      }
      // The segments may have changed while the range was on its way.
      const i = this.segments.indexOf(gap);
      if (i < 0) { return; }
      if (end <= start || start < gap.start || end > gap.end) {
        gap.failed = true;
        return;
      }
      const anchor = this.following() ? null : this.anchor();
      const replacement = [];
      if (start > gap.start) { replacement.push({ start: gap.start, end: start, count: null }); }
      replacement.push(this.chunk(start, end, text));
      if (end < gap.end) { replacement.push({ start: end, end: gap.end, count: null }); }
      this.segments.splice(i, 1, ...replacement);
      this.index = null;
      if (anchor) { this.restore(anchor); }
      this.evict();
      this.onChange(this);
    }

    /* Forget the least recently shown ranges beyond KEEP_CHUNKS; their line
       count stays, so nothing moves when they are read again. */
    evict() {
      const loaded = this.segments.filter((s, i) => s.lines && !(i === this.segments.length - 1 && this.live) && s.end - s.start <= MAX_CHUNK_BYTES);
      if (loaded.length <= KEEP_CHUNKS) { return; }
      loaded.sort((a, b) => a.used - b.used);
      loaded.slice(0, loaded.length - KEEP_CHUNKS).forEach((segment) => {
        if (segment.used >= this.clock - 1) { return; }
        const i = this.segments.indexOf(segment);
        this.segments[i] = { start: segment.start, end: segment.end, count: segment.lines.length };
      });
      this.index = null;
    }

    /* For the toolbar. */
    summary() {
      const index = this.buildIndex();
      return { lines: index.total, estimated: index.estimated, size: this.size };
    }
  }

  /* ===================================================================== */
  /* Detail page                                                            */
  /* ===================================================================== */

  function detailPage(config) {
    const id = config.execution_id;
    const errorBox = $("#sm-detail-error");
    const viewers = {};
    let final = config.final;

    function toolbar(stream) { return $(".sm-log-toolbar[data-stream=" + stream + "]"); }

    function refreshToolbar(viewer, error) {
      const bar = toolbar(viewer.stream);
      const summary = viewer.summary();
      const info = $("[data-role=info]", bar);
      if (error) {
        info.textContent = error.message;
      } else if (summary.size || summary.lines) {
        info.textContent = interpolate(summary.estimated ? gettext("about %(lines)s lines · %(size)s") : gettext("%(lines)s lines · %(size)s"),
          { lines: formatNumber(summary.lines), size: formatBytes(summary.size) }, true);
      } else {
        info.textContent = "";
      }
      $("[data-role=live]", bar).classList.toggle("d-none", !viewer.live);
      const follow = $("[data-sm-action=follow]", bar);
      follow.classList.toggle("d-none", !viewer.live);
      follow.setAttribute("aria-pressed", viewer.paused ? "true" : "false");
      follow.replaceChildren(el("i", "bi me-1 " + (viewer.paused ? "bi-play-fill" : "bi-pause-fill")));
      follow.appendChild(document.createTextNode(viewer.paused
        ? (viewer.newWhilePaused
          ? interpolate(ngettext("Resume (%s new line)", "Resume (%s new lines)", viewer.newWhilePaused), [formatNumber(viewer.newWhilePaused)])
          : gettext("Resume"))
        : gettext("Pause")));
      follow.classList.toggle("btn-warning", Boolean(viewer.paused));
      follow.classList.toggle("btn-outline-secondary", !viewer.paused);
      const badge = $("[data-role=size-" + viewer.stream + "]");
      if (badge) {
        const show = viewer.stream === "stdout" ? summary.size > 0 : summary.lines > 0;
        badge.classList.toggle("d-none", !show);
        badge.textContent = viewer.stream === "stdout" ? formatBytes(summary.size) : formatNumber(summary.lines);
        if (viewer.stream === "stderr") {
          // Warnings on stderr are common: red only when the run did not succeed.
          const alarming = config.status !== "completed" && isFinal(config.status);
          badge.classList.toggle("text-bg-danger", alarming);
          badge.classList.toggle("text-bg-secondary", !alarming);
        }
      }
    }

    $$(".sm-log-viewer").forEach(function (root) {
      const stream = root.dataset.stream;
      viewers[stream] = new LogViewer(root, {
        url: "/api/logs/execution/" + id + "/output",
        stream: stream,
        emptyText: stream === "stderr" ? gettext("No errors.") : gettext("No output."),
        onChange: refreshToolbar,
      });
    });

    $$(".sm-log-toolbar").forEach(function (bar) {
      const viewer = viewers[bar.dataset.stream];
      bar.addEventListener("click", function (event) {
        const button = event.target.closest("[data-sm-action]");
        if (!button) { return; }
        const action = button.dataset.smAction;
        if (action === "follow") {
          if (viewer.paused) { viewer.resume(); } else { viewer.pause("manual"); }
        } else if (action === "top") {
          viewer.setTopLine(0, true);
          viewer.root.focus({ preventScroll: true });
        } else if (action === "end") {
          if (viewer.live) { viewer.resume(); } else { viewer.setTopLine(viewer.metrics().maxTop, true); }
          viewer.root.focus({ preventScroll: true });
        }
      });
    });

    // A hidden tab has no height: draw it when it is shown.
    $$("#sm-log-tabs [data-bs-toggle=tab]").forEach(function (tab) {
      tab.addEventListener("shown.bs.tab", function () {
        Object.values(viewers).forEach(function (viewer) {
          if (viewer.following()) { viewer.scrollToEnd(); } else { viewer.schedule(); }
        });
      });
    });

    /* --- Header after the run ends --- */
    function showEnd(message) {
      final = true;
      config.status = message.status;
      Object.values(viewers).forEach((viewer) => viewer.finish());
      const old = $("[data-role=status-badge]");
      const badge = statusBadge(message.status, config.statuses);
      badge.setAttribute("data-role", "status-badge");
      badge.setAttribute("data-testid", "status-badge");
      old.replaceWith(badge);
      $("[data-role=exit-code]").textContent = message.exit_code === null || message.exit_code === undefined ? "–" : String(message.exit_code);
      $("[data-role=duration]").textContent = formatDuration(message.duration_seconds);
      $("[data-role=ended-text]").textContent = dateFormat.format(new Date());
      $("[data-role=ended]").classList.remove("d-none");
      if (message.stop_reason) {
        $("[data-role=stop-reason-text]").textContent = config.stop_reasons[message.stop_reason] || message.stop_reason;
        $("[data-role=stop-reason]").classList.remove("d-none");
      }
      const stop = $("[data-sm-action=stop]");
      if (stop) { stop.remove(); }
      const remove = $("[data-sm-action=delete]");
      if (remove) { remove.disabled = false; remove.removeAttribute("title"); }
      $$(".sm-log-toolbar [data-role=connection]").forEach((node) => node.classList.add("d-none"));
    }

    function setConnection(message) {
      $$(".sm-log-toolbar [data-role=connection]").forEach(function (node) {
        node.textContent = message || "";
        node.classList.toggle("d-none", !message);
      });
    }

    /* --- Live tail --- */
    function connectLive() {
      let attempts = 0;
      let ended = false;
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      function connect() {
        const url = scheme + "//" + window.location.host + "/ws/logs/" + id + "/?stdout=" + viewers.stdout.size + "&stderr=" + viewers.stderr.size;
        const socket = new WebSocket(url);
        socket.addEventListener("open", function () { attempts = 0; setConnection(""); });
        socket.addEventListener("message", function (event) {
          let message;
          try { message = JSON.parse(event.data); } catch (e) { return; }
          if (message.type === "output" && viewers[message.stream]) {
            viewers[message.stream].append(message.data, message.offset);
          } else if (message.type === "end") {
            ended = true;
            showEnd(message);
          }
        });
        socket.addEventListener("close", function (event) {
          if (ended) { return; }
          if (event.code === 4404) { setConnection(gettext("This log is gone: it may have been deleted.")); return; }
          if (event.code === 4401) { setConnection(gettext("Your session has ended: sign in again to follow this run.")); return; }
          if (event.code === 4400) { setConnection(gettext("The live view could not start.")); return; }
          // Anything else is unexpected: reconnect from the offsets received so far.
          attempts += 1;
          setConnection(gettext("Connection lost; reconnecting…"));
          setTimeout(connect, Math.min(10000, 500 * 2 ** Math.min(attempts - 1, 5)));
        });
      }
      connect();
    }

    Promise.all(Object.values(viewers).map((viewer) => viewer.open(!final))).then(
      function () { if (!final) { connectLive(); } },
      function (error) { showAlert(errorBox, error.message); }
    );

    /* --- The owner's bookmark and note (PUT .../annotation) --- */
    const bookmarkButton = $("[data-sm-action=bookmark]");
    const noteCard = $("#sm-note-card");
    const note = $("#sm-note");
    const noteState = $("[data-role=note-state]");

    async function annotate(change) {
      const saved = await api("/api/logs/execution/" + id + "/annotation", { method: "PUT", body: change });
      config.bookmarked = saved.bookmarked;
      return saved;
    }

    function renderBookmark() {
      const on = config.bookmarked;
      bookmarkButton.setAttribute("aria-pressed", on ? "true" : "false");
      $("i", bookmarkButton).className = "bi fs-5 " + (on ? "bi-bookmark-fill text-warning" : "bi-bookmark");
      bookmarkButton.title = on ? gettext("Remove the bookmark") : gettext("Bookmark this run");
      noteCard.classList.toggle("d-none", !on && !note.value);
    }

    if (bookmarkButton) {
      bookmarkButton.addEventListener("click", async function () {
        bookmarkButton.disabled = true;
        try {
          await annotate({ bookmarked: !config.bookmarked });
          renderBookmark();
          if (config.bookmarked) { note.focus(); }
        } catch (error) {
          showAlert(errorBox, error.message);
        } finally {
          bookmarkButton.disabled = false;
        }
      });
      let saving = null;
      let pending = Promise.resolve();
      note.addEventListener("input", function () {
        clearTimeout(saving);
        noteState.textContent = "";
        saving = setTimeout(function () {
          const text = note.value;
          pending = pending.then(() => annotate({ note: text })).then(
            function () { if (note.value === text) { noteState.textContent = gettext("Saved"); } },
            function (error) { noteState.textContent = error.message; }
          );
        }, 500);
      });
      renderBookmark();
    }

    /* --- Actions --- */
    const deleteModal = $("#sm-delete-modal");
    document.addEventListener("click", async function (event) {
      const button = event.target.closest("[data-sm-action]");
      if (!button || button.closest(".sm-log-toolbar")) { return; }
      const action = button.dataset.smAction;
      if (action === "rerun") {
        button.disabled = true;
        showAlert(errorBox, "");
        try {
          const payload = { parameters: config.parameters };
          if (config.project_id) { payload.project_id = config.project_id; }
          const result = await api("/api/scripts/" + config.script_id + "/execute", { method: "POST", body: payload });
          window.location.href = result.interface_url || "/logs/" + result.execution_id + "/";
        } catch (error) {
          showAlert(errorBox, error.message);
          button.disabled = false;
        }
      } else if (action === "stop") {
        button.disabled = true;
        try {
          await api("/api/scripts/" + config.script_id + "/stop", { method: "POST", body: { execution_id: id } });
        } catch (error) {
          showAlert(errorBox, error.message);
          button.disabled = false;
        }
      } else if (action === "delete") {
        bootstrap.Modal.getOrCreateInstance(deleteModal).show();
      } else if (action === "confirm-delete") {
        button.disabled = true;
        try {
          await api("/api/logs/execution/" + id, { method: "DELETE" });
          window.location.href = "/logs/";
        } catch (error) {
          bootstrap.Modal.getOrCreateInstance(deleteModal).hide();
          showAlert(errorBox, error.message);
          button.disabled = false;
        }
      }
    });

    window.smLogViewers = viewers; // for the browser tests and the console
  }

  function config(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  const listConfig = config("sm-logs-config");
  if (listConfig) { listPage(listConfig); }
  const detailConfig = config("sm-log-config");
  if (detailConfig) { detailPage(detailConfig); }
})();
