"""The demo creditor: the app's demo data and the sandbox agree on it."""

DEMO_CREDITOR = {
    "customer_no": "10042",
    "username": "demo-regnskap",
    "password": "sandbox-2026",
    "name": "Demo Regnskap AS",
}
