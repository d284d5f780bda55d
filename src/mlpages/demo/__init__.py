"""`mlpages demo`: a sandbox repository living through weeks of CT, and its site."""
