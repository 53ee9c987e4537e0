from scanctl.cli.main import run

run()
