import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

PASSWORD_FILE = Path(settings.BASE_DIR) / ".dev-admin-password"


class Command(BaseCommand):
    help = (
        "Make sure a staff login exists. Creates 'admin' with a random password (never a "
        "fixed default), saved to .dev-admin-password (readable by you only) and printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            name = User.objects.filter(is_superuser=True).order_by("pk").first().get_username()
            if PASSWORD_FILE.is_file() and name == username:
                self.stdout.write(
                    f"Admin login: {name} / {PASSWORD_FILE.read_text().strip()} "
                    f"(from {PASSWORD_FILE.name})"
                )
            else:
                self.stdout.write(
                    f"Admin login: {name} (change it with: python manage.py changepassword {name})"
                )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username, f"{username}@localhost", password)
        PASSWORD_FILE.write_text(password + "\n")
        os.chmod(PASSWORD_FILE, 0o600)
        self.stdout.write(self.style.SUCCESS(f"Created admin login: {username} / {password}"))
