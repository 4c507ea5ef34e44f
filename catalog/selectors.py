"""Reads of the catalog, always through the user's level."""

from pathlib import Path
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.levels import levels_up_to
from catalog.models import CondaEnvironment, Script, ScriptGroup, UserScriptTags
from logs.models import ExecutionLog


def groups_visible_to(*, user) -> QuerySet[ScriptGroup]:
    """Active groups at or below the user's level, with `script_count` of the
    scripts in them the user may see."""
    levels = levels_up_to(user.user_level)
    return (
        ScriptGroup.objects.filter(is_active=True, required_level__in=levels)
        .annotate(
            script_count=Count(
                "scripts",
                filter=Q(scripts__is_active=True, scripts__required_level__in=levels),
            )
        )
        .order_by("directory_name")
    )


def scripts_visible_to(*, user, group: ScriptGroup | None = None) -> QuerySet[Script]:
    levels = levels_up_to(user.user_level)
    scripts = Script.objects.filter(
        is_active=True,
        required_level__in=levels,
        group__is_active=True,
        group__required_level__in=levels,
    ).select_related("group")
    if group is not None:
        scripts = scripts.filter(group=group)
    return scripts.order_by("group__directory_name", "filename")


def group_get_visible(*, user, group_id: int) -> ScriptGroup:
    """The group, or Http404 when it does not exist or the user may not see it."""
    return get_object_or_404(groups_visible_to(user=user), pk=group_id)


def script_get_visible(*, user, script_id: int) -> Script:
    """The script, or Http404 when it does not exist or the user may not see it."""
    return get_object_or_404(scripts_visible_to(user=user), pk=script_id)


def personal_tags_by_script(
    *, user, scripts: list[Script] | QuerySet[Script]
) -> dict[int, list[str]]:
    ids = [s.pk for s in scripts]
    rows = UserScriptTags.objects.filter(user=user, script_id__in=ids).values_list(
        "script_id", "tags"
    )
    return dict(rows)


def scripts_search_tags(*, user, tags: list[str], match: str) -> list[Script]:
    """Visible scripts whose system or personal tags contain all (or any) of `tags`.

    Compared without case. Tags live in JSON lists, which SQLite cannot search
    inside, so the (bounded, visible) set is filtered here.
    """
    wanted = {t.lower() for t in tags}
    scripts = list(scripts_visible_to(user=user))
    personal = personal_tags_by_script(user=user, scripts=scripts)
    found = []
    for script in scripts:
        have = {t.lower() for t in [*script.tags, *personal.get(script.pk, [])]}
        if (wanted <= have) if match == "all" else (wanted & have):
            found.append(script)
    return found


def user_tag_counts(*, user) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    visible = scripts_visible_to(user=user).values_list("pk", flat=True)
    for tags in UserScriptTags.objects.filter(user=user, script_id__in=visible).values_list(
        "tags", flat=True
    ):
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    return [
        {"tag": tag, "count": n} for tag, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]


def environments_by_name() -> dict[str, CondaEnvironment]:
    return {env.name: env for env in CondaEnvironment.objects.all()}


def environment_status(name: str, environments: dict[str, CondaEnvironment]) -> dict[str, Any]:
    """How a group's environment setting stands, without running anything.

    `status` is "manager" (blank: the manager's own Python), "available" or "missing".
    """
    if not name:
        return {"name": "", "status": "manager", "python_version": ""}
    if "/" in name or "\\" in name or name.startswith("~"):
        path = Path(name).expanduser()
        python = path if path.is_file() else path / "bin" / "python"
        return {
            "name": name,
            "status": "available" if python.exists() else "missing",
            "python_version": "",
        }
    env = environments.get(name)
    if env is None or not env.is_available:
        return {"name": name, "status": "missing", "python_version": ""}
    return {"name": name, "status": "available", "python_version": env.python_version}


def recent_scripts_for(*, user, limit: int = 6) -> list[Script]:
    """Scripts the user ran most recently (still visible to them), newest first."""
    recent: list[int] = []
    for script_id in (
        ExecutionLog.objects.filter(user=user, script__isnull=False)
        .order_by("-start_time")
        .values_list("script_id", flat=True)[: limit * 5]
    ):
        if script_id not in recent:
            recent.append(script_id)
    scripts = {s.pk: s for s in scripts_visible_to(user=user).filter(pk__in=recent[:limit])}
    return [scripts[pk] for pk in recent[:limit] if pk in scripts]
