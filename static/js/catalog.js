/* Group page: filtering, documentation, personal tags, metadata and docs editors,
   and the run form. Every change goes through the JSON API (smApi in app.js). */
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  async function api(url, options) {
    const response = await window.smApi(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const error = new Error((body && body.detail) || gettext("The server answered with an error.") + " (" + response.status + ")");
      error.body = body;
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function showError(box, error) {
    box.textContent = error.message;
    box.classList.remove("d-none");
  }

  function fieldErrors(form, error) {
    $$(".is-invalid", form).forEach((el) => el.classList.remove("is-invalid"));
    const errors = (error.body && error.body.errors) || [];
    errors.forEach(function (item) {
      const feedback = $('[data-error-for="' + item.field.split(".")[0] + '"]', form);
      if (feedback) {
        feedback.textContent = item.message;
        const input = feedback.parentElement.querySelector("input, select, textarea");
        if (input) { input.classList.add("is-invalid"); }
      }
    });
  }

  /* --- Filtering by text and tags --- */
  const filter = $("#sm-filter");
  const activeTags = new Set();
  function applyFilter() {
    const words = (filter ? filter.value : "").toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    $$(".sm-script").forEach(function (card) {
      const text = card.dataset.search;
      const tags = card.dataset.tags.split(" ");
      const ok = words.every((w) => text.includes(w)) && Array.from(activeTags).every((t) => tags.includes(t));
      card.classList.toggle("d-none", !ok);
      if (ok) { shown += 1; }
    });
    const none = $("#sm-no-match");
    if (none) { none.classList.toggle("d-none", shown > 0 || !$$(".sm-script").length); }
  }
  if (filter) { filter.addEventListener("input", applyFilter); }
  $$(".sm-tag-filter").forEach(function (button) {
    button.addEventListener("click", function () {
      const tag = button.dataset.tag;
      if (activeTags.has(tag)) { activeTags.delete(tag); } else { activeTags.add(tag); }
      button.classList.toggle("active", activeTags.has(tag));
      button.setAttribute("aria-pressed", activeTags.has(tag));
      applyFilter();
    });
  });

  /* --- Per-script actions --- */
  const language = document.documentElement.lang || "en";
  let current = null; // the script card an editor was opened for

  async function toggleDoc(card, button) {
    const panel = $(".sm-doc-panel", card);
    const open = panel.classList.toggle("d-none") === false;
    button.setAttribute("aria-expanded", open);
    if (!open || panel.dataset.loaded) { return; }
    const target = $(".sm-doc", panel);
    try {
      const doc = await api("/api/scripts/" + card.dataset.scriptId + "/description-long?language=" + language);
      if (doc.exists) {
        target.innerHTML = doc.html; // sanitised on the server
        if (doc.language !== language) {
          const note = document.createElement("div");
          note.className = "small text-body-secondary mb-2";
          note.textContent = gettext("Shown in English: there is no translation yet.");
          target.prepend(note);
        }
        if (window.smRenderMath) { window.smRenderMath(target); }
      } else {
        target.textContent = gettext("This script has no documentation yet.");
      }
      panel.dataset.loaded = "1";
    } catch (error) {
      target.textContent = error.message;
    }
  }

  async function editTags(card) {
    const id = card.dataset.scriptId;
    const tags = await api("/api/scripts/" + id + "/tags");
    const answer = window.prompt(gettext("Your personal tags for this script, separated by commas:"), tags.personal.join(", "));
    if (answer === null) { return; }
    const list = answer.split(",").map((t) => t.trim()).filter(Boolean);
    try {
      const saved = await api("/api/scripts/" + id + "/tags", { method: "PUT", body: { tags: list } });
      const box = $(".sm-tags", card);
      $$(".sm-personal-tag", box).forEach((el) => el.remove());
      saved.personal.forEach(function (tag) {
        const badge = document.createElement("span");
        badge.className = "badge text-bg-info sm-personal-tag";
        badge.textContent = "#" + tag;
        box.appendChild(badge);
      });
      card.dataset.tags = saved.system.concat(saved.personal).map((t) => t.toLowerCase()).join(" ");
      applyFilter();
    } catch (error) {
      window.alert(error.message);
    }
  }

  /* --- Metadata editor --- */
  const metadataModal = $("#sm-metadata-modal");
  const metadataForm = $("#sm-metadata-form");
  async function editMetadata(card) {
    current = card;
    const data = await api("/api/scripts/" + card.dataset.scriptId + "/metadata");
    $("[data-role=form-error]", metadataForm).classList.add("d-none");
    $$(".is-invalid", metadataForm).forEach((el) => el.classList.remove("is-invalid"));
    $$("[data-field]", metadataForm).forEach(function (input) {
      const field = input.dataset.field;
      let value = data[field];
      if (input.dataset.lang) { value = (value || {})[input.dataset.lang]; }
      if (field === "tags") { value = (value || []).join(", "); }
      if (field === "parameters") { value = JSON.stringify(value || [], null, 2); }
      input.value = value === null || value === undefined ? "" : value;
    });
    $("[data-role=edited]", metadataForm).textContent = data.edited_fields.length
      ? gettext("Edited here (kept when the files change):") + " " + data.edited_fields.join(", ")
      : "";
    metadataForm.dataset.edited = JSON.stringify(data.edited_fields);
    bootstrap.Modal.getOrCreateInstance(metadataModal).show();
  }

  function metadataPayload() {
    const payload = { display_name: {}, description: {} };
    $$("[data-field]", metadataForm).forEach(function (input) {
      const field = input.dataset.field;
      if (input.dataset.lang) { payload[field][input.dataset.lang] = input.value; return; }
      if (field === "tags") { payload.tags = input.value.split(",").map((t) => t.trim()).filter(Boolean); return; }
      if (field === "execution_timeout") { payload[field] = input.value ? Number(input.value) : null; return; }
      payload[field] = input.value;
    });
    try {
      payload.parameters = JSON.parse(payload.parameters || "[]");
    } catch (e) {
      const error = new Error(gettext("Parameters are not valid JSON:") + " " + e.message);
      error.body = { errors: [{ field: "parameters", message: e.message }] };
      throw error;
    }
    return payload;
  }

  async function saveMetadata(extra) {
    const box = $("[data-role=form-error]", metadataForm);
    box.classList.add("d-none");
    try {
      const payload = extra || metadataPayload();
      await api("/api/scripts/" + current.dataset.scriptId + "/metadata", { method: "PUT", body: payload });
      window.location.reload();
    } catch (error) {
      showError(box, error);
      fieldErrors(metadataForm, error);
    }
  }
  if (metadataForm) {
    metadataForm.addEventListener("submit", function (event) { event.preventDefault(); saveMetadata(); });
  }

  /* --- Documentation editor --- */
  const docModal = $("#sm-doc-modal");
  const docText = $("#sm-doc-text");
  const docPreview = $("#sm-doc-preview");
  const docLanguage = $("#sm-doc-language");
  let previewTimer = null;

  async function preview() {
    try {
      const result = await api("/api/scripts/" + current.dataset.scriptId + "/description-long/preview", {
        method: "POST", body: { markdown: docText.value, language: docLanguage.value },
      });
      docPreview.innerHTML = result.html; // sanitised on the server
      if (window.smRenderMath) { window.smRenderMath(docPreview); }
    } catch (error) {
      docPreview.textContent = error.message;
    }
  }

  async function loadDoc() {
    const lang = docLanguage.value;
    const doc = await api("/api/scripts/" + current.dataset.scriptId + "/description-long?language=" + lang);
    const exact = doc.exists && doc.language === lang;
    docText.value = exact ? doc.markdown : "";
    $("[data-role=doc-missing]", docModal).classList.toggle("d-none", exact);
    $("[data-role=doc-path]", docModal).textContent = doc.path;
    preview();
  }

  async function editDoc(card) {
    current = card;
    docLanguage.value = language;
    $("[data-role=form-error]", docModal).classList.add("d-none");
    await loadDoc();
    bootstrap.Modal.getOrCreateInstance(docModal).show();
  }

  if (docModal) {
    docText.addEventListener("input", function () {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(preview, 300);
    });
    docLanguage.addEventListener("change", loadDoc);
    docModal.addEventListener("hidden.bs.modal", function () {
      if (current) { delete $(".sm-doc-panel", current).dataset.loaded; }
    });
  }

  async function saveDoc() {
    const box = $("[data-role=form-error]", docModal);
    box.classList.add("d-none");
    try {
      await api("/api/scripts/" + current.dataset.scriptId + "/description-long", {
        method: "PUT", body: { markdown: docText.value, language: docLanguage.value },
      });
      bootstrap.Modal.getOrCreateInstance(docModal).hide();
    } catch (error) {
      showError(box, error);
    }
  }

  async function docTemplate() {
    try {
      await api("/api/scripts/" + current.dataset.scriptId + "/description-long/template", {
        method: "POST", body: { language: docLanguage.value },
      });
      await loadDoc();
    } catch (error) {
      showError($("[data-role=form-error]", docModal), error);
    }
  }

  /* --- Group actions --- */
  async function groupRefresh(button) {
    button.disabled = true;
    try {
      await api(button.dataset.url, { method: "POST" });
      window.location.reload();
    } catch (error) {
      window.alert(error.message);
      button.disabled = false;
    }
  }

  const envForm = $("#sm-env-form");
  if (envForm) {
    envForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        await api(envForm.dataset.url, { method: "POST", body: { environment: $("#sm-env-input").value } });
        window.location.reload();
      } catch (error) {
        const feedback = $("[data-error-for=environment]", envForm);
        feedback.textContent = error.message;
        $("#sm-env-input").classList.add("is-invalid");
      }
    });
  }

  /* --- Run form --- */
  function runPayload(form) {
    const parameters = {};
    $$("[name]", form).forEach(function (input) {
      const type = input.dataset.type;
      if (type === "bool") { parameters[input.name] = input.checked; return; }
      if (input.value === "") { return; }
      parameters[input.name] = type === "int" || type === "float" ? Number(input.value) : input.value;
    });
    return { parameters: parameters };
  }

  async function followBatch(form, scriptId, result) {
    const box = $("[data-role=run-status]", form);
    box.classList.remove("d-none");
    box.className = "alert alert-info mt-3 mb-0";
    box.textContent = gettext("Running…");
    while (result.status === "running" || result.status === "starting") {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      result = await api("/api/scripts/" + scriptId + "/status?execution_id=" + result.execution_id);
    }
    box.className = "alert mt-3 mb-0 " + (result.status === "completed" ? "alert-success" : "alert-danger");
    box.textContent = interpolate(gettext("Finished: %s (exit code %s)."), [result.status_label, result.exit_code]);
    const output = result.output_tail || result.error;
    if (output) {
      const pre = document.createElement("pre");
      pre.className = "mt-2 mb-0 small";
      pre.textContent = output;
      box.appendChild(pre);
    }
  }

  $$(".sm-run-form").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const box = $("[data-role=run-error]", form);
      const card = form.closest(".sm-script");
      box.classList.add("d-none");
      $$(".is-invalid", form).forEach((el) => el.classList.remove("is-invalid"));
      // Open the tab now, while this is still a user action, or pop-up blockers refuse it.
      const tab = form.dataset.interface === "true" ? window.open("", "_blank") : null;
      const button = $("button[type=submit]", form);
      button.disabled = true;
      try {
        const result = await api(form.dataset.url, { method: "POST", body: runPayload(form) });
        $$("[data-secret=true]", form).forEach((input) => { input.value = ""; });
        if (result.interface_url) {
          if (tab) { tab.location = result.interface_url; } else { window.location.href = result.interface_url; }
        } else {
          if (tab) { tab.close(); }
          if (result.status === "failed") {
            showError(box, new Error(gettext("The script failed to start:") + " " + (result.error || result.status)));
          } else {
            await followBatch(form, card.dataset.scriptId, result);
          }
        }
      } catch (error) {
        if (tab) { tab.close(); }
        showError(box, error);
        fieldErrors(form, error);
      } finally {
        button.disabled = false;
      }
    });
  });

  /* --- Projects: the run form and the interfaces use the active one --- */
  const projectSelect = $("#sm-project");
  if (projectSelect) {
    projectSelect.addEventListener("change", async function () {
      try {
        await api("/api/projects/" + projectSelect.value + "/set-active", { method: "POST" });
        window.location.reload();
      } catch (error) {
        window.alert(error.message);
      }
    });
  }

  async function projectNew() {
    const name = window.prompt(gettext("Name of the new project:"));
    if (!name) { return; }
    try {
      const project = await api("/api/projects", {
        method: "POST", body: { group_id: Number(projectSelect.dataset.groupId), name: name },
      });
      await api("/api/projects/" + project.id + "/set-active", { method: "POST" });
      window.location.reload();
    } catch (error) {
      window.alert(error.message);
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-sm-action]");
    if (!button) { return; }
    const card = button.closest(".sm-script");
    const action = button.dataset.smAction;
    if (action === "toggle-doc") { toggleDoc(card, button); }
    else if (action === "toggle-run") { $(".sm-run-form", card).classList.toggle("d-none"); }
    else if (action === "edit-tags") { editTags(card); }
    else if (action === "edit-metadata") { editMetadata(card); }
    else if (action === "edit-doc") { editDoc(card); }
    else if (action === "reset-metadata") { saveMetadata({ reset: JSON.parse(metadataForm.dataset.edited || "[]") }); }
    else if (action === "refresh-metadata") {
      api("/api/scripts/" + current.dataset.scriptId + "/refresh-metadata", { method: "POST" })
        .then(() => window.location.reload(), (error) => showError($("[data-role=form-error]", metadataForm), error));
    }
    else if (action === "doc-save") { saveDoc(); }
    else if (action === "doc-template") { docTemplate(); }
    else if (action === "group-refresh") { groupRefresh(button); }
    else if (action === "project-new") { projectNew(); }
    else if (action === "group-environment") { bootstrap.Modal.getOrCreateInstance($("#sm-env-modal")).show(); }
  });
})();
