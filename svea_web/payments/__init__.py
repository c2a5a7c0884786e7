"""Innbetaling: payments by hand, OCR giro and camt.054 files, direct payments to Svea, Svea settlements."""
