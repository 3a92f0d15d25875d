"""Command implementations, one module per area. Importing registers them."""


def load_all() -> None:
    from mongoemu.commands import (admin, catalog, crud, handshake, replset, roles,  # noqa: F401
                                   users)
