import json

import pytest

from catalog.discovery import discovery_run
from catalog.models import Script
from execution.models import ScriptProcess
from execution.services import LIVE, execution_stop

WEB = """
import argparse, http.server, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--port", type=int)
p.add_argument("--data-dir")
args, rest = p.parse_known_args()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "path": self.path,
            "cookie": self.headers.get("Cookie"),
            "argv": sys.argv[1:],
            "env": os.environ.get("SCRIPTSMANAGER_BASE_URL"),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("listening on", args.port, flush=True)
http.server.HTTPServer(("127.0.0.1", args.port), H).serve_forever()
"""


def header(**keys) -> str:
    lines = []
    for key, value in keys.items():
        lines.append(f"@{key}: {json.dumps(value) if isinstance(value, list) else value}")
    return "\n".join(lines)


@pytest.fixture
def make_script(tree, settings, tmp_path, db):
    """make_script("name.py", body, **header) -> a discovered Script in group 'lab'."""
    settings.LOGS_DIR = tmp_path / "logs"
    settings.INTERFACE_READY_TIMEOUT = 10
    settings.STOP_GRACE_SECONDS = 2

    def make(filename: str, body: str, **keys) -> Script:
        keys.setdefault("required_level", "viewer")
        tree.script("lab", filename, header(**keys), body=body)
        discovery_run()
        return Script.objects.get(filename=filename, group__directory_name="lab")

    yield make
    # Nothing a test started may outlive it.
    for process in ScriptProcess.objects.filter(status__in=LIVE):
        execution_stop(process=process, reason="admin", wait=True)
