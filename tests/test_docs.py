"""The documentation site is tested like code.

- `mkdocs build --strict` passes: a broken link or anchor, a missing page, a missing
  figure under results/ or a missing shared snippet fails it;
- every public name (each public module's `__all__`) has an entry in the built API
  reference, with a docstring; every `--set` key, every sweep-file key and every CLI
  option appears in the built reference;
- every lesson page exists in English and Chinese, and both include the same shared
  figures and commands; every other English page has its Chinese page with the same
  commands, code and figures, or is listed in ENGLISH_ONLY / generated; every nav title
  has its Chinese title;
- every figure a page or the README shows is a committed file reached by a relative
  path, and every <img> of the built site (both languages) loads;
- every `rnnbench` command on the pages parses with the real parser and names only
  existing models, tasks, `--set` keys and files (tests/test_docs_commands.py runs them); every
  sweep file a page names loads; every Python block compiles (the plugin tutorial's
  blocks are executed by tests/test_plugins.py, test_taskkit.py, test_trees.py,
  test_seq2seq_readme.py and test_generate.py).
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "hooks"))

import reference  # noqa: E402  (docs/hooks/reference.py: the lists the site is built from)

LESSONS = sorted(p for p in (DOCS / "lessons").glob("*.md") if not p.name.endswith(".zh.md"))
ZH_TERMS = (
    "梯度消失",
    "梯度爆炸",
    "梯度截断",
    "双向RNN",
    "递归神经网络",
    "长短期记忆网络",
    "门控循环单元",
    "记忆网络",
)


def pages() -> list[Path]:
    """Every Markdown page and shared snippet of the site (generated pages excluded)."""
    generated = {DOCS / "reference" / name for name in reference.PAGES}
    return sorted(p for p in DOCS.rglob("*.md") if p not in generated)


def blocks(language: str) -> list[tuple[Path, str]]:
    """(page, text) of every fenced code block of that language on the pages."""
    found = []
    for page in pages():
        for match in re.finditer(rf"^```{language}\n(.*?)^```", page.read_text(), re.S | re.M):
            found.append((page, match.group(1)))
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def built(site: Path, relative: str) -> str:
    return html.unescape((site / relative / "index.html").read_text())


# ------------------------------------------------------------------ the build
@pytest.mark.slow
def test_the_site_builds_strict_in_both_languages(site):
    assert (site / "index.html").is_file()
    assert (site / "zh" / "index.html").is_file()
    for lesson in LESSONS:
        folder = "" if lesson.stem == "index" else lesson.stem
        assert (site / "lessons" / folder / "index.html").is_file(), lesson.name
        assert (site / "zh" / "lessons" / folder / "index.html").is_file(), lesson.name
        assert 'lang="zh"' in (site / "zh" / "lessons" / folder / "index.html").read_text()
    assert (site / "results" / "reference" / "gradient-flow" / "rnn-lstm-gru.png").is_file()


@pytest.mark.slow
def test_every_public_name_has_a_reference_entry_with_a_docstring(site):
    for module_name in reference.API_MODULES:
        page = built(site, f"reference/api/{reference.api_page_name(module_name)[:-3]}")
        module = importlib.import_module(module_name)
        names = reference.public_names(module_name)
        assert names, module_name
        for name in names:
            value = getattr(module, name)
            anchor = (
                reference.api_identifier(module_name, name)
                if callable(value)
                else f"{module_name}.{name}"
            )
            assert f'id="{anchor}"' in page, f"{module_name}.{name} has no reference entry"
            if callable(value):
                assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"


@pytest.mark.slow
def test_every_set_key_is_documented(site):
    page = built(site, "reference/settings")
    entries = reference.describe_entries()
    assert {e["kind"] for e in entries} == {"train", "model", "task"}
    for entry in entries:
        assert f'id="{reference.settings_anchor(entry)}"' in page, entry["name"]
        for param in entry["params"]:
            assert param["key"] in page, f"{entry['name']}: {param['key']} is undocumented"


@pytest.mark.slow
def test_every_sweep_file_key_and_cli_option_is_documented(site):
    from rnnbench.sweep.config import KEYS

    sweep = built(site, "reference/sweep-file")
    assert all(f"<code>{key}</code>" in sweep for key in KEYS)
    cli = built(site, "reference/cli")
    _, commands = reference.command_parsers()
    for name, parser in commands.items():
        assert f'id="rnnbench-{name}"' in cli, name
        for action in parser._actions:
            for option in action.option_strings:
                assert option in cli, f"rnnbench {name} {option} is undocumented"


def test_the_sweep_file_reference_is_built_from_the_one_schema(tmp_path):
    """Its commented example is a valid sweep file holding every key (in SCHEMA's order),
    and its table names every key and flag."""
    import yaml

    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import KEYS, SCHEMA, build_sweep_config

    example = reference.sweep_example(SCHEMA)
    assert list(yaml.safe_load(example)) == list(KEYS)
    (tmp_path / "example.yaml").write_text(example)
    config = build_sweep_config(get_registry(), tmp_path / "example.yaml", {})
    assert config.models == ("lstm", "gru") and config.train["param_budget"] == 20000
    page = reference.sweep_file_page()
    for key in SCHEMA:
        assert f"| `{key.name}` |" in page and (key.flag is None or f"`{key.flag}`" in page)


def test_the_generators_follow_the_code():
    """A new --set key or sweep key shows in the generated pages without editing them."""
    from rnnbench.training.config import TRAIN_PARAMS

    settings = reference.settings_page()
    assert all(f"train.{p.name}" in settings for p in TRAIN_PARAMS)
    assert reference.public_names("rnnbench.testing")[0] in reference.api_page("rnnbench.testing")


# ------------------------------------------------------------------ the lessons
def test_every_lesson_has_both_languages_with_the_same_figures_and_commands():
    assert len(LESSONS) >= 13
    zh_text = ""
    for english in LESSONS:
        chinese = english.with_name(english.stem + ".zh.md")
        assert chinese.is_file(), f"{english.name} has no Chinese page"
        snippets = re.findall(r'^--8<-- "([^"]+)"', english.read_text(), re.M)
        assert re.findall(r'^--8<-- "([^"]+)"', chinese.read_text(), re.M) == snippets, (
            f"{english.name}: the languages include different figures or commands"
        )
        zh_text += chinese.read_text()
    assert [term for term in ZH_TERMS if term not in zh_text] == []


def test_every_lesson_shows_a_figure_or_table_and_its_one_command():
    for english in LESSONS:
        if english.stem == "index":
            continue
        text = english.read_text()
        for name in re.findall(r'^--8<-- "([^"]+)"', text, re.M):
            text += (DOCS / "snippets" / name).read_text()
        assert re.search(r"!\[|^\|", text, re.M), f"{english.name}: no figure or table"
        assert "```bash" in text, f"{english.name}: no command"
        assert re.search(r"on a (shared )?2-core CPU", text), (
            f"{english.name}: no time for the command"
        )


# ------------------------------------------------------------------ the commands
def command_lines() -> list[tuple[Path, str]]:
    """Each command of every bash block of the pages and the README, continuation lines
    joined, comments dropped."""
    readme = ROOT / "README.md"
    lines = []
    readme_blocks = [
        (readme, m.group(1))
        for m in re.finditer(r"^```bash\n(.*?)^```", readme.read_text(), re.S | re.M)
    ]
    for page, code in blocks("bash") + readme_blocks:
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split(" # ")[0].strip()
            if line and not line.startswith("#"):
                lines.append((page, line))
    return lines


def check_set_keys(argv: list[str], registry) -> None:
    from rnnbench.training.config import TRAIN_PARAMS

    def names(flag_single, flag_many):
        out = []
        for i, arg in enumerate(argv[:-1]):
            if arg in (flag_single, flag_many):
                out += argv[i + 1].split(",")
        return [n for n in out if not n.startswith("$")]

    models = [registry.model(m) for m in names("--model", "--models")]
    tasks = [registry.task(t) for t in names("--task", "--tasks")]
    for i, arg in enumerate(argv[:-1]):
        if arg != "--set":
            continue
        key = argv[i + 1].split("=", 1)[0]
        scope, _, name = key.partition(".")
        if scope == "train":
            assert name in {p.name for p in TRAIN_PARAMS}, key
        elif scope == "model" and models:
            assert any(name in {p.name for p in m.params} for m in models), key
        elif scope == "task" and tasks:
            assert any(name in {p.name for p in t.options} for t in tasks), key
        else:
            assert scope in ("model", "task"), key


def test_every_command_on_the_pages_parses_and_names_what_exists(cli):
    from rnnbench.cli import build_parser
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config

    registry = get_registry()
    parser = build_parser()
    checked = ran = 0
    for page, line in command_lines():
        if "$COMMON" in line or "sbatch" in line:
            continue
        words = shlex.split(line)
        if words[:2] == ["rnnbench", "ui"] and "ui" not in reference.command_parsers()[1]:
            continue  # README: `rnnbench ui` lands with the UI work (issue 27)
        if words[0] == "rnnbench" and len(words) > 1:
            argv = words[1:]
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:
                raise AssertionError(f"{page.relative_to(ROOT)}: {line}") from exc
            check_set_keys(argv, registry)
            config = getattr(args, "config", None)
            if config and str(config).startswith("results/"):  # ours; others are the reader's
                build_sweep_config(registry, ROOT / config, {})
            if args.command in ("list", "describe"):
                code, _out, err = cli(*argv)
                assert code == 0, f"{line}: {err}"
                ran += 1
            checked += 1
        elif words[:2] == ["python", "benchmarks/remedies.py"]:
            assert (ROOT / words[2]).is_file(), line
            checked += 1
        elif words[:2] == ["python", "docs/figures/lesson_figures.py"]:
            assert words[2] in ("waveform", "attention") and "--out" in words, line
            checked += 1
        elif words[:3] == ["python", "-m", "rnnbench.training.diagnostics"]:
            from rnnbench.training.diagnostics import main as draw  # noqa: F401

            assert "--out" in words, line
            checked += 1
    assert checked >= 40 and ran >= 3, (checked, ran)


def test_every_python_block_on_the_pages_compiles():
    found = blocks("python")
    assert len(found) >= 10
    for page, code in found:
        code = code.replace("\n    ...\n", "\n    pass\n")
        compile(code, str(page), "exec")


# ------------------------------------------------------------------ the lesson figures
@pytest.mark.slow
def test_the_lesson_figure_scripts_draw_from_finished_runs(cli, tmp_path):
    """docs/figures/lesson_figures.py on two tiny runs: the waveform panels carry one line
    per run beside the target, the attention map is a distribution per output step."""
    import importlib.util

    from conftest import TINY

    spec = importlib.util.spec_from_file_location(
        "lesson_figures", DOCS / "figures" / "lesson_figures.py"
    )
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    for model, task, folder in (("gru", "waveform", "wave"), ("seq2seq-attn", "reverse", "attn")):
        code, _out, err = cli(
            "run",
            "--model",
            model,
            "--task",
            task,
            *TINY,
            "--set",
            "task.seq_len=6",
            "--set",
            "task.max_freq=2" if task == "waveform" else "task.beam=1",
            "--no-track",
            "--results-dir",
            str(tmp_path / folder),
            "--json",
        )
        assert code == 0, err
    wave = figures.waveform({"gru": tmp_path / "wave"}, tmp_path / "wave.png")
    attention = figures.attention(tmp_path / "attn", tmp_path / "attn.png")
    assert wave.stat().st_size > 0 and attention.stat().st_size > 0
    with pytest.raises(SystemExit, match="expected one run"):
        figures.only_run(tmp_path)  # no runs/ of its own: one line, not a traceback


# ------------------------------------------------------------------ the two languages
# English pages that have no Chinese page, on purpose (the Chinese site shows the English
# page in their place: `fallback_to_default` in mkdocs.yml), with the reason.
ENGLISH_ONLY = {
    "guide/api.md": "generated from the `__all__` lists and docstrings (`python -m "
    "rnnbench._api_snapshot --write`), like the generated reference pages",
}
GENERATED = {f"reference/{name}" for name in reference.PAGES}  # English help and docstrings


def english_pages() -> list[Path]:
    skip = ("snippets", "hooks", "figures")
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if not p.name.endswith(".zh.md") and p.relative_to(DOCS).parts[0] not in skip
    )


def fenced(text: str) -> list[str]:
    """The commands and code of a page (text blocks, such as annotated equations and
    printed output, may be translated)."""
    return re.findall(r"^```(?:bash|console|python|yaml|toml)\n.*?^```", text, re.S | re.M)


def images(text: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text)


def test_every_english_page_has_its_chinese_page_with_the_same_code_and_figures():
    missing = []
    for english in english_pages():
        relative = english.relative_to(DOCS).as_posix()
        if relative in GENERATED or any(relative.startswith(e) for e in ENGLISH_ONLY):
            continue
        chinese = english.with_name(english.stem + ".zh.md")
        if not chinese.is_file():
            missing.append(relative)
            continue
        en, zh = english.read_text(), chinese.read_text()
        assert fenced(zh) == fenced(en), f"{relative}: the Chinese page's commands or code differ"
        assert images(zh) == images(en), f"{relative}: the Chinese page's figures differ"
        assert re.search(r"[\u4e00-\u9fff]", zh), f"{chinese.name} is not in Chinese"
    assert missing == [], f"English pages without a Chinese page: {missing}"
    for prefix in ENGLISH_ONLY:  # an exception that names no page any more is stale
        assert any(p.relative_to(DOCS).as_posix().startswith(prefix) for p in english_pages()), (
            prefix
        )


def test_every_nav_title_is_translated():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *a: None)
    Loader.add_multi_constructor("!", lambda *a: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    plugin = next(p["i18n"] for p in config["plugins"] if isinstance(p, dict) and "i18n" in p)
    zh = next(lang for lang in plugin["languages"] if lang["locale"] == "zh")
    translated = set(zh["nav_translations"])

    def titles(items):
        for item in items:
            if isinstance(item, dict):
                for title, value in item.items():
                    yield title, value
                    if isinstance(value, list):
                        yield from titles(value)

    # an empty Guides section is filled at build time with each guide's English heading
    # (docs/hooks/rnnbench_docs.py), and those titles need their Chinese titles too
    from rnnbench_docs import GUIDE_TITLE, _title

    nav = config["nav"]
    guides = [p for p in english_pages() if p.relative_to(DOCS).parts[0] == "guide"]
    for item in nav:
        if isinstance(item, dict) and item.get(GUIDE_TITLE) == []:
            item[GUIDE_TITLE] = [{_title(p): p.relative_to(DOCS).as_posix()} for p in guides]
    untranslated = []
    for title, value in titles(nav):
        page = value if isinstance(value, str) else ""
        english_only = (
            page.startswith(("reference/api", "results/"))
            or page in GENERATED
            or page in ENGLISH_ONLY
        )
        same_in_both = title in ("Char-RNN", "N-vs-N, N-vs-1, 1-vs-N, N-vs-M")
        if title not in translated and not english_only and not same_in_both:
            if not (page and page.replace(".md", "").startswith("reference/")):
                untranslated.append(title)
    assert untranslated == [], f"nav titles with no Chinese title: {untranslated}"


# ------------------------------------------------------------------ the figures
def test_every_figure_a_page_shows_is_a_committed_file_reached_by_a_relative_path():
    """Each `![...](path)` of a page (its shared snippets expanded where they are included)
    and of the README names a file of the repository, by a relative path from the page."""
    from rnnbench_docs import expand_snippets

    shown = [(ROOT, images((ROOT / "README.md").read_text()), "README.md")]
    for page in DOCS.rglob("*.md"):
        if page.relative_to(DOCS).parts[0] in ("snippets", "hooks"):
            continue
        text = expand_snippets(page.read_text(), DOCS / "snippets")
        shown.append((page.parent, images(text), page.relative_to(ROOT).as_posix()))
    tracked = set(
        subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    )
    count = 0
    for folder, targets, name in shown:
        for target in targets:
            assert "://" not in target and not target.startswith("/"), f"{name}: {target}"
            path = (folder / target).resolve()
            assert path.is_file(), f"{name}: figure {target} does not exist"
            assert path.relative_to(ROOT).as_posix() in tracked, f"{name}: {target} not committed"
            count += 1
    assert count >= 15


@pytest.mark.slow
def test_every_image_of_the_built_site_loads(site):
    """In the built site (both languages) every <img src> resolves to a file of the site."""
    count = 0
    for page in site.rglob("*.html"):
        for src in re.findall(r'<img[^>]+src="([^"]+)"', page.read_text()):
            if src.startswith(("http://", "https://", "data:")):
                continue
            target = (page.parent / html.unescape(src).split("#")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(site)}: <img src={src}> is missing"
            count += 1
    assert count >= 30


@pytest.mark.slow
def test_every_sitemap_the_pages_point_to_exists_and_lists_built_pages(site):
    """The theme's script fetches sitemap.xml beside each `<link rel="alternate">` of a
    page (a 404 in the browser when it is missing); every sitemap lists pages of the built
    site by full URLs under `site_url` (mkdocs.yml), each under the sitemap's own folder."""
    home = (site / "index.html").read_text()
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', home)
    assert canonical, "the home page has no canonical URL: site_url is unset in mkdocs.yml"
    site_url = canonical.group(1)
    assert site_url.endswith("/") and "://" in site_url
    root_path = "/" + site_url.split("://", 1)[1].partition("/")[2]
    requested = set()
    for page in site.rglob("*.html"):
        for href in re.findall(r'<link rel="alternate" href="([^"]*)" hreflang=', page.read_text()):
            href = html.unescape(href)
            if href.startswith("/"):
                assert href.startswith(root_path), f"{page.relative_to(site)}: {href}"
                folder = site / href[len(root_path) :]
            else:
                folder = page.parent / href
            sitemap = (folder / "sitemap.xml").resolve()
            assert sitemap.is_file(), f"{page.relative_to(site)}: {href}sitemap.xml is missing"
            requested.add(sitemap)
    assert requested == {site / "sitemap.xml", site / "zh" / "sitemap.xml"}
    for sitemap in requested:
        folder = sitemap.parent.relative_to(site).as_posix()
        prefix = site_url + ("" if folder == "." else folder + "/")
        urls = re.findall(r"<loc>([^<]+)</loc>", sitemap.read_text())
        assert len(urls) >= 40, sitemap
        for url in urls:
            assert url.startswith(prefix), f"{sitemap.relative_to(site)}: {url}"
            assert (site / url[len(site_url) :] / "index.html").is_file(), url
