"""The demo's bell, in Chromium against the running demo stack with the real Centrifugo: a
member joining dave's chat raises the count in his header without a reload, and opening the
chat's page marks its item read, on that page and live on his other one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_demo_people import new_chat
from tests.browser.test_pages import log_in, open_chat, realtime_config

pytestmark = pytest.mark.browser

BELL = "nav .notify-tasks-bell"


def add_in_the_admin(page: Any, site: str, title: str, username: str) -> None:
    """alice (superuser) adds a membership in the Django admin: the chat's own page would
    mark the new item read for her at once, and dave is the chat's admin here anyway."""
    from playwright.sync_api import expect

    log_in(page, site, "alice")
    page.goto(f"{site}/admin/chat/membership/add/")
    page.locator("#id_chat").select_option(label=title)
    page.locator("#id_user").select_option(label=username)
    page.locator("input[name='_save']").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")


def test_the_bell_counts_a_new_member_live_and_the_chat_page_marks_it_read(
    demo_stack: Any, demo_centrifugo: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    # dave runs this chat, and no other: only this test puts items in his inbox.
    site, title = demo_stack.site, new_chat(demo_stack, admin="dave")
    dave = new_page()
    log_in(dave, site, "dave")
    bell = dave.locator(BELL)
    expect(bell).to_have_attribute("data-live", "connected")  # bell.js follows the count
    demo_centrifugo.wait_subscribed(realtime_config(dave)["personalChannel"])
    unread = int(bell.get_attribute("data-unread"))

    add_in_the_admin(new_page(), site, title, "bob")
    expect(bell).to_have_attribute("data-unread", str(unread + 1))  # no reload: live
    expect(bell.locator(".notify-tasks-unread")).to_have_text(str(unread + 1))
    expect(bell.locator(".notify-tasks-unread")).to_be_visible()
    screenshot(dave, "bell")

    # The chat's page, in another tab of his: counted after its item is marked read...
    other_tab = new_page()
    log_in(other_tab, site, "dave")
    open_chat(other_tab, title)
    expect(other_tab.locator(BELL)).to_have_attribute("data-unread", str(unread))
    # ...and the first tab hears the new count, still without a reload.
    expect(bell).to_have_attribute("data-unread", str(unread))
    dave.reload()
    expect(dave.locator(BELL)).to_have_attribute("data-unread", str(unread))
