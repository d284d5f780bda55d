"""The one git reader: the git process, commit and tree parsing, refs and blobs."""
