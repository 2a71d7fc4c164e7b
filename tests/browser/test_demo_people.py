"""The demo's emails to people, in Chromium against the running demo stack: "Hi <first name>"
in each recipient's language, the unsubscribe link in an email clicked, and the preferences
page's toggle turned off and on again."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from typing import Any

import pytest

from tests.browser.test_pages import EXAMPLE_PROJECT, log_in, open_chat

pytestmark = pytest.mark.browser

RULE_LABEL = "New members in your chats (email)"  # the rule's label, and its channel


def new_chat(demo_stack: Any, admin: str = "alice") -> str:
    """A chat of ``admin``'s with no members yet, as alice would make one in the Django admin."""
    title = f"Ferns {uuid.uuid4().hex[:8]}"
    script = (
        "from django.contrib.auth.models import User\nfrom chat.models import Chat\n"
        f"Chat.objects.create(title={title!r}, admin=User.objects.get(username={admin!r}))"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=EXAMPLE_PROJECT, env=demo_stack.env, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return title


def add_member(alice: Any, site: str, title: str, username: str) -> None:
    """Alice, the chat's admin, adds ``username`` on the chat's page."""
    from playwright.sync_api import expect

    alice.goto(f"{site}/")
    open_chat(alice, title)
    alice.get_by_label("User").select_option(label=username)
    alice.get_by_role("button", name="Add member").click()
    expect(alice.locator(".messages")).to_contain_text(f"Added {username}")


def mail(page: Any, site: str, address: str, subject: str) -> Any:
    """The inbox's messages to ``address`` with that subject (the page reloads itself)."""
    page.goto(f"{site}/inbox/")
    to_address = page.locator("article.mail").filter(has=page.locator(".to", has_text=address))
    return to_address.filter(has=page.locator(".subject", has_text=subject))


def email_row(page: Any, site: str, subject: str, address: str) -> Any:
    """The delivery log's line of the email to ``address``, in the notification whose
    email to alice has that subject."""
    page.goto(f"{site}/deliveries/")
    notification = page.locator("tr", has_text=subject)
    return notification.locator("li", has_text=f"email to {address}:")


def test_each_person_is_greeted_by_first_name_in_their_own_language(
    demo_stack: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    site, title = demo_stack.site, new_chat(demo_stack)
    preferences = f"{site}/notifications/preferences/"
    alice = new_page()
    log_in(alice, site, "alice")
    add_member(alice, site, title, "carol")

    french = mail(alice, site, "carol@chat.example", f"Bonjour Carole, bienvenue dans {title}")
    expect(french).to_have_count(1)
    expect(french.locator(".body")).to_contain_text(f"Vous êtes maintenant membre de « {title} »")
    expect(french.locator(".body")).to_contain_text(
        f"Choisir les e-mails que vous recevez: {preferences}"
    )
    english = mail(alice, site, "alice@chat.example", f"Hi Alice: carol joined {title}")
    expect(english).to_have_count(1)
    expect(english.locator(".body")).to_contain_text(f"Choose the emails you get: {preferences}")
    screenshot(alice, "inbox-two-languages")


UNSUBSCRIBE_LINK = re.compile(r"https?://\S+/notifications/unsubscribe/[^/\s]+/")


def test_the_unsubscribe_link_in_an_email_turns_that_email_off(
    demo_stack: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    site, first, second = demo_stack.site, new_chat(demo_stack), new_chat(demo_stack)
    alice = new_page()
    log_in(alice, site, "alice")
    add_member(alice, site, first, "bob")
    welcome = mail(alice, site, "bob@chat.example", f"Hi Bob, welcome to {first}")
    expect(welcome).to_have_count(1)
    [link] = UNSUBSCRIBE_LINK.findall(welcome.locator(".body").inner_text())

    # Whoever opens the link, logged in or not, gets a page with a button: a GET changes nothing.
    visitor = new_page()
    visitor.goto(link)
    question = "Stop getting “New members in your chats” by email?"
    expect(visitor.get_by_text(question)).to_be_visible()
    visitor.get_by_role("button", name="Unsubscribe").click()
    expect(visitor.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    screenshot(visitor, "unsubscribed")

    bob = new_page()
    log_in(bob, site, "bob")
    bob.get_by_role("link", name="Preferences").click()
    expect(bob.get_by_label(RULE_LABEL)).not_to_be_checked()

    add_member(alice, site, second, "bob")
    expect(email_row(alice, site, f"bob joined {second}", "alice@chat.example")).to_contain_text(
        "sent"
    )
    skipped = email_row(alice, site, f"bob joined {second}", "bob@chat.example")
    expect(skipped).to_contain_text("skipped")
    expect(skipped).to_contain_text("turned this off")
    expect(mail(alice, site, "bob@chat.example", f"welcome to {second}")).to_have_count(0)


def test_the_preferences_toggle_turns_the_email_off_and_on_again(
    demo_stack: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    site, off_chat, on_chat = demo_stack.site, new_chat(demo_stack), new_chat(demo_stack)
    dave = new_page()
    log_in(dave, site, "dave")
    dave.get_by_role("link", name="Preferences").click()
    expect(dave.get_by_role("heading", name="Notification preferences")).to_be_visible()
    toggle = dave.get_by_label(RULE_LABEL)
    expect(toggle).to_be_checked()
    toggle.uncheck()
    dave.get_by_role("button", name="Save").click()
    expect(dave.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(dave.get_by_label(RULE_LABEL)).not_to_be_checked()  # as stored, after the reload
    screenshot(dave, "preferences")

    alice = new_page()
    log_in(alice, site, "alice")
    add_member(alice, site, off_chat, "dave")
    skipped = email_row(alice, site, f"dave joined {off_chat}", "dave@chat.example")
    expect(skipped).to_contain_text("skipped")

    dave.get_by_label(RULE_LABEL).check()
    dave.get_by_role("button", name="Save").click()
    expect(dave.get_by_label(RULE_LABEL)).to_be_checked()
    add_member(alice, site, on_chat, "dave")
    expect(mail(alice, site, "dave@chat.example", f"Hi Dave, welcome to {on_chat}")).to_have_count(
        1
    )
