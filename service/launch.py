"""The `checklist` entry point.

`checklist serve` runs on gevent, so that idle event-stream subscribers cost a
greenlet rather than a thread; gevent must patch the standard library before
anything else imports it, hence this module runs first and imports nothing else.
"""

import sys


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        from gevent import monkey

        monkey.patch_all()
    from service.cli import main as cli

    cli()
