from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.defaultfilters import date as date_format
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts import services, services_admin
from accounts.forms import AdminLoginForm, AdminUserChangeForm, AdminUserCreationForm
from accounts.levels import Level
from accounts.models import AuditEvent, User

admin.site.site_header = _("SIDEL ScriptsManager administration")
admin.site.site_title = _("SIDEL ScriptsManager")
admin.site.index_title = _("Administration")
admin.site.site_url = "/"
admin.site.login_form = AdminLoginForm
# Access is by user level, not by Django groups: hide them to avoid two systems.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    list_display = (
        "username",
        "email",
        "user_level",
        "is_active",
        "preferred_language",
        "last_login",
    )
    list_filter = ("user_level", "is_active", "preferred_language")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("user_level", "is_active")}),
        (_("Preferences"), {"fields": ("preferred_language", "preferred_theme")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        (_("Projects and data"), {"fields": ("projects_data",)}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "user_level",
                    "preferred_language",
                    "preferred_theme",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined", "projects_data")
    actions = ["deactivate_users", "activate_users"]

    @admin.display(description=_("Projects and data usage"))
    def projects_data(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        usage = services_admin.user_projects_usage(user=obj)
        if not usage["projects"]:
            return _("No projects yet.")
        headers = (_("Group"), _("Project"), _("Default"), _("Created"), _("Last used"))
        headers += (_("Data"), _("Files"))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    p["group_name"],
                    p["name"],
                    _("yes") if p["is_default"] else "",
                    date_format(p["created_at"], "SHORT_DATETIME_FORMAT"),
                    date_format(p["last_accessed"], "SHORT_DATETIME_FORMAT") or "-",
                    filesizeformat(p["data_bytes"]),
                    p["file_count"],
                )
                for p in usage["projects"]
            ),
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody>"
            "<tfoot><tr><th colspan='5'>{}</th><th>{}</th><th>{}</th></tr></tfoot></table>",
            format_html_join("", "<th>{}</th>", ((h,) for h in headers)),
            rows,
            _("Total"),
            filesizeformat(usage["total_bytes"]),
            usage["total_files"],
        )

    def has_delete_permission(self, request, obj=None):
        if obj is not None and services_admin.user_removal_refusal(
            user=obj, actor=request.user, action="delete"
        ):
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            return form

        class GuardedForm(form):
            """Refuses what the API refuses: demoting or deactivating yourself or
            the last active admin. `obj` still holds the saved values here."""

            def clean(self):
                cleaned = super().clean()
                level = cleaned.get("user_level", obj.user_level)
                active = cleaned.get("is_active", obj.is_active)
                was_admin = obj.user_level == Level.ADMIN and obj.is_active
                if was_admin and not (level == Level.ADMIN and active):
                    refusal = services_admin.user_removal_refusal(
                        user=obj,
                        actor=request.user,
                        action="demote" if level != Level.ADMIN else "deactivate",
                    )
                    if refusal is not None:
                        raise ValidationError(refusal.message)
                username = cleaned.get("username")
                if username and username != obj.username:
                    # The API's checks for a rename: its folders must be able to follow.
                    try:
                        services_admin.user_rename_check(user=obj, username=username)
                    except services_admin.UserChangeRefused as refusal:
                        self.add_error("username", refusal.message)
                    except ValidationError as error:
                        for message in error.message_dict.get("username", error.messages):
                            self.add_error("username", message)
                return cleaned

        return GuardedForm

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            stored = User.objects.get(pk=obj.pk)
            if obj.username != stored.username:
                # Through the API's service: the data and log folders follow the
                # new name (audited there), or nothing is renamed.
                services_admin.user_update(
                    user=stored, request=request, changes={"username": obj.username}
                )
            before = services.user_snapshot(stored)
        super().save_model(request, obj, form, change)
        services.user_changes_audit(request=request, user=obj, before=before)

    def delete_model(self, request, obj):
        # The same deletion as the API: scripts stopped, data backed up, then removed.
        try:
            result = services_admin.user_delete(user=obj, request=request)
        except services_admin.UserChangeRefused as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
        except services_admin.BackupFailed as error:
            self.message_user(
                request,
                _("The backup could not be written (%(error)s); nothing was removed.")
                % {"error": error},
                messages.ERROR,
            )
        else:
            self.message_user(
                request, _("Data backed up to %(name)s.") % {"name": result["backup"]}
            )

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)

    def response_delete(self, request, obj_display, obj_id):
        if User.objects.filter(pk=obj_id).exists():  # refused: the message says why
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[obj_id]))
        return super().response_delete(request, obj_display, obj_id)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            services.audit_record(
                action=AuditEvent.Action.PASSWORD_RESET,
                actor=request.user,
                request=request,
                target=User.objects.get(pk=id),
            )
        return response

    def _set_active(self, request, queryset, active: bool) -> int:
        count = 0
        for user in queryset.exclude(is_active=active):
            before = services.user_snapshot(user)
            user.is_active = active
            user.save(update_fields=["is_active"])
            services.user_changes_audit(request=request, user=user, before=before)
            count += 1
        return count

    @admin.action(description=_("Deactivate selected users"))
    def deactivate_users(self, request, queryset):
        count = self._set_active(request, queryset.exclude(pk=request.user.pk), False)
        self.message_user(request, _("%(count)d user(s) deactivated.") % {"count": count})

    @admin.action(description=_("Activate selected users"))
    def activate_users(self, request, queryset):
        count = self._set_active(request, queryset, True)
        self.message_user(request, _("%(count)d user(s) activated.") % {"count": count})


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_username", "target_repr", "ip_address")
    list_filter = ("action", "created_at")
    search_fields = ("actor_username", "target_repr", "ip_address")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
