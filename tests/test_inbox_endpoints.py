"""The inbox's JSON endpoints: the contract, cursor pages without OFFSET, the unread filter,
ownership, CSRF, and one indexed query for the count and one per page at 10 and 10,000
items."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_notify_tasks.inbox import items_page, unread_count
from django_notify_tasks.models import InboxItem
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
INBOX = "django_notify_tasks:inbox"
READ = "django_notify_tasks:inbox-read"


def add_items(user: Any, count: int, *, read_every: int = 0) -> list[int]:
    now = timezone.now()
    InboxItem.objects.bulk_create(
        InboxItem(
            user=user,
            rule="r",
            title=f"item {n}",
            body="b",
            url=f"/{n}/",
            read_at=now if read_every and n % read_every == 0 else None,
        )
        for n in range(count)
    )
    return list(InboxItem.objects.filter(user=user).order_by("pk").values_list("pk", flat=True))


def get(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get(reverse(INBOX), params)
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def post(client: Client, body: object) -> Any:
    return client.post(reverse(READ), json.dumps(body), content_type="application/json")


def test_a_page_lists_the_users_items_newest_first_with_the_count(
    client: Client, chat_admin: Any, member: Any
) -> None:
    [first, second] = add_items(chat_admin, 2, read_every=2)  # item 0 is read
    add_items(member, 3)
    client.force_login(chat_admin)

    answer = get(client)

    item = InboxItem.objects.get(pk=second)
    assert answer == {
        "unread": 1,
        "items": [
            {"id": second, "title": "item 1", "body": "b", "url": "/1/",
             "created": item.created.isoformat(), "read": False},
            {"id": first, "title": "item 0", "body": "b", "url": "/0/",
             "created": answer["items"][1]["created"], "read": True},
        ],
        "next": None,
    }  # fmt: skip


def test_the_cursor_walks_every_item_once_and_new_items_do_not_shift_pages(
    client: Client, chat_admin: Any
) -> None:
    ids = add_items(chat_admin, 7)
    client.force_login(chat_admin)
    first = get(client, size=3)
    add_items(chat_admin, 2)  # arrive between two pages
    seen = [item["id"] for item in first["items"]]
    cursor = first["next"]
    while cursor:
        page = get(client, size=3, cursor=cursor)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]

    assert seen == ids[::-1]


def test_unread_1_lists_only_unread_items(client: Client, chat_admin: Any) -> None:
    ids = add_items(chat_admin, 6, read_every=2)
    client.force_login(chat_admin)

    page = get(client, unread=1, size=2)
    rest = get(client, unread=1, size=2, cursor=page["next"])

    assert [i["id"] for i in page["items"] + rest["items"]] == [ids[5], ids[3], ids[1]]
    assert (page["unread"], rest["next"]) == (3, None)


def test_mark_read_by_ids_ignores_other_users_ids(
    client: Client, chat_admin: Any, member: Any
) -> None:
    mine = add_items(chat_admin, 3)
    theirs = add_items(member, 2)
    client.force_login(chat_admin)

    response = post(client, {"ids": [mine[0], theirs[0], theirs[1], 999_999]})

    assert response.json() == {"unread": 2}
    assert InboxItem.objects.filter(user=member, read_at__isnull=True).count() == 2
    assert post(client, {"all": True}).json() == {"unread": 0}
    assert InboxItem.objects.filter(user=member, read_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    "body", [{"ids": "1"}, {"ids": ["1"]}, {"all": "yes"}, [1], {"ids": [True]}]
)
def test_mark_read_refuses_a_body_it_cannot_read(
    client: Client, chat_admin: Any, body: object
) -> None:
    add_items(chat_admin, 1)
    client.force_login(chat_admin)

    assert post(client, body).status_code == 400
    assert unread_count(chat_admin) == 1


def test_mark_read_needs_the_csrf_token(chat_admin: Any) -> None:
    [item] = add_items(chat_admin, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(chat_admin)

    refused = post(client, {"ids": [item]})
    token = "k" * 32  # a CSRF secret, as the cookie holds it
    client.cookies["csrftoken"] = token
    accepted = client.post(
        reverse(READ), json.dumps({"ids": [item]}), content_type="application/json",
        headers={"X-CSRFToken": token},
    )  # fmt: skip

    assert (refused.status_code, accepted.json()) == (403, {"unread": 0})


def test_the_endpoints_need_a_login_and_the_right_method(client: Client) -> None:
    assert client.get(reverse(INBOX)).status_code == 401
    assert post(client, {"all": True}).status_code == 401
    client.force_login(make_user("dora"))
    assert client.get(reverse(READ)).status_code == 405
    assert client.get(reverse(INBOX), {"cursor": "abc"}).status_code == 400
    assert client.get(reverse(INBOX), {"size": "1000"}).status_code == 400


def inbox_queries(run: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    table = InboxItem._meta.db_table
    return [query["sql"] for query in captured.captured_queries if table in query["sql"]]


@pytest.mark.parametrize("count", [10, 10_000])
def test_one_query_for_the_count_and_one_per_page(
    client: Client, chat_admin: Any, count: int
) -> None:
    add_items(chat_admin, count, read_every=3)
    add_items(make_user("other"), 10)
    client.force_login(chat_admin)
    first = get(client, size=5)

    queries = inbox_queries(lambda: get(client, size=5, cursor=first["next"]))
    unread_queries = inbox_queries(lambda: get(client, size=5, unread=1))

    assert len(queries) == len(unread_queries) == 2
    assert all("OFFSET" not in sql.upper() for sql in queries + unread_queries)


def plan(sql_and_params: tuple[str, tuple[Any, ...]]) -> str:
    sql, params = sql_and_params
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row) for row in cursor.fetchall())


def test_the_count_and_the_pages_use_the_inbox_indexes(chat_admin: Any) -> None:
    assert connection.vendor == "sqlite"  # the suite's database: its plans are read here
    add_items(chat_admin, 50, read_every=2)
    unread = InboxItem.objects.filter(user=chat_admin, read_at__isnull=True)
    pages = InboxItem.objects.filter(user=chat_admin, pk__lt=40).order_by("-pk")[:21]

    count_plan = plan(unread.values("pk").query.sql_with_params())
    page_plan = plan(pages.query.sql_with_params())
    unread_plan = plan(unread.filter(pk__lt=40).order_by("-pk")[:21].query.sql_with_params())

    assert "notify_tasks_inbox_unread_idx" in count_plan
    assert "notify_tasks_inbox_unread_idx" in unread_plan
    assert "notify_tasks_inbox_page_idx" in page_plan or "PRIMARY KEY" in page_plan
    assert "TEMP B-TREE" not in page_plan + unread_plan  # no sort: the index gives the order
    assert items_page(chat_admin, size=3).next is not None
