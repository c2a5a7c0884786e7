"""Every blueprint of the app, in one list (the security tests walk the URL map they make)."""

from __future__ import annotations

from flask import Flask


def register_all(app: Flask) -> None:
    from svea_web import errors
    from svea_web.accounts.views import bp as accounts_bp
    from svea_web.admin.views import bp as jobs_bp
    from svea_web.audit_views import bp as audit_bp
    from svea_web.collection.views import bp as collection_bp
    from svea_web.dunning.views import bp as dunning_bp
    from svea_web.ledger.views import bp as ledger_bp
    from svea_web.mail.views import bp as mail_bp
    from svea_web.main.views import bp as main_bp
    from svea_web.overview.views import bp as overview_bp
    from svea_web.payments.views import bp as payments_bp
    from svea_web.setup.views import bp as setup_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(ledger_bp, url_prefix="/ledger")
    app.register_blueprint(overview_bp, url_prefix="/overview")
    app.register_blueprint(dunning_bp, url_prefix="/dunning")
    app.register_blueprint(collection_bp, url_prefix="/collection")
    app.register_blueprint(mail_bp, url_prefix="/mail")
    app.register_blueprint(setup_bp, url_prefix="/settings")
    app.register_blueprint(jobs_bp)
    app.register_blueprint(payments_bp, url_prefix="/payments")
    app.register_blueprint(audit_bp)
    errors.register(app)
