"""Certificates: batch issuance, verification, revocation, the integrity record."""
