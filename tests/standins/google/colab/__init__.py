"""Stand-in for Colab's `google.colab` package (see tests/standins/README.md)."""
