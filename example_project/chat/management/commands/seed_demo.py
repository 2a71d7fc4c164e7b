import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from chat import demo_data, history
from chat.models import Chat, Membership


class Command(BaseCommand):
    help = "Create the demo users and chats; running it again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--history",
            type=int,
            nargs="?",
            const=200_000,
            default=0,
            metavar="COUNT",
            help="Also add COUNT past notifications (default 200,000) over the last 30 days, "
            "with their deliveries, in bulk, once: volume for the digest and the dashboard.",
        )

    def handle(self, *args, **options):
        self.seed()
        if options["history"]:
            self.add_history(options["history"])

    def add_history(self, count):
        if history.has_history():
            self.stdout.write("History already present.")
            return
        chats = list(Chat.objects.select_related("admin").order_by("pk"))
        started = time.monotonic()
        rows = history.create_history(count, chats)
        seconds = time.monotonic() - started
        self.stdout.write(f"Added {count:,} past notifications and {rows:,} deliveries "
                          f"in {seconds:.1f} s.")  # fmt: skip

    @transaction.atomic
    def seed(self):
        users = {name: self.user(name) for name in demo_data.USERNAMES}
        admin = users[demo_data.SUPERUSER]
        joined = []
        for title, members in demo_data.CHATS.items():
            chat, _ = Chat.objects.get_or_create(title=title, defaults={"admin": admin})
            for name in members:
                # A new membership sends the admin an email once this transaction commits.
                _, created = Membership.objects.get_or_create(chat=chat, user=users[name])
                if created:
                    joined.append(f"{name} -> {title}")
        if joined:
            self.stdout.write(f"Added memberships (emails on their way): {', '.join(joined)}")
        else:
            self.stdout.write("Demo data already present.")

    def user(self, name):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=name,
            defaults={
                "email": f"{name}@{demo_data.EMAIL_DOMAIN}",
                "first_name": demo_data.FIRST_NAMES[name],
            },
        )
        if created:
            user.set_password(demo_data.PASSWORD)
            user.is_staff = user.is_superuser = name == demo_data.SUPERUSER
            user.save()
            self.stdout.write(f"Created user {name}")
        return user
