"""Thin glue from requests to ragkit and the database, one module per feature."""
