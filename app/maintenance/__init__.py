"""Maintenance: backing up and restoring the database and the stored files (`flask backup`)."""
