"""Registries of named things (architectures, inference backends), as torchvision registers models."""

from __future__ import annotations

__all__ = ("Registry",)


class Registry[T]:
    """Things registered under names, with errors that list the names there are.

    Parameters
    ----------
    what : `str`
        What the things are, for messages (e.g. ``"architecture"``).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Register ``item`` as ``name`` and return it.

        Raises
        ------
        ValueError
            If another item has that name.
        """
        other = self.items.get(name)
        if other is not None and other is not item:
            raise ValueError(
                f"{self.what} {name!r} is already registered by {getattr(other, '__name__', other)}"
            )
        self.items[name] = item
        return item

    def get(self, name: str) -> T:
        """The item called ``name``.

        Raises
        ------
        ValueError
            If no item has that name (the message lists those that do).
        """
        try:
            return self.items[name]
        except KeyError:
            raise ValueError(f"Unknown {self.what} {name!r}; known: {self.names()}.") from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self.items)
