"""The static report site: build (gather, render, write), pages/, charts/, templates/, static/."""
