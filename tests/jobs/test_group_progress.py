"""A bulk action shows its progress: a partial that polls itself every second and stops when done."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from svea_web.jobs_queue import create_group, enqueue
from tests.jobs import probe

HX = {"HX-Request": "true"}


def test_the_progress_partial_polls_until_every_job_is_done_or_failed(app: Flask, logged_in: Any, firm: Any) -> None:
    app.config["RQ_IS_ASYNC"] = False
    group = create_group(firm.client.id, 2, "Sender saker til Svea")
    url = f"/jobs/groups/{group.id}"

    waiting = logged_in.get(url, headers=HX)
    assert waiting.status_code == 200
    html = waiting.get_data(as_text=True)
    assert "Sender saker til Svea" in html
    assert "0 av 2 ferdig" in html
    assert 'hx-trigger="every 1s"' in html
    assert f'hx-get="{url}"' in html
    assert "HX-Trigger" not in waiting.headers

    enqueue(probe.flaky, firm.client.id, "a", 0, group=group.id)
    enqueue(probe.flaky, firm.client.id, "b", 9, group=group.id, on_give_up=probe.gave_up)

    done = logged_in.get(url, headers=HX)
    html = done.get_data(as_text=True)
    assert "2 av 2 ferdig" in html
    assert "1 feilet" in html
    assert "hx-trigger" not in html
    # The page that started the bulk action can reload its list on this event.
    assert json.loads(done.headers["HX-Trigger"]) == {"job-group-done": {"group": group.id}}


def test_the_progress_page_opened_directly_is_a_whole_page(logged_in: Any, firm: Any) -> None:
    group = create_group(firm.client.id, 3, "Sender saker til Svea")
    html = logged_in.get(f"/jobs/groups/{group.id}").get_data(as_text=True)
    assert "<html" in html
    assert "<h1>Sender saker til Svea</h1>" in html
    assert "0 av 3 ferdig" in html


def test_another_firms_group_is_not_found(logged_in: Any, make_firm: Any) -> None:
    other = make_firm("Fjellvind Catering AS")
    theirs = create_group(other.client.id, 4, "Deres masseutsending")
    response = logged_in.get(f"/jobs/groups/{theirs.id}", headers=HX)
    assert response.status_code == 404
    assert "Deres masseutsending" not in response.get_data(as_text=True)
    assert logged_in.get("/jobs/groups/" + "0" * 32).status_code == 404
    assert logged_in.get("/jobs/groups/not-a-group-id").status_code == 404


def test_progress_needs_a_login(client: Any, firm: Any) -> None:
    group = create_group(firm.client.id, 1, "Sender saker til Svea")
    response = client.get(f"/jobs/groups/{group.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
