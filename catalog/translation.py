from modeltranslation.translator import TranslationOptions, register

from catalog.models import Script, ScriptGroup


@register(ScriptGroup)
class ScriptGroupTranslation(TranslationOptions):
    fields = ("name", "description")


@register(Script)
class ScriptTranslation(TranslationOptions):
    fields = ("display_name", "description")
