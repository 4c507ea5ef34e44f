from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from catalog.models import CondaEnvironment, Script, ScriptGroup, UserScriptTags


@admin.register(ScriptGroup)
class ScriptGroupAdmin(TranslationAdmin):
    list_display = ("directory_name", "name", "required_level", "conda_environment", "is_active")
    list_filter = ("is_active", "required_level")
    search_fields = ("directory_name", "name")
    readonly_fields = (
        "directory_name",
        "errors",
        "discovered_at",
        "updated_at",
        "source_signature",
    )


@admin.register(Script)
class ScriptAdmin(TranslationAdmin):
    list_display = ("filename", "display_name", "group", "required_level", "interface", "is_active")
    list_filter = ("is_active", "required_level", "interface", "group")
    search_fields = ("filename", "display_name", "description")
    list_select_related = ("group",)
    readonly_fields = (
        "group",
        "filename",
        "errors",
        "last_modified",
        "discovered_at",
        "updated_at",
        "source_signature",
    )


@admin.register(CondaEnvironment)
class CondaEnvironmentAdmin(admin.ModelAdmin):
    list_display = ("name", "python_version", "is_available", "path", "last_verified")
    list_filter = ("is_available",)
    search_fields = ("name", "path")


@admin.register(UserScriptTags)
class UserScriptTagsAdmin(admin.ModelAdmin):
    list_display = ("user", "script", "tags", "updated_at")
    list_select_related = ("user", "script")
