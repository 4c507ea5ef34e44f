import re
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    source = (BASE / "scriptsmanager" / "settings.py").read_text()
    read = set(re.findall(r'env(?:_\w+|\.db_url)\(\s*"([A-Z_]+)"', source))
    read |= {"SECRET_KEY", "ADMIN_PASSWORD"}  # read outside settings.py
    documented = set(re.findall(r"^([A-Z_]+)=", (BASE / ".env.example").read_text(), re.M))
    assert read, "the pattern found no settings: the test itself is broken"
    assert read - documented == set()
    assert documented - read == set()


def test_each_documented_setting_has_a_comment_above_it():
    lines = (BASE / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            above = lines[index - 1]
            assert above.startswith("#") or re.match(r"^[A-Z_]+=", above), line
