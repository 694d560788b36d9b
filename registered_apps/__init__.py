"""Programmers, channels, memberships, catalogs, registered applications and the audit trail."""
