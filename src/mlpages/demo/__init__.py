"""`mlpages demo`: a sandbox repository living through weeks of CT, and its site.

``sandbox`` (the repository and the tools run in it with a fixed clock), ``story`` (the weeks
and the side stories, then the site), ``template/`` (the project files it starts from).
"""
