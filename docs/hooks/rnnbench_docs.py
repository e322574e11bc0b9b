"""MkDocs hooks for the rnnbench site (named in mkdocs.yml under `hooks:`).

- on_config: write the generated reference pages (`reference.PAGES`) into docs/reference/
  (only when their text changed, so `mkdocs serve` does not rebuild forever), and fill
  the "Guides" section of the nav with every docs/guide/*.md present at build time, so a
  guide page is listed without editing mkdocs.yml and a missing one breaks nothing.
- on_files: the figures, tables and data files under results/ become files of the site
  (results/... in the built site), so pages show the committed figures without copies.
- on_page_markdown: a line `--8<-- "NAME"` is replaced by docs/snippets/NAME (the
  commands, figures and tables the English and Chinese pages share: written once);
  then a link from a page to a file of the repository outside docs/
  (`../../results/reference/x.png` from docs/lessons/) is rewritten to that file's place
  in the site; on GitHub the same link works as written.
- on_post_page, on_post_build: the theme's script fetches `sitemap.xml` beside every
  `<link rel="alternate" hreflang>` of a page, taking each for a language's root, while
  the i18n plugin points them at the page's own translation (so every page requested
  guide/ui/sitemap.xml and zh/guide/ui/sitemap.xml: two 404s). The links name the language
  roots (`/` and `zh/`; the language menu still leads to the page's translation), and
  zh/sitemap.xml lists the Chinese pages (the site's sitemap.xml lists both languages).
"""

from __future__ import annotations

import gzip
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reference  # noqa: E402  (docs/hooks/reference.py)

SHARED_TREES = ("results",)  # repository folders whose files the site serves
SHARED_SUFFIXES = {".png", ".svg", ".jpg", ".md", ".csv", ".json", ".txt", ".yaml", ".sh"}
GUIDE_TITLE = "Guides"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
SNIPPET = re.compile(r'^--8<-- "([^"]+)"[ \t]*$', re.M)
ALTERNATE = re.compile(r'(<link rel="alternate" href=")([^"]*)(" hreflang="([^"]+)">)')
SITEMAP_URL = re.compile(r"\s*<url>\s*<loc>([^<]*)</loc>.*?</url>", re.S)


def _repo(config) -> Path:
    return Path(config["docs_dir"]).resolve().parent


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def on_config(config):
    docs = Path(config["docs_dir"])
    for relative, make in reference.PAGES.items():
        _write_if_changed(docs / "reference" / relative, make() + "\n")
    guides = sorted(
        p for p in (docs / "guide").glob("*.md") if not re.search(r"\.[a-z]{2}\.md$", p.name)
    )
    nav = config.get("nav") or []
    for item in nav:
        if isinstance(item, dict) and GUIDE_TITLE in item:
            item[GUIDE_TITLE] = [{_title(p): f"guide/{p.name}"} for p in guides]
            if not guides:
                nav.remove(item)
            break
    return config


def git_ignored(repo: Path, path: Path) -> bool:
    """Run outputs under results/ (databases, artifacts) are git-ignored: never published."""
    relative = path.relative_to(repo).parts
    return not (
        relative[:2] == ("results", "reference")
        or relative[1:] in (("README.md",), ("benchmarks.md",))
    )


def linked_repository_files(docs: Path, repo: Path) -> set[Path]:
    """Files outside docs/ that a page links to (a guide's `../../benchmarks/x.py`)."""
    found = set()
    for page in docs.rglob("*.md"):
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = match.group(2).partition("#")[0]
            if not target or "://" in target or target.startswith(("/", "mailto:")):
                continue
            path = Path(os.path.normpath(page.parent / target))
            if (
                path.is_file()
                and path.is_relative_to(repo)
                and not path.is_relative_to(docs)
                and path != repo / "README.md"
            ):  # served as the home page, not a page
                found.add(path)
    return found


@event_priority(-110)  # after the i18n plugin (-100), which drops pages outside docs/
def on_files(files, config):
    repo = _repo(config)
    docs = Path(config["docs_dir"]).resolve()
    shared = {
        path
        for tree in SHARED_TREES
        for path in (repo / tree).rglob("*")
        if path.is_file() and path.suffix in SHARED_SUFFIXES and not git_ignored(repo, path)
    }
    for path in sorted(shared | linked_repository_files(docs, repo)):
        files.append(
            File(
                path.relative_to(repo).as_posix(),
                str(repo),
                config["site_dir"],
                config["use_directory_urls"],
            )
        )
    return files


def expand_snippets(markdown: str, snippets: Path) -> str:
    """`--8<-- "lessons/x.md"` lines -> the text of docs/snippets/lessons/x.md; a missing
    snippet is an error (the build stops), never an empty section."""

    def include(match):
        path = snippets / match.group(1)
        if not path.is_file():
            raise FileNotFoundError(f"snippet {match.group(1)!r} not found in {snippets}")
        return path.read_text(encoding="utf-8").rstrip("\n")

    return SNIPPET.sub(include, markdown)


def on_page_markdown(markdown, page, config, files):
    docs = Path(config["docs_dir"]).resolve()
    repo = docs.parent
    markdown = expand_snippets(markdown, docs / "snippets")
    real = Path(page.file.abs_src_path).resolve().parent  # where the file lies in the repository
    virtual = docs / Path(page.file.src_uri).parent  # where the site puts it
    outside = not real.is_relative_to(docs)  # results/README.md, a linked README.md

    def rewrite(match):
        target = match.group(2)
        if "://" in target or target.startswith(("#", "/", "mailto:")):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = Path(os.path.normpath(real / path))
        home = resolved == repo / "README.md"
        if home:
            resolved = docs / "index.md"  # the README's place in the site is the home page
        if resolved.is_relative_to(docs):
            if not outside and not home:
                return match.group(0)
            inside = resolved
        elif resolved.is_relative_to(repo):
            inside = docs / resolved.relative_to(repo)  # where on_files put it
        else:
            return match.group(0)
        if re.search(r"\.[a-z]{2}\.md$", inside.name):  # a translation: the site's page
            inside = inside.with_name(re.sub(r"\.[a-z]{2}\.md$", ".md", inside.name))
        new = os.path.relpath(inside, virtual).replace(os.sep, "/")
        return f"{match.group(1)}{new}{'#' + anchor if anchor else ''}{match.group(3)}"

    return LINK.sub(rewrite, markdown)


def _languages(config) -> tuple[str, list[str]]:
    """(the default locale, the other built locales) of the i18n plugin."""
    plugin = config["plugins"].get("i18n")
    if plugin is None:
        return "", []
    languages = plugin.config.languages
    default = next(lang.locale for lang in languages if lang.default)
    return default, [lang.locale for lang in languages if lang.build and not lang.default]


def _alternates_to_roots(output: str, config, page_url: str | None) -> str:
    default, others = _languages(config)
    site_path = urlsplit(config["site_url"] or "/").path or "/"

    def root(match):
        locale, href = match.group(4), match.group(2)
        if locale != default and locale not in others:
            return match.group(0)
        target = "" if locale == default else f"{locale}/"
        if page_url is None or href.startswith("/") or "://" in href:  # absolute paths
            new = site_path.rstrip("/") + "/" + target
        else:
            new = get_relative_url(target, page_url).rstrip("/") + "/"
        return f"{match.group(1)}{new}{match.group(3)}"

    return ALTERNATE.sub(root, output) if others else output


def on_post_page(output, page, config):
    return _alternates_to_roots(output, config, page.url)


def on_post_template(output_content, template_name, config):
    # 404.html: served at any depth, so absolute paths (and the i18n plugin left it the
    # links of the last page it rendered)
    return _alternates_to_roots(output_content, config, None)


@event_priority(-120)  # after the i18n plugin (-100), which builds the other languages
def on_post_build(config):
    _default, others = _languages(config)
    site = Path(config["site_dir"])
    sitemap = site / "sitemap.xml"
    if not sitemap.is_file() or not config["site_url"]:
        return
    text = sitemap.read_text(encoding="utf-8")
    head, _, _ = text.partition("<url>")
    head = head.rstrip()
    for locale in others:
        if not (site / locale).is_dir():
            continue
        prefix = config["site_url"].rstrip("/") + f"/{locale}/"
        entries = [m.group(0) for m in SITEMAP_URL.finditer(text) if m.group(1).startswith(prefix)]
        own = head + "".join(entries) + "\n</urlset>\n"
        (site / locale / "sitemap.xml").write_text(own, encoding="utf-8")
        with gzip.GzipFile(site / locale / "sitemap.xml.gz", "wb", mtime=0) as packed:
            packed.write(own.encode("utf-8"))
