"""The demo's pages in headless Chromium, against the running demo stack."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "demo"  # example_project/chat/demo_data.py
EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent.parent / "example_project"


def log_in(page: Any, site: str, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your chats")).to_be_visible()


def realtime_config(page: Any) -> dict[str, Any]:
    """What {% notify_tasks_realtime_config %} gave the page."""
    return json.loads(page.locator("#notify-tasks-realtime").text_content())  # type: ignore[no-any-return]


def open_chat(page: Any, title: str) -> str:
    """Opens the chat's page; returns its channel (chats:<id>)."""
    from playwright.sync_api import expect

    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    return str(page.locator("#live-feed").get_attribute("data-chat-channel"))


def test_adding_a_member_emails_the_admin_and_shows_in_the_live_feed(
    demo_stack: Any, demo_centrifugo: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    # bob, a member of General, watches its page: his live feed is subscribed to the chat.
    bob = new_page()
    log_in(bob, demo_stack.site, "bob")
    channel = open_chat(bob, "General")
    expect(bob.locator("#live-status")).to_have_attribute("data-state", "connected")
    demo_centrifugo.wait_subscribed(channel)  # the real server has bob's page on the channel

    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    open_chat(alice, "General")
    personal = realtime_config(alice)["personalChannel"]  # personal:#<alice's pk>
    alice.get_by_label("User").select_option(label="dave")
    screenshot(alice, "chat-page")
    alice.get_by_role("button", name="Add member").click()
    expect(alice.locator(".messages")).to_contain_text("Added dave")

    # The worker's publication, over the real WebSocket, shown once.
    joined = bob.locator("#live-feed li", has_text="dave joined General")
    expect(joined).to_have_count(1)
    expect(joined).to_contain_text(f"({channel})")
    screenshot(bob, "live-feed")

    alice.get_by_role("link", name="Delivery log").click()
    emails = alice.locator("tr", has_text="Hi Alice: dave joined General”")
    expect(emails).to_contain_text("email to alice@chat.example: sent")
    expect(emails).to_contain_text("email to dave@chat.example: sent")  # "Hi Dave, welcome…"
    # The live feed's rule: the newest of General's, which dave's joining wrote last.
    live = alice.locator("tr", has_text="member-joined-live (created)")
    realtime = live.filter(has_text=f"realtime to {channel}:").first
    expect(realtime).to_contain_text(f"realtime to {channel}: sent")
    expect(realtime).to_contain_text(f"realtime to {personal}: sent")
    screenshot(alice, "delivery-log")

    alice.get_by_role("link", name="Inbox").click()
    mail = alice.locator("article.mail", has_text="dave joined General")
    expect(mail.locator(".to")).to_have_text("alice@chat.example")
    expect(mail.locator(".message-id")).to_have_text(
        re.compile(r"^<notify-tasks\.[^<>@ ]+@[^<>@ ]+>$")
    )
    expect(mail.locator(".body")).to_contain_text('dave (dave@chat.example) joined "General"')
    screenshot(alice, "inbox")


def test_staff_pages_are_refused_to_other_users(demo_stack: Any, new_page: Any) -> None:
    from playwright.sync_api import expect

    carol = new_page()
    log_in(carol, demo_stack.site, "carol")
    expect(carol.get_by_role("link", name="Inbox")).to_have_count(0)
    for path in ("/inbox/", "/reports/"):
        assert carol.goto(f"{demo_stack.site}{path}").status == 403


def test_the_navigation_links_to_flower_which_shows_the_tasks(
    demo_stack: Any, browser: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    flower_link = alice.get_by_role("link", name="Flower")
    expect(flower_link).to_have_attribute("href", f"{demo_stack.flower}/")

    user, password = demo_stack.flower_login()
    context = browser.new_context(
        viewport={"width": 1400, "height": 700},
        http_credentials={"username": user, "password": password},
    )
    try:
        flower = context.new_page()
        flower.goto(f"{demo_stack.flower}/tasks")
        expect(
            flower.get_by_text("django_notify_tasks.process_notification").first
        ).to_be_visible()
        screenshot(flower, "flower-tasks")
    finally:
        context.close()


def test_the_navigation_links_to_the_django_admin(demo_stack: Any, new_page: Any) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    alice.get_by_role("link", name="Admin").click()
    expect(alice.get_by_role("heading", name="Site administration")).to_be_visible()
    expect(alice.get_by_role("link", name="Deliveries", exact=True)).to_be_visible()


def test_a_report_started_on_the_page_runs_to_100_percent(
    demo_stack: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    alice.get_by_role("link", name="Reports").click()
    alice.get_by_role("button", name="Generate").click()

    progress = alice.locator("#report-progress")
    expect(progress).to_have_attribute("data-state", "SUCCESS")
    expect(progress.locator("progress")).to_have_js_property("value", 100)
    expect(progress.locator(".percent")).to_have_text("100%")
    expect_digest_drawn(alice, progress)
    screenshot(alice, "report")
    written = progress.locator(".outcome .digest-file").inner_text()
    assert (demo_stack.var_dir / "reports" / Path(written).name).is_file()


def test_a_report_that_finished_before_the_page_was_drawn_arrives_at_100_percent(
    demo_stack: Any, new_page: Any
) -> None:
    """A small digest can be done before Generate's redirect lands: the page then shows the
    same section, finished, instead of a page without the bar (a CI failure in session 7)."""
    from celery import Celery
    from playwright.sync_api import expect

    task_id = str(uuid.uuid4())
    send_digest(demo_stack, task_id)
    redis_url = f"redis://127.0.0.1:{demo_stack.ports['REDIS']}/0"
    app = Celery("browser-tests", broker=redis_url, backend=redis_url)
    try:
        app.AsyncResult(task_id).get(timeout=60)
    finally:
        app.close()

    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    alice.goto(f"{demo_stack.site}/reports/?task={task_id}")
    progress = alice.locator("#report-progress")
    expect(progress).to_have_attribute("data-state", "SUCCESS")
    expect(progress.locator("progress")).to_have_js_property("value", 100)
    expect(progress.locator(".percent")).to_have_text("100%")
    expect_digest_drawn(alice, progress)
    assert progress.locator(".outcome .digest-file").inner_text().endswith(".json")


def expect_digest_drawn(page: Any, progress: Any) -> None:
    """The finished digest is on the page as the dashboard's tables, and nowhere as JSON."""
    from playwright.sync_api import expect

    outcome = progress.locator(".outcome")
    expect(progress).to_have_attribute("data-shown", "digest")
    deliveries = outcome.locator(
        "table", has=page.locator("caption", has_text="Deliveries by rule and channel")
    )
    expect(deliveries).to_be_visible()
    expect(
        deliveries.locator("td").filter(has_text=re.compile(r"^\s*\d+\s*$")).first
    ).to_be_visible()
    expect(page.locator("pre")).to_have_count(0)
    assert '"report": "activity_digest"' not in page.locator("body").inner_text()


STATUS_URLS = "**/notifications/tasks/**"
DIGEST_CHANNEL = "staff:digest"


def open_report(page: Any, site: str, task_id: str) -> Any:
    """The report page following ``task_id``, once it is subscribed to the digest channel."""
    from playwright.sync_api import expect

    page.goto(f"{site}/reports/?task={task_id}")
    progress = page.locator("#report-progress")
    expect(progress.locator(".live")).to_have_attribute("data-state", "subscribed")
    return progress


def send_digest(demo_stack: Any, task_id: str) -> None:
    """What the page's Generate button does, with an id the test chose beforehand."""
    from celery import Celery

    app = Celery("browser-tests", broker=f"redis://127.0.0.1:{demo_stack.ports['REDIS']}/0")
    try:
        kwargs = {"hours": 168, "send": False}
        app.send_task("django_notify_tasks.activity_digest", kwargs=kwargs, task_id=task_id)
    finally:
        app.close()


def test_the_report_bar_follows_the_workers_publications_while_the_poll_sees_nothing(
    demo_stack: Any, demo_centrifugo: Any, new_page: Any
) -> None:
    from playwright.sync_api import expect

    task_id = str(uuid.uuid4())
    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    # The status endpoint says PENDING all along: only Centrifugo can move the bar.
    pending = {"id": task_id, "state": "PENDING", "progress": None, "result": None, "error": None}
    alice.route(STATUS_URLS, lambda route: route.fulfill(json=pending))
    progress = open_report(alice, demo_stack.site, task_id)

    send_digest(demo_stack, task_id)

    expect(progress).to_have_attribute("data-live", "SUCCESS")
    expect(progress.locator("progress")).to_have_js_property("value", 100)
    expect(progress.locator(".state")).to_have_text("done; fetching the result…")
    expect(progress).to_have_attribute("data-via", "centrifugo")
    expect(progress).to_have_attribute("data-state", "PENDING")  # what the (gated) poll said
    expect(progress.locator(".outcome")).to_be_hidden()
    mine = [
        data["state"]
        for data in demo_centrifugo.history(DIGEST_CHANNEL)
        if isinstance(data, dict) and data.get("task_id") == task_id
    ]
    assert (mine[0], mine[-1]) == ("PROGRESS", "SUCCESS")

    # The poll is the record: the result comes from it once it answers.
    alice.unroute(STATUS_URLS)
    expect(progress).to_have_attribute("data-state", "SUCCESS")
    expect_digest_drawn(alice, progress)
    expect(progress.locator(".live")).to_have_attribute("data-state", "done")


def test_the_report_bar_takes_only_its_own_tasks_publications_and_never_moves_back(
    demo_stack: Any, demo_centrifugo: Any, new_page: Any
) -> None:
    from cent import Client, PublishRequest
    from playwright.sync_api import expect

    task_id = str(uuid.uuid4())  # never sent: the status endpoint says PENDING throughout
    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    progress = open_report(alice, demo_stack.site, task_id)
    cent = Client(demo_centrifugo.api_url, demo_centrifugo.api_key, timeout=5)

    def publish(**data: Any) -> None:
        message = {"type": "progress", "report": "activity_digest", "summary": None, "error": None}
        cent.publish(PublishRequest(channel=DIGEST_CHANNEL, data={**message, **data}))

    publish(task_id=str(uuid.uuid4()), state="PROGRESS", current=6, total=7, percent=86)
    publish(task_id=task_id, state="PROGRESS", current=3, total=7, percent=43)

    # Had the other task's 86 % been taken, the bar could not come down to 43 %.
    expect(progress.locator(".percent")).to_have_text("43%")
    expect(progress.locator(".state")).to_have_text("running: 3 of 7")
    expect(progress).to_have_attribute("data-via", "centrifugo")
    for _ in range(2):  # the second answer comes after the first one was shown
        with alice.expect_response(lambda r: "/notifications/tasks/" in r.url) as polled:
            pass
        assert polled.value.json()["state"] == "PENDING"
    assert progress.locator(".percent").inner_text() == "43%"  # not back to 0 by the poll


def test_the_chat_page_says_plainly_when_centrifugo_is_not_reachable(
    demo_stack: Any, demo_centrifugo: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    carol = new_page()
    log_in(carol, demo_stack.site, "carol")
    channel = open_chat(carol, "Random")
    expect(carol.locator("#live-status")).to_have_attribute("data-state", "connected")
    # The browser loses the network: the WebSocket closes and every reconnect fails.
    carol.context.set_offline(True)
    try:
        status = carol.locator("#live-status")
        expect(status).to_have_attribute("data-state", "unreachable")
        expect(status).to_contain_text("Centrifugo is not reachable at ws://127.0.0.1:")
        expect(status).to_contain_text("notifications still arrive by email")
        demo_centrifugo.wait_unsubscribed(channel)  # the real server saw it go
        screenshot(carol, "live-feed-unreachable")
    finally:
        carol.context.set_offline(False)
    # Centrifugo is reachable again: the page reconnects by itself.
    expect(carol.locator("#live-status")).to_have_attribute("data-state", "connected")
    demo_centrifugo.wait_subscribed(channel)


def test_a_page_that_was_offline_recovers_what_it_missed_in_order_once(
    demo_stack: Any, demo_centrifugo: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    bob = new_page()
    log_in(bob, demo_stack.site, "bob")
    channel = open_chat(bob, "General")
    feed = bob.locator("#live-feed")
    expect(bob.locator("#live-status")).to_have_attribute("data-state", "connected")
    demo_centrifugo.wait_subscribed(channel)
    tag = uuid.uuid4().hex[:8]
    demo_centrifugo.publish(channel, {"text": f"{tag} before"})
    expect(feed.locator("li", has_text=tag)).to_have_count(1)

    bob.context.set_offline(True)
    demo_centrifugo.wait_unsubscribed(channel)
    for n in (1, 2, 3):
        demo_centrifugo.publish(channel, {"text": f"{tag} missed {n}"})
    expect(feed.locator("li", has_text=tag)).to_have_count(1)  # nothing arrives meanwhile
    bob.context.set_offline(False)

    # Back online: centrifuge-js resubscribes from the last position it saw, and the
    # namespace's force_recovery (the generated config) sends it the three it missed.
    expect(feed).to_have_attribute(
        "data-recovered", re.compile(rf"(^| ){re.escape(channel)}( |$)")
    )
    expect(feed.locator("li", has_text=tag)).to_have_count(4)
    newest_first = [f"{tag} missed 3", f"{tag} missed 2", f"{tag} missed 1", f"{tag} before"]
    items = feed.locator("li", has_text=tag).all_inner_texts()  # the feed shows newest first
    assert [next(t for t in newest_first if t in item) for item in items] == newest_first
    screenshot(bob, "live-feed-recovered")


# Each change of the bar's percent, recorded from the first script on the page on.
RECORD_PERCENTS = """
window.__percents = [];
document.addEventListener("DOMContentLoaded", () => {
  const shown = document.querySelector("#report-progress .percent");
  if (!shown) return;
  new MutationObserver(() => window.__percents.push(parseInt(shown.textContent, 10)))
    .observe(shown, {childList: true, characterData: true, subtree: true});
});
"""


def test_on_seeded_history_the_report_bar_passes_through_real_steps(
    demo_stack: Any, new_page: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    seeded = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--history", "200000"],
        cwd=EXAMPLE_PROJECT,
        env=demo_stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "past notifications" in seeded.stdout or "History already present" in seeded.stdout
    alice = new_page()
    log_in(alice, demo_stack.site, "alice")
    alice.add_init_script(RECORD_PERCENTS)
    alice.get_by_role("link", name="Reports").click()
    alice.get_by_role("button", name="Generate").click()
    alice.wait_for_function("window.__percents.some(p => p > 0 && p < 100)", timeout=60_000)
    screenshot(alice, "report-progress")

    progress = alice.locator("#report-progress")
    expect(progress).to_have_attribute("data-state", "SUCCESS", timeout=60_000)
    seen = alice.evaluate("window.__percents")
    assert [p for p in seen if 0 < p < 100], seen  # a step between queued and done
    alice.get_by_role("link", name="See the digest as charts and tables").click()
    expect(alice.locator("#chart-digest-deliveries")).to_be_visible()
    screenshot(alice, "report-done")

    alice.get_by_role("link", name="Dashboard").click()
    alice.get_by_label("Period").select_option("30d")
    alice.get_by_role("button", name="Show").click()
    expect(alice.locator("#chart-deliveries-email")).to_be_visible()
    screenshot(alice, "dashboard")
