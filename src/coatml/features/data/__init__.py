"""Sourced descriptor tables and feature-set definitions shipped with coatml (package data)."""
