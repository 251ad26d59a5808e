from fusion.bench.cli import main

main()
