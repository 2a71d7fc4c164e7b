"""The demo's users and chats, shared by ``seed_demo``, the login page and ``run_demo.py``."""

PASSWORD = "demo"
EMAIL_DOMAIN = "chat.example"
SUPERUSER = "alice"
USERNAMES = ("alice", "bob", "carol", "dave")
# The emails say "Hi <first name>", in the language each person reads (None: English).
FIRST_NAMES = {"alice": "Alice", "bob": "Bob", "carol": "Carole", "dave": "Dave"}
LANGUAGES = {"carol": "fr"}
# title -> members; SUPERUSER is the admin of each, so she gets the "member joined" emails.
CHATS = {"General": ("bob",), "Random": ("carol",)}
