"""``rig user add|passwd|disable``: clinicians' login accounts, from the rig's own computer.

The password is asked twice on the terminal (not echoed), or read from standard input with
``--password-stdin`` (one line; for scripts). It never appears on the command line, where other
users of the computer could see it in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from gaitrig.rig.settings import Settings


def add_user_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="clinicians' login accounts: add, passwd, disable")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an account")
    add.add_argument("username", help="the login name (lower-case letters, digits, . _ -)")
    add.add_argument("--name", required=True, help="the clinician's full name")
    add.add_argument("--role", choices=("therapist", "admin"), default="therapist",
                     help="admin may also read the audit log (default: therapist)")
    passwd = actions.add_parser("passwd", help="set a new password (ends the account's "
                                               "sessions and lifts a lockout)")
    passwd.add_argument("username")
    for parser in (add, passwd):
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from standard input (one line)")
    disable = actions.add_parser("disable", help="refuse the account's logins and sessions")
    disable.add_argument("username")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def run_user(settings: Settings, args: argparse.Namespace) -> int:
    from gaitrig.rig.access.accounts import AccountExistsError, Accounts, PasswordRefusedError
    from gaitrig.rig.records import Records

    records = Records.open(settings.resolved_database_url(), settings.migrate_on_start)
    accounts = Accounts(records)
    try:
        if args.user_command == "add":
            account = accounts.add(args.username, args.name, args.role,
                                   read_password(args.password_stdin))
            print(f"account {account.username} ({account.account_role}) created: clinician "
                  f"{account.id}")
            return 0
        if args.user_command == "passwd":
            done = accounts.set_password(args.username, read_password(args.password_stdin))
            what = "password changed"
        else:
            done = accounts.set_active(args.username, False)
            what = "disabled: its logins and sessions are refused"
        if not done:
            print(f"rig user: no account {args.username!r}", file=sys.stderr)
            return 2
        print(f"account {args.username}: {what}")
        return 0
    except (AccountExistsError, PasswordRefusedError, ValueError) as exc:
        print(f"rig user {args.user_command}: {exc}", file=sys.stderr)
        return 2
    finally:
        records.close()
