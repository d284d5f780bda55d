"""Pure parsers of DVC's files: dvc.yaml, dvc.lock, .dvc files, params/metrics/plots."""
