"""DVC-cached objects: .dvc/config, the local cache, remotes, reading outputs by hash."""
