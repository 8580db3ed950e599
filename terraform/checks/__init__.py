"""The project's own checkov checks, loaded with `--external-checks-dir terraform/checks` (scripts/checkov)."""
