"""Pure Norwegian business rules: no database, no Flask, only values in and values out."""
