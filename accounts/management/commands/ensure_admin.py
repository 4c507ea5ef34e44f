import os

from django.core.management.base import BaseCommand

from accounts.services import admin_ensure


class Command(BaseCommand):
    help = "Create the first administrator if none exists (password from ADMIN_PASSWORD or random)."

    def handle(self, *args, **options):
        user, password = admin_ensure(password=os.environ.get("ADMIN_PASSWORD") or None)
        if user is None:
            self.stdout.write("An administrator already exists; nothing to do.")
            return
        if os.environ.get("ADMIN_PASSWORD"):
            message = f"Created administrator '{user.username}' (password from ADMIN_PASSWORD)."
            self.stdout.write(self.style.SUCCESS(message))
            return
        rule = "=" * 64
        self.stdout.write(
            self.style.WARNING(
                f"{rule}\n"
                f"  First administrator created.\n"
                f"    username: {user.username}\n"
                f"    password: {password}\n"
                f"  This password is shown only once: note it now and change it\n"
                f"  after logging in (Profile > Change password).\n"
                f"{rule}"
            )
        )
