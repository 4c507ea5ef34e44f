/* Project pages.
   List page: create a project, set one active for this session, rename or
   describe it, download a backup zip, delete it (the server takes a backup
   first and names it).
   Files page: the project's data files through the data API: list, view,
   download, delete, and a backup zip.
   Every change goes through the JSON API (smApi in app.js); its messages come
   in the user's language and are shown next to the field they are about. */
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

  async function api(url, options) {
    const response = await window.smApi(url, options);
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) { throw apiError(body, response.status); }
    return body;
  }

  function apiError(body, status) {
    const message = (body && typeof body.detail === "string" && body.detail)
      || gettext("The server answered with an error.") + " (" + status + ")";
    const error = new Error(message);
    error.body = body;
    error.status = status;
    return error;
  }

  /* Field errors go under their field; anything no field claims goes in the box. */
  function showErrors(form, box, error) {
    $$(".is-invalid", form).forEach((input) => input.classList.remove("is-invalid"));
    const unclaimed = [];
    const errors = (error.body && error.body.errors) || [];
    errors.forEach(function (item) {
      const feedback = item.field && $('[data-error-for="' + item.field.split(".")[0] + '"]', form);
      const input = feedback && feedback.parentElement.querySelector("input, select, textarea");
      if (input && !input.disabled) {
        feedback.textContent = item.message;
        input.classList.add("is-invalid");
      } else {
        unclaimed.push(item.message);
      }
    });
    const text = errors.length ? unclaimed.join(" ") : error.message;
    box.textContent = text;
    box.classList.toggle("d-none", !text);
    const first = $(".is-invalid", form);
    if (first) { first.focus(); }
  }

  function clearErrors(form, box) {
    $$(".is-invalid", form).forEach((input) => input.classList.remove("is-invalid"));
    box.classList.add("d-none");
    box.textContent = "";
  }

  const statusBox = $("#sm-projects-status");
  function showStatus(kind, text) {
    statusBox.className = "alert alert-" + kind + " alert-dismissible";
    statusBox.textContent = text;
    const close = el("button", "btn-close");
    close.type = "button";
    close.setAttribute("aria-label", gettext("Close"));
    close.addEventListener("click", () => statusBox.classList.add("d-none"));
    statusBox.appendChild(close);
  }

  function formatBytes(n) {
    const units = [pgettext("bytes", "B"), pgettext("bytes", "KB"), pgettext("bytes", "MB"), pgettext("bytes", "GB"), pgettext("bytes", "TB")];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return new Intl.NumberFormat(language, { maximumFractionDigits: i ? 1 : 0 }).format(n) + " " + units[i];
  }

  const dateFormat = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });

  function busy(button, on) {
    button.disabled = on;
    const spinner = $(".spinner-border", button);
    if (on && !spinner) {
      const icon = el("span", "spinner-border spinner-border-sm me-1");
      icon.setAttribute("aria-hidden", "true");
      button.prepend(icon);
    } else if (!on && spinner) {
      spinner.remove();
    }
  }

  /* --- Backup zip: POST makes it on the server and answers with it --- */
  function attachmentName(header) {
    const encoded = /filename\*=utf-8''([^;]+)/i.exec(header || "");
    if (encoded) { return decodeURIComponent(encoded[1]); }
    const plain = /filename="?([^";]+)"?/i.exec(header || "");
    return plain ? plain[1] : "backup.zip";
  }

  async function backupDownload(button, dataUrl) {
    busy(button, true);
    try {
      const response = await window.smApi(dataUrl + "/backup", { method: "POST" });
      if (!response.ok) {
        let body = null;
        try { body = await response.json(); } catch (e) { body = null; }
        throw apiError(body, response.status);
      }
      const name = attachmentName(response.headers.get("Content-Disposition"));
      const url = URL.createObjectURL(await response.blob());
      const link = el("a");
      link.href = url;
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      showStatus("success", interpolate(gettext("Backup %s taken and downloaded; a copy stays on the server."), [name]));
    } catch (error) {
      showStatus("danger", error.message);
    } finally {
      busy(button, false);
    }
  }

  /* ===================== List page ===================== */
  const newForm = $("#sm-project-form");
  if (newForm) {
    const groupSelect = $("#sm-new-group");
    const preset = /^#group-(\d+)$/.exec(window.location.hash);
    if (preset && $('option[value="' + preset[1] + '"]', groupSelect)) { groupSelect.value = preset[1]; }

    newForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const box = $("[data-role=form-error]", newForm);
      clearErrors(newForm, box);
      const button = $("button[type=submit]", newForm);
      busy(button, true);
      try {
        const project = await api("/api/projects", {
          method: "POST",
          body: {
            group_id: groupSelect.value ? Number(groupSelect.value) : null,
            name: $("#sm-new-name").value,
            description: $("#sm-new-description").value,
          },
        });
        window.location.replace(window.location.pathname + "?created=" + project.id + "#project-" + project.id);
      } catch (error) {
        showErrors(newForm, box, error);
        busy(button, false);
      }
    });
  }

  function rowOf(button) { return button.closest("[data-project-id]"); }

  async function projectActivate(row, button) {
    busy(button, true);
    try {
      await api("/api/projects/" + row.dataset.projectId + "/set-active", { method: "POST" });
      window.location.reload();
    } catch (error) {
      showStatus("danger", error.message);
      busy(button, false);
    }
  }

  /* --- Rename or describe --- */
  const editModal = $("#sm-edit-modal");
  const editForm = $("#sm-edit-form");
  let editing = null;

  function projectEdit(row) {
    editing = row;
    const isDefault = row.dataset.default === "true";
    const name = $("#sm-edit-name");
    clearErrors(editForm, $("[data-role=form-error]", editForm));
    name.value = row.dataset.name;
    name.disabled = isDefault;
    $("[data-role=default-note]", editForm).classList.toggle("d-none", !isDefault);
    $("[data-role=rename-note]", editForm).classList.toggle("d-none", isDefault);
    $("#sm-edit-description").value = row.dataset.description;
    bootstrap.Modal.getOrCreateInstance(editModal).show();
  }

  if (editModal) {
    editModal.addEventListener("shown.bs.modal", function () {
      const name = $("#sm-edit-name");
      (name.disabled ? $("#sm-edit-description") : name).focus();
    });
    editForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const box = $("[data-role=form-error]", editForm);
      clearErrors(editForm, box);
      const name = $("#sm-edit-name");
      const payload = { description: $("#sm-edit-description").value };
      if (!name.disabled) { payload.name = name.value; }
      const button = $("button[type=submit]", editForm);
      busy(button, true);
      try {
        await api("/api/projects/" + editing.dataset.projectId, { method: "PUT", body: payload });
        window.location.reload();
      } catch (error) {
        showErrors(editForm, box, error);
        busy(button, false);
      }
    });
  }

  /* --- Delete: the server backs the data up first and names the zip --- */
  const deleteModal = $("#sm-delete-modal");
  let deleting = null;
  let deleted = false;

  function projectDelete(row) {
    deleting = row;
    deleted = false;
    $("[data-role=question]", deleteModal).textContent = interpolate(
      gettext("Delete the project “%s”?"), [row.dataset.name]
    );
    $("[data-role=confirm]", deleteModal).classList.remove("d-none");
    $("[data-role=done]", deleteModal).classList.add("d-none");
    $("[data-role=form-error]", deleteModal).classList.add("d-none");
    $("[data-sm-action=confirm-delete]", deleteModal).classList.remove("d-none");
    $("[data-role=cancel]", deleteModal).classList.remove("d-none");
    $("[data-role=close]", deleteModal).classList.add("d-none");
    bootstrap.Modal.getOrCreateInstance(deleteModal).show();
  }

  async function confirmDelete(button) {
    const box = $("[data-role=form-error]", deleteModal);
    box.classList.add("d-none");
    busy(button, true);
    try {
      const result = await api("/api/projects/" + deleting.dataset.projectId, {
        method: "DELETE", body: { confirm: true },
      });
      deleted = true;
      $("[data-role=done-message]", deleteModal).textContent = interpolate(
        gettext("The project “%s” is deleted."), [deleting.dataset.name]
      );
      $("[data-role=backup-line]", deleteModal).textContent = result.backup
        ? gettext("Its data was saved first, in the server's backups folder, as:")
        : gettext("It had no data folder, so there was nothing to back up.");
      $("[data-role=backup-name]", deleteModal).textContent = result.backup;
      $("[data-role=backup-name]", deleteModal).classList.toggle("d-none", !result.backup);
      $("[data-role=confirm]", deleteModal).classList.add("d-none");
      $("[data-role=done]", deleteModal).classList.remove("d-none");
      button.classList.add("d-none");
      $("[data-role=cancel]", deleteModal).classList.add("d-none");
      $("[data-role=close]", deleteModal).classList.remove("d-none");
      deleting.remove();
      $("[data-role=close]", deleteModal).focus();
    } catch (error) {
      box.textContent = error.message;
      box.classList.remove("d-none");
    } finally {
      busy(button, false);
    }
  }

  if (deleteModal) {
    // The counters and the active badge may have changed: show the page afresh.
    deleteModal.addEventListener("hidden.bs.modal", function () {
      if (deleted) { window.location.reload(); }
    });
  }

  /* ===================== Files page ===================== */
  const filesPage = $("#sm-project-files");
  const INLINE = /\.(txt|csv|md|markdown|json)$/i;
  let fileToDelete = null;

  function fileUrl(name) {
    return filesPage.dataset.dataUrl + "/" + name.split("/").map(encodeURIComponent).join("/");
  }

  function fileRow(file) {
    const tr = el("tr");
    tr.dataset.name = file.name;
    tr.dataset.testid = "file-row";
    const nameCell = el("td");
    const icon = el("i", "bi bi-file-earmark me-2 text-body-secondary");
    icon.setAttribute("aria-hidden", "true");
    nameCell.append(icon, el("span", "font-monospace small text-break", file.name));
    tr.appendChild(nameCell);
    tr.appendChild(el("td", "text-end text-nowrap small", formatBytes(file.size)));
    tr.appendChild(el("td", "text-nowrap small text-body-secondary", dateFormat.format(new Date(file.modified))));
    const actions = el("td", "text-end text-nowrap");
    if (INLINE.test(file.name)) {
      const view = el("a", "btn btn-sm btn-outline-secondary me-1");
      view.href = fileUrl(file.name);
      view.target = "_blank";
      view.rel = "noopener";
      view.title = gettext("View");
      view.append(el("i", "bi bi-eye"), el("span", "visually-hidden", gettext("View")));
      actions.appendChild(view);
    }
    const download = el("a", "btn btn-sm btn-outline-secondary me-1");
    download.href = fileUrl(file.name);
    download.download = file.name.split("/").pop();
    download.title = gettext("Download");
    download.append(el("i", "bi bi-download"), el("span", "visually-hidden", gettext("Download")));
    const remove = el("button", "btn btn-sm btn-outline-danger");
    remove.type = "button";
    remove.dataset.smAction = "file-delete";
    remove.dataset.testid = "file-delete";
    remove.title = gettext("Delete");
    remove.append(el("i", "bi bi-trash"), el("span", "visually-hidden", gettext("Delete")));
    actions.append(download, remove);
    tr.appendChild(actions);
    return tr;
  }

  function filesSummary() {
    const rows = $$("#sm-file-rows tr[data-name]");
    const total = rows.reduce((sum, row) => sum + Number(row.dataset.size || 0), 0);
    $("#sm-files-summary").textContent = interpolate(
      ngettext("%(count)s file · %(size)s", "%(count)s files · %(size)s", rows.length),
      { count: rows.length, size: formatBytes(total) }, true
    );
    if (!rows.length) {
      const tbody = $("#sm-file-rows");
      tbody.replaceChildren();
      const tr = el("tr", "sm-placeholder");
      const td = el("td", "text-center text-body-secondary py-4", gettext("This project has no data files yet. Scripts write theirs here when they run in it."));
      td.colSpan = 4;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  }

  async function filesLoad() {
    const tbody = $("#sm-file-rows");
    try {
      const files = await api(filesPage.dataset.dataUrl + "/files");
      tbody.replaceChildren(...files.map(function (file) {
        const tr = fileRow(file);
        tr.dataset.size = file.size;
        return tr;
      }));
      filesSummary();
    } catch (error) {
      tbody.replaceChildren();
      const tr = el("tr");
      const td = el("td", "text-danger py-3", error.message);
      td.colSpan = 4;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  }

  const fileDeleteModal = $("#sm-file-delete-modal");
  function fileDelete(row) {
    fileToDelete = row;
    $("[data-role=question]", fileDeleteModal).textContent = interpolate(
      gettext("Delete the file “%s” from this project's data? There is no backup of it unless you take one first."),
      [row.dataset.name]
    );
    $("[data-role=form-error]", fileDeleteModal).classList.add("d-none");
    bootstrap.Modal.getOrCreateInstance(fileDeleteModal).show();
  }

  async function confirmFileDelete(button) {
    const box = $("[data-role=form-error]", fileDeleteModal);
    busy(button, true);
    try {
      const response = await window.smApi(fileUrl(fileToDelete.dataset.name), { method: "DELETE" });
      if (!response.ok) {
        let body = null;
        try { body = await response.json(); } catch (e) { body = null; }
        throw apiError(body, response.status);
      }
      fileToDelete.remove();
      filesSummary();
      bootstrap.Modal.getOrCreateInstance(fileDeleteModal).hide();
    } catch (error) {
      box.textContent = error.message;
      box.classList.remove("d-none");
    } finally {
      busy(button, false);
    }
  }

  if (filesPage) { filesLoad(); }

  /* ===================== Actions ===================== */
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-sm-action]");
    if (!button) { return; }
    const action = button.dataset.smAction;
    if (action === "project-activate") { projectActivate(rowOf(button), button); }
    else if (action === "project-edit") { projectEdit(rowOf(button)); }
    else if (action === "project-delete") { projectDelete(rowOf(button)); }
    else if (action === "confirm-delete") { confirmDelete(button); }
    else if (action === "project-backup") {
      const holder = rowOf(button) || filesPage;
      backupDownload(button, holder.dataset.dataUrl);
    }
    else if (action === "files-refresh") { filesLoad(); }
    else if (action === "file-delete") { fileDelete(button.closest("tr")); }
    else if (action === "confirm-file-delete") { confirmFileDelete(button); }
  });
})();
