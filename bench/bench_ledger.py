"""Ledger benchmarks (issue 2).

1. Import of 100,000 posts from CSV (parse, validate, upsert in one transaction) against a bare bulk
   insert of the same rows into the same kind of database, measured in the same run.
2. The overdue-posts list (50 rows, filtered and sorted) with 100,000 posts: p95 through the app, and
   its throughput as a ratio of a trivial endpoint of the same app.

    .venv/bin/python bench/bench_ledger.py [--posts 100000]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, insert, select  # noqa: E402

from bench._common import bench_app, summary, time_calls  # noqa: E402
from svea_web.accounts import services as accounts  # noqa: E402
from svea_web.demo import build_rows  # noqa: E402
from svea_web.extensions import db  # noqa: E402
from svea_web.ledger import services  # noqa: E402
from svea_web.ledger.models import Customer, CustomerPost, ImportBatch  # noqa: E402
from svea_web.models_base import utcnow  # noqa: E402
from svea_web.rules.parsing import format_amount, format_date  # noqa: E402

TODAY = date(2026, 11, 27)


def make_csv(posts: int) -> tuple[bytes, list[dict], list[dict]]:
    customers, post_rows = build_rows(TODAY, customers=max(200, posts // 20), posts=posts, seed=11)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            "Kundenr",
            "Navn",
            "Type",
            "Orgnr",
            "Adresse",
            "Postnr",
            "Poststed",
            "E-post",
            "Telefon",
            "Fakturanr",
            "Motpostnr",
            "KID",
            "Fakturadato",
            "Forfallsdato",
            "Beløp",
            "Restbeløp",
        ]
    )
    for row in post_rows:
        c = customers[row["customer_index"]]
        writer.writerow(
            [
                c["customer_no"],
                c["name"],
                c["kind"],
                c["org_no"] or "",
                c["address"],
                c["postcode"],
                c["city"],
                c["email"] or "",
                c["phone"],
                row["invoice_no"],
                row["match_no"],
                row["kid"],
                format_date(row["invoice_date"]),
                format_date(row["due_date"]),
                format_amount(row["amount"]),
                format_amount(row["open_amount"]),
            ]
        )
    return out.getvalue().encode("utf-8"), customers, post_rows


def bench_import(posts: int) -> dict[str, float]:
    data, customers, post_rows = make_csv(posts)
    with bench_app() as app:
        client = accounts.create_client("Bench AS")
        db.session.commit()
        # Baseline: the same rows, already parsed, bulk-inserted into the same database (Core executemany,
        # as the import itself does).
        start = time.perf_counter()
        now = utcnow()
        db.session.execute(
            insert(Customer.__table__),
            [{**c, "client_id": client.id, "created_at": now, "updated_at": now} for c in customers],
        )
        ids = dict(db.session.execute(select(Customer.customer_no, Customer.id)).all())
        rows = [
            {
                **{k: v for k, v in r.items() if k != "customer_index"},
                "client_id": client.id,
                "customer_id": ids[customers[r["customer_index"]]["customer_no"]],
                "created_at": now,
                "updated_at": now,
            }
            for r in post_rows
        ]
        for i in range(0, len(rows), 5000):
            db.session.execute(insert(CustomerPost.__table__), rows[i : i + 5000])
        db.session.commit()
        baseline = time.perf_counter() - start
        db.session.execute(delete(CustomerPost))
        db.session.execute(delete(Customer))
        db.session.commit()

        start = time.perf_counter()
        batch = services.create_batch(client.id, None, "bench.csv", data)
        services.analyze_batch(batch.id)
        analyzed = time.perf_counter() - start
        assert db.session.get(ImportBatch, batch.id).status == services.BATCH_READY  # type: ignore[union-attr]
        services.confirm_batch(batch)
        services.apply_batch(batch.id)
        total = time.perf_counter() - start
        done = db.session.get(ImportBatch, batch.id)
        assert done is not None and done.posts_created == posts, done.error
        del app
    return {"rows": posts, "baseline_s": baseline, "analyze_s": analyzed, "import_s": total, "ratio": total / baseline}


def bench_list(posts: int, requests: int) -> dict[str, float]:
    with bench_app(LEDGER_TODAY=TODAY) as app:
        from svea_web.accounts.models import ROLE_ADMIN
        from svea_web.demo import insert_ledger

        client = accounts.create_client("Bench AS")
        user = accounts.create_user("bench@example.no", "Bench", "bench-passord-123")
        accounts.add_member(user, client, ROLE_ADMIN)
        insert_ledger(client.id, TODAY, customers=max(200, posts // 20), posts=posts, seed=5)
        db.session.commit()
        app.add_url_rule("/bench/trivial", "bench_trivial", lambda: "ok")
        http = app.test_client()
        http.post("/login", data={"email": "bench@example.no", "password": "bench-passord-123"})
        overdue = db.session.scalar(
            select(db.func.count())
            .select_from(CustomerPost)
            .where(CustomerPost.status == "open", CustomerPost.due_date < TODAY)
        )
        pages = max(1, (overdue or 0) // 50)
        counter = {"n": 0}

        def list_page() -> None:
            counter["n"] += 1
            page = 1 + (counter["n"] * 7) % pages
            response = http.get(
                f"/ledger/posts?filter=overdue&sort=due_date&dir=desc&page={page}", headers={"HX-Request": "true"}
            )
            assert response.status_code == 200

        def trivial() -> None:
            assert http.get("/bench/trivial").status_code == 200

        lst = summary(time_calls(list_page, requests))
        base = summary(time_calls(trivial, requests))
        return {
            "posts": posts,
            "overdue": overdue or 0,
            "list_p50_ms": lst["p50_ms"],
            "list_p95_ms": lst["p95_ms"],
            "list_per_s": lst["per_s"],
            "trivial_per_s": base["per_s"],
            "throughput_ratio": lst["per_s"] / base["per_s"],
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    if not args.skip_import:
        imp = bench_import(args.posts)
        print(
            f"import {imp['rows']} posts: {imp['import_s']:.2f} s (analyse {imp['analyze_s']:.2f} s); "
            f"bare bulk insert {imp['baseline_s']:.2f} s; ratio {imp['ratio']:.2f}x (target <= 3x, <= 10 s)"
        )
    lst = bench_list(args.posts, args.requests)
    print(
        f"overdue list, {lst['posts']} posts ({lst['overdue']} overdue), 50 rows sorted: "
        f"p50 {lst['list_p50_ms']:.1f} ms, p95 {lst['list_p95_ms']:.1f} ms (target <= 50 ms); "
        f"{lst['list_per_s']:.0f} req/s = {lst['throughput_ratio']:.2f} of a trivial endpoint "
        f"({lst['trivial_per_s']:.0f} req/s)"
    )


if __name__ == "__main__":
    main()
