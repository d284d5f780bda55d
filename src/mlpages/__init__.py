"""mlpages: git-native MLOps with a static report site built from the repository's history."""

__version__ = "0.1.0"
