"""Order of the gallery: the quick start first, then the others by file name."""

from sphinx_gallery.sorting import FileNameSortKey

FIRST = ("plot_quickstart.py",)


class QuickStartFirst(FileNameSortKey):
    """Sort key that puts the files of ``FIRST`` before the others."""

    def __call__(self, filename):
        """Return the key of ``filename``: its rank in ``FIRST``, then its name."""
        name = str(filename).rsplit("/", 1)[-1]
        rank = FIRST.index(name) if name in FIRST else len(FIRST)
        return (rank, name)
