from django.apps import AppConfig


class ScriptsManagerConfig(AppConfig):
    name = "scriptsmanager"
    verbose_name = "SIDEL ScriptsManager"
