"""Move this installation's database into another one, typically from the
embedded SQLite file to PostgreSQL:

    python manage.py move_database --to postgres://user:password@host/db

Stop the application first. The target is migrated, then every table of every
installed model is copied in dependency order with its primary keys, inside
one transaction on the target (a failure leaves it without any of the rows),
and its sequences are reset so new rows get fresh ids. The source is only
read. The SQLite full-text table (logs_executionlog_fts) is not a model and is
not copied: PostgreSQL has its own index, made by the migrations.
"""

import warnings
from collections.abc import Iterator
from typing import Any

import environ
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ExpressionWrapper, F, JSONNull, QuerySet, TextField
from django.db.models.sql import InsertQuery
from picklefield.fields import PickledObject, PickledObjectField

TARGET_ALIAS = "move_target"
TARGET_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")
# Filled by `migrate` on any database (post_migrate): present in a new target,
# and replaced by the source's rows so that the ids stored elsewhere (admin
# log entries, user and group permissions) keep pointing at the same rows.
MIGRATE_FILLED = ("django_content_type", "auth_permission")
# One INSERT stays under PostgreSQL's 65535 parameters and a bounded size
# (log rows carry up to OUTPUT_DB_LIMIT_BYTES per stream).
MAX_PARAMETERS = 60000
MAX_ROWS = 1000
MAX_BATCH_BYTES = 16 * 1024 * 1024
READ_CHUNK = 500
PROBLEMS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Copy this installation's database (the current DATABASE_URL, SQLite by default) "
        "into another database, e.g. PostgreSQL: migrates it, copies every row keeping "
        "primary keys, resets its sequences. Stop the application first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to",
            required=True,
            metavar="DATABASE_URL",
            help="The target, e.g. postgres://user:password@127.0.0.1:5432/scriptsmanager",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the contents of a target that already holds data.",
        )

    def handle(self, *args, to: str, force: bool, **options):
        target = database_target_register(url=to)
        source = DEFAULT_DB_ALIAS
        if database_describe(source) == database_describe(target):
            raise CommandError("The target is this installation's own database.")
        pending = migrations_pending(source)
        if pending:
            raise CommandError(
                f"This installation's database lacks {pending} migration(s): run "
                "`python manage.py migrate` first, then move it."
            )
        try:
            occupied = tables_with_rows(target)
        except DatabaseError as error:
            raise CommandError(f"Cannot use the target database: {error}".strip()) from None
        if occupied and not force:
            listed = ", ".join(f"{table} ({rows} rows)" for table, rows in occupied[:5])
            more = f" and {len(occupied) - 5} more tables" if len(occupied) > 5 else ""
            raise CommandError(
                f"The target database already holds data: {listed}{more}. Nothing was "
                "changed. Run again with --force to replace its contents with this "
                "installation's."
            )
        self.stdout.write(f"From: {database_describe(source)}")
        self.stdout.write(f"To:   {database_describe(target)}")
        call_command("migrate", database=target, interactive=False, verbosity=0)
        self.stdout.write("Target migrated. Copying rows:")
        copied = database_copy(
            source=source,
            target=target,
            report=lambda label, rows: self.stdout.write(f"  {label:<32} {rows:>9}"),
        )
        total = sum(copied.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Moved {total} rows of {len(copied)} tables; sequences reset. "
                "The source database was not changed."
            )
        )
        self.stdout.write(
            "Next: set DATABASE_URL to the target in the environment (or .env), then "
            "start the application."
        )
        connections[target].close()


def database_target_register(*, url: str) -> str:
    """Add the database at `url` as a connection alias; returns the alias."""
    with warnings.catch_warnings():
        # django-environ warns, and returns no engine, for a scheme it does not know.
        warnings.simplefilter("ignore")
        config = environ.Env.db_url_config(url)
    if config.get("ENGINE") not in TARGET_ENGINES:
        raise CommandError(
            "--to takes a PostgreSQL URL, postgres://user:password@host:5432/name "
            "(or sqlite:////absolute/path.db)."
        )
    configured = connections.configure_settings(
        {DEFAULT_DB_ALIAS: dict(connections.settings[DEFAULT_DB_ALIAS]), TARGET_ALIAS: config}
    )
    connections.settings[TARGET_ALIAS] = configured[TARGET_ALIAS]
    return TARGET_ALIAS


def database_describe(alias: str) -> str:
    """The database behind `alias`, without its password."""
    settings = connections[alias].settings_dict
    vendor = connections[alias].vendor
    if vendor == "sqlite":
        return f"sqlite {settings['NAME']}"
    user = f"{settings['USER']}@" if settings["USER"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"{vendor} {user}{settings['HOST'] or 'localhost'}{port}/{settings['NAME']}"


def migrations_pending(alias: str) -> int:
    executor = MigrationExecutor(connections[alias])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def models_in_dependency_order() -> list[type[models.Model]]:
    """Every model with a table of its own (many-to-many tables included),
    each after the models its foreign keys point to. Cycles cannot break the
    copy: Django's foreign keys are checked at commit on PostgreSQL and SQLite."""
    candidates = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]
    ordered: list[type[models.Model]] = []
    placed: set[type[models.Model]] = set()
    remaining = list(candidates)
    while remaining:
        ready = [
            model
            for model in remaining
            if all(
                dependency in placed or dependency is model or dependency not in candidates
                for dependency in (
                    field.remote_field.model
                    for field in model._meta.concrete_fields
                    if field.remote_field is not None
                )
            )
        ]
        chosen = ready or remaining[:1]
        ordered.extend(chosen)
        placed.update(chosen)
        remaining = [model for model in remaining if model not in placed]
    return ordered


def tables_with_rows(alias: str) -> list[tuple[str, int]]:
    """(table, rows) of every non-empty model table of that database, besides
    those `migrate` fills by itself."""
    connection = connections[alias]
    existing = set(connection.introspection.table_names())
    found = []
    with connection.cursor() as cursor:
        for model in models_in_dependency_order():
            table = model._meta.db_table
            if table not in existing or table in MIGRATE_FILLED:
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            (rows,) = cursor.fetchone()
            if rows:
                found.append((table, rows))
    return found


def database_copy(*, source: str, target: str, report) -> dict[str, int]:
    """Replace the target's rows with the source's, table by table; returns
    {model label: rows}. `report(label, rows)` is called after each table."""
    ordered = models_in_dependency_order()
    target_connection = connections[target]
    copied: dict[str, int] = {}
    problems: list[str] = []
    with transaction.atomic(using=source), transaction.atomic(using=target):
        tables = [model._meta.db_table for model in ordered]
        with target_connection.cursor() as cursor:
            for statement in target_connection.ops.sql_flush(
                no_style(), tables, reset_sequences=False, allow_cascade=False
            ):
                cursor.execute(statement)
        for model in ordered:
            rows = _model_copy(model, source=source, target=target, problems=problems)
            if problems:
                continue
            stored = QuerySet(model=model, using=target).count()
            if stored != rows:
                raise CommandError(
                    f"{model._meta.label}: {rows} rows read but {stored} stored; "
                    "the target was left unchanged."
                )
            copied[model._meta.label] = rows
            report(model._meta.label, rows)
        if problems:
            shown = "\n  ".join(problems[:PROBLEMS_SHOWN])
            more = len(problems) - PROBLEMS_SHOWN
            raise CommandError(
                "Some rows do not fit the target database; nothing was copied. "
                "Shorten these values in this installation, then run again:\n  "
                + shown
                + (f"\n  ... and {more} more" if more > 0 else "")
            )
        with target_connection.cursor() as cursor:
            for statement in target_connection.ops.sequence_reset_sql(no_style(), ordered):
                cursor.execute(statement)
    return copied


def _model_copy(model, *, source: str, target: str, problems: list[str]) -> int:
    """Copy one model's rows; returns how many were read. Values that would not
    fit go to `problems` (and nothing is inserted once there is one)."""
    fields = [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]
    target_connection = connections[target]
    postgres = target_connection.vendor == "postgresql"
    batch: list[_Row] = []
    batch_bytes = 0
    per_insert = max(1, min(MAX_ROWS, MAX_PARAMETERS // len(fields)))
    read = 0
    for values in _rows_read(model, fields, source=source):
        read += 1
        row = _Row()
        for field, value in zip(fields, values, strict=True):
            value = _value_for_target(field, value, postgres=postgres)
            limit = getattr(field, "max_length", None)
            if (
                isinstance(field, models.CharField)
                and limit
                and isinstance(value, str)
                and len(value) > limit
            ):
                problems.append(
                    f"{model._meta.label} pk={values[0] if fields[0].primary_key else '?'}: "
                    f"{field.name} has {len(value)} characters, at most {limit} fit"
                )
            setattr(row, field.attname, value)
            batch_bytes += len(value) if isinstance(value, str | bytes) else 8
        if problems:
            batch, batch_bytes = [], 0
            continue
        batch.append(row)
        if len(batch) >= per_insert or batch_bytes >= MAX_BATCH_BYTES:
            _rows_insert(model, fields, batch, target=target)
            batch, batch_bytes = [], 0
    if batch and not problems:
        _rows_insert(model, fields, batch, target=target)
    return read


class _Row:
    """Attribute holder for one row: raw inserts read values by attname,
    without building model instances (whose modeltranslation descriptors
    would rewrite the translated fields)."""


def _rows_read(model, fields, *, source: str) -> Iterator[tuple]:
    # A plain QuerySet, not the model's manager: modeltranslation's manager
    # rewrites `name` to the active language's column.
    queryset = QuerySet(model=model, using=source)
    names = []
    for field in fields:
        if isinstance(field, PickledObjectField):
            # The stored text as it is: unpickling django-q2's task arguments
            # and results would need every pickled class to be importable.
            alias = f"_raw_{field.attname}"
            queryset = queryset.annotate(
                **{alias: ExpressionWrapper(F(field.attname), output_field=TextField())}
            )
            names.append(alias)
        else:
            names.append(field.attname)
    pk = model._meta.pk.attname
    return queryset.order_by(pk).values_list(*names).iterator(chunk_size=READ_CHUNK)


def _value_for_target(field, value: Any, *, postgres: bool) -> Any:
    if isinstance(field, PickledObjectField):
        return None if value is None else PickledObject(value)
    if isinstance(field, models.JSONField):
        if value is None and not field.null:
            return JSONNull()
        return _without_nul(value) if postgres else value
    if postgres and isinstance(value, str):
        return _without_nul(value)
    return value


def _without_nul(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold NUL characters, which SQLite keeps
    (script output). They become U+FFFD; the log files keep the raw output."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _rows_insert(model, fields, rows: list[_Row], *, target: str) -> None:
    query = InsertQuery(model)
    query.insert_values(fields, rows, raw=True)
    query.get_compiler(using=target).execute_sql(returning_fields=None)
