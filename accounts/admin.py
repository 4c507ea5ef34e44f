from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from accounts.models import AuditEvent, User

admin.site.site_header = _("SIDEL ScriptsManager administration")
admin.site.site_title = _("SIDEL ScriptsManager")
admin.site.index_title = _("Administration")
admin.site.site_url = "/"
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
    readonly_fields = ("last_login", "date_joined")
    actions = ["deactivate_users", "activate_users"]

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            before = services.user_snapshot(User.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        services.user_changes_audit(request=request, user=obj, before=before)

    def delete_model(self, request, obj):
        services.audit_record(
            action=AuditEvent.Action.USER_DELETED, actor=request.user, request=request, target=obj
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.audit_record(
                action=AuditEvent.Action.USER_DELETED,
                actor=request.user,
                request=request,
                target=user,
            )
        super().delete_queryset(request, queryset)

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
