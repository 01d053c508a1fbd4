from blueranch.cli import main

main()
