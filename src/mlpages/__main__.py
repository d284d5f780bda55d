from mlpages.cli import main

main()
