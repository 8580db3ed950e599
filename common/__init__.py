"""Small standard-library pieces that `jobs`, `localcloud` and `benchmarks` share: crash-safe file writes
(`common.atomic`) and S3 URIs (`common.s3uri`). It imports nothing of ours, so any package may use it."""
