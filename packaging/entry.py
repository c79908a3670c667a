"""The bundle's entry point: ``--selftest`` checks the installation, anything else is the ``biometrix`` command."""

import sys


def main() -> int:
    argv = sys.argv[1:]
    if "--selftest" in argv:
        from biometrix.selftest import main as selftest_main

        return selftest_main(argv)
    from biometrix.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
