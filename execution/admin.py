from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from execution.models import PortAllocation, ScriptProcess
from execution.services import LIVE, execution_stop


@admin.register(ScriptProcess)
class ScriptProcessAdmin(admin.ModelAdmin):
    list_display = (
        "execution",
        "script",
        "user",
        "status",
        "flask_port",
        "runner_pid",
        "started_at",
        "last_ping",
        "stop_reason",
    )
    list_filter = ("status", "stop_reason", "has_interface")
    search_fields = ("user__username", "script__filename", "execution__execution_uuid")
    list_select_related = ("execution", "script", "user")
    readonly_fields = [f.name for f in ScriptProcess._meta.fields]
    actions = ["stop_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Stop the selected scripts"))
    def stop_selected(self, request, queryset):
        stopped = 0
        for process in queryset.filter(status__in=LIVE):
            execution_stop(
                process=process, reason=ScriptProcess.StopReason.ADMIN, by=request.user, wait=False
            )
            stopped += 1
        self.message_user(
            request, _("Asked %(n)d script(s) to stop.") % {"n": stopped}, messages.SUCCESS
        )


@admin.register(PortAllocation)
class PortAllocationAdmin(admin.ModelAdmin):
    list_display = (
        "port_number",
        "status",
        "user",
        "script",
        "process_id",
        "allocated_at",
        "released_at",
    )
    list_filter = ("status",)
    search_fields = ("port_number", "user__username")
    list_select_related = ("user", "script")
    readonly_fields = [f.name for f in PortAllocation._meta.fields]

    def has_add_permission(self, request):
        return False
