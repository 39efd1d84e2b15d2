"""Helpers for handling LLM API keys safely: one small module per practice.

Each module is self-contained (apart from `key_formats`, the shared catalogue of key shapes) so
you can copy the one you need into your own project. The tutorial notebooks import them.
"""
