"""The click commands, one module each; cli.COMMANDS names them (imported lazily)."""
