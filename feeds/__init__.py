"""feeds: RSS 2.0 and Atom 1.0 feeds from Hexo-style article files."""

__version__ = "0.1.0"
