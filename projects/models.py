from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_PROJECT_NAME = "project_default"


class UserProject(models.Model):
    """One user's project in one script group: its own data folder."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    group = models.ForeignKey(
        "catalog.ScriptGroup", on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_accessed = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["group__directory_name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "group", "name"], name="projects_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
