"""Create a personal REST API token for a user and print its secret (shown once, stored hashed)."""

from django.core.management.base import BaseCommand, CommandError

from partners.models import ApiToken, User


class Command(BaseCommand):
    help = "Create a REST API token for USERNAME and print it (only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        token, secret = ApiToken.create_for(user, name[:100])
        self.stderr.write(f"Token {token.prefix}… created for {username}; it is printed once, below.")
        self.stdout.write(secret)
