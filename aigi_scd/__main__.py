from aigi_scd.cli import main

main()
