"""The project's own checkov checks, for scripts/checkov (`--external-checks-dir terraform/checks`)."""
