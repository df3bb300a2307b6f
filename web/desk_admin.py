"""Service-desk accounts from the command line (there is deliberately no sign-up page).

    python -m web.desk_admin create-user --platform sandbox --username alice
    python -m web.desk_admin create-user --role admin --username root --password-env ODR_ADMIN_PASSWORD
    python -m web.desk_admin set-password --username alice
    python -m web.desk_admin deactivate --username alice
    python -m web.desk_admin list-users

Passwords come from a prompt (typed twice) or from an environment variable, never from the
command line, where they would end up in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys

from sqlalchemy import select

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,63}$")


class AdminError(Exception):
    """A user mistake; printed in Chinese, exit status 2."""


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise AdminError(f"环境变量 {args.password_env} 未设置或为空")
        return value
    if not sys.stdin.isatty():
        raise AdminError("没有终端可输入密码：请用 --password-env 指定保存密码的环境变量")
    first = getpass.getpass("密码（至少8位）：")
    second = getpass.getpass("再次输入密码：")
    if first != second:
        raise AdminError("两次输入的密码不一致")
    return first


def _factory(url: str | None):
    from disputes.db import database_url, session_factory, upgrade

    url = url or database_url()
    upgrade(url)
    return session_factory(url)


def create_user(args: argparse.Namespace) -> str:
    from disputes.clock import SystemClock
    from disputes.config import load_platforms
    from disputes.desk import create_desk_user
    from disputes.errors import CaseError
    from disputes.models import DeskUser

    username = args.username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AdminError("用户名只能包含小写字母、数字、点、下划线和连字符（2-64位）")
    if args.role == "agent" and not args.platform:
        raise AdminError("客服账号必须用 --platform 指定所属平台（管理员请用 --role admin）")
    if args.platform:
        platforms = load_platforms().platforms
        if args.platform not in platforms:
            raise AdminError(f"未知的平台 {args.platform}；可选：{', '.join(sorted(platforms))}")
    factory = _factory(args.database_url)
    with factory() as db:
        if db.scalars(select(DeskUser.id).where(DeskUser.username == username)).first() is not None:
            raise AdminError(f"用户名 {username} 已存在")
    password = _password(args)
    with factory() as db:
        try:
            user = create_desk_user(db, username, password, clock=SystemClock(), role=args.role,
                                    platform_key=args.platform if args.role == "agent" else None,
                                    display_name=args.display_name)
        except CaseError as exc:
            raise AdminError(str(exc)) from None
        where = f"平台 {args.platform}" if args.role == "agent" else "全部平台"
        return f"已创建{'客服' if args.role == 'agent' else '管理员'}账号 {user.username}（{where}）"


def set_password(args: argparse.Namespace) -> str:
    from disputes.models import DeskUser

    factory = _factory(args.database_url)
    password = _password(args)
    if len(password) < 8:
        raise AdminError("密码至少8位")
    with factory() as db:
        user = db.scalars(select(DeskUser).where(DeskUser.username == args.username.strip().lower())).first()
        if user is None:
            raise AdminError(f"没有用户 {args.username}")
        user.set_password(password)
        db.commit()
    return f"已修改 {args.username} 的密码（该用户的现有登录已失效）"


def deactivate(args: argparse.Namespace) -> str:
    from disputes.models import DeskUser

    factory = _factory(args.database_url)
    with factory() as db:
        user = db.scalars(select(DeskUser).where(DeskUser.username == args.username.strip().lower())).first()
        if user is None:
            raise AdminError(f"没有用户 {args.username}")
        user.active = False
        db.commit()
    return f"已停用 {args.username}"


def list_users(args: argparse.Namespace) -> str:
    from disputes.models import DeskUser, Platform

    factory = _factory(args.database_url)
    lines = []
    with factory() as db:
        for user, key in db.execute(select(DeskUser, Platform.key).outerjoin(Platform, Platform.id == DeskUser.platform_id)
                                    .order_by(DeskUser.username)):
            lines.append(f"{user.username}\t{user.role}\t{key or '*'}\t{'启用' if user.active else '停用'}")
    return "\n".join(lines) or "（没有客服账号）"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m web.desk_admin", description="平台客服台账号管理")
    parser.add_argument("--database-url", help="默认取 ODR_DATABASE_URL 或内置 SQLite 文件")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-user", help="创建客服或管理员账号")
    create.add_argument("--username", required=True)
    create.add_argument("--platform", help="所属平台（platforms.yaml 中的键，如 sandbox、taobao）")
    create.add_argument("--role", choices=["agent", "admin"], default="agent")
    create.add_argument("--display-name", help="显示给消费者的客服名称，如「小王」")
    create.add_argument("--password-env", help="从该环境变量读取密码（不提示输入）")
    create.set_defaults(func=create_user)
    pw = sub.add_parser("set-password", help="修改密码")
    pw.add_argument("--username", required=True)
    pw.add_argument("--password-env")
    pw.set_defaults(func=set_password)
    off = sub.add_parser("deactivate", help="停用账号")
    off.add_argument("--username", required=True)
    off.set_defaults(func=deactivate)
    ls = sub.add_parser("list-users", help="列出账号")
    ls.set_defaults(func=list_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        print(args.func(args))
    except AdminError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
