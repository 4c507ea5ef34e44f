/* The Django admin follows the theme chosen in ScriptsManager, the user's one
   setting (templates/admin/base_site.html passes it as data-theme). Loaded in
   the head, before the admin's own theme script reads localStorage. */
(function () {
  "use strict";
  const theme = document.currentScript.dataset.theme;
  if (theme) {
    localStorage.setItem("theme", theme);
    document.documentElement.dataset.theme = theme;
  }
})();
