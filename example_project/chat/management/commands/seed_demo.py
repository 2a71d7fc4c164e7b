from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from chat import demo_data
from chat.models import Chat, Membership


class Command(BaseCommand):
    help = "Create the demo users and chats; running it again changes nothing."

    @transaction.atomic
    def handle(self, *args, **options):
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
            username=name, defaults={"email": f"{name}@{demo_data.EMAIL_DOMAIN}"}
        )
        if created:
            user.set_password(demo_data.PASSWORD)
            user.is_staff = user.is_superuser = name == demo_data.SUPERUSER
            user.save()
            self.stdout.write(f"Created user {name}")
        return user
