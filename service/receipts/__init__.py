"""Residents follow their report: a receipt with a private tracking link, updates by e-mail or text, a rating."""
