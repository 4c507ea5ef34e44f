from django.contrib import admin

from logs.models import ExecutionLog


@admin.register(ExecutionLog)
class ExecutionLogAdmin(admin.ModelAdmin):
    list_display = (
        "execution_uuid",
        "script_name",
        "username",
        "project_name",
        "status",
        "stop_reason",
        "start_time",
        "duration_seconds",
        "exit_code",
    )
    list_filter = ("status", "stop_reason", "start_time")
    search_fields = ("execution_uuid", "script_name", "username", "project_name")
    date_hierarchy = "start_time"
    readonly_fields = [f.name for f in ExecutionLog._meta.fields]

    def has_add_permission(self, request):
        return False
