from execution.tests.conftest import make_script  # noqa: F401
