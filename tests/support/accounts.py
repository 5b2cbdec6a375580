"""Helpers first written for tests/http/test_accounts.py, now shared by several test modules."""


def cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)

