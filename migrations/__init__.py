"""The Alembic history of the whole database (ragkit's tables and the web application's), and
the generator of its diagram, ``docs/schema.md``."""
