#!/usr/bin/env python3
"""Fill Solara's CDN-proxy cache from the npm registry, so Solara pages work offline.

Why: a Solara page loads its front end (the Vue/Vuetify app bundle, requirejs,
font-awesome, and per-component libraries such as katex, mermaid and vega) from
https://cdn.jsdelivr.net/npm/.  With the assets proxy on (SOLARA_ASSETS_PROXY,
the default for `solara run`) the page asks Solara's own server for
`/_solara/cdn/<path>` instead, and the server answers from its cache folder,
fetching from the CDN only on a miss (solara/server/cdn_helper.py: get_path).
This machine reaches the npm registry but not the CDN, so this script fills that
cache beforehand: jsDelivr serves exactly the files of the npm tarball, hence
`npm pack NAME@SPEC` unpacked into `<cache>/NAME@SPEC/` gives the same files
under the same paths.

What it installs is read from the installed code, not hard-coded: every
`{{cdn}}/NAME@SPEC/...` and `${this.getCdn()}/NAME@SPEC/...` reference in the
solara package (templates, .vue files, Python-embedded Vue) plus
`settings.assets.fontawesome_path`; `${version}`-style specs are resolved from
the `const version = "..."` in the same file.  Mesa's SolaraViz has no CDN
references of its own: its Altair charts go through solara's vegalite.vue
(vega@5, vega-lite@5, vega-embed@6) and its matplotlib figures are rendered
server-side, so both are covered by the solara scan (mesa is scanned too, in case).

Layout (matches cdn_helper.get_path: cache path = cache_dir / url path):
    <cache>/requirejs@2.3.6/require.js
    <cache>/@widgetti/solara-vuetify3-app@5.2.0/dist/main8.css
    <cache>/vega@5/build/vega.min.js   (folder named by the *range* the URL uses)
i.e. the tarball's top folder (`package/`) becomes `<cache>/NAME@SPEC`.

Cache folder: solara's own setting (solara.server.settings.assets.proxy_cache_dir,
i.e. $SOLARA_ASSETS_PROXY_CACHE_DIR or <sys.prefix>/share/solara/cdn), or --cache-dir.

Idempotent: a folder holding package.json was put there whole by this script
(rename is atomic) and is skipped.  A folder without it is a partial cache that
solara's proxy wrote file by file; it is replaced.
Atomic: each package is unpacked in a temp folder next to its target and renamed.

Usage:  .venv/bin/python scripts/install_solara_assets.py [--list] [--cache-dir DIR]
Exit:   0 ok, 2 npm missing or `npm pack` / unpacking failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# packages whose source is scanned for CDN references
SCAN_PACKAGES = ("solara", "mesa")
# solara.website is solara.dev's own documentation site, never served by `solara run APP`
SKIP_PARTS = {"__pycache__", "website", "node_modules"}
SCAN_SUFFIXES = {".py", ".vue", ".j2", ".html", ".js"}

# `{{cdn}}/`, `{{ cdn }}/`, `${this.getCdn()}/`, `${cdn}/` followed by [@scope/]name@spec/rest
_REF = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|\$\{\s*(?:this\.)?getCdn\(\)\s*\}|\$\{\s*cdn\s*\})/"
    r"(?P<name>(?:@[\w.-]+/)?[\w.-]+)@(?P<spec>\$\{\s*\w+\s*\}|[\w.+~^-]+)"
    r"(?P<rest>/[^\"'`\s)]*)?"
)
_CONST = r"""(?:const|let|var)\s+{var}\s*=\s*["']([^"']+)["']"""
# direct CDN urls cannot go through the proxy; reported, not fixable here
_DIRECT = re.compile(r"https://(?:cdn\.jsdelivr\.net|unpkg\.com)/[^\"'`\s)]+")


class Fail(Exception):
    """An error to report in one line, with exit code 2."""


@dataclass
class Package:
    name: str  # npm name, e.g. "@widgetti/solara-vuetify3-app"
    spec: str  # exact version or range as the URL has it, e.g. "5.2.0" or "5"
    files: set[str] = field(default_factory=set)  # referenced paths inside the package
    where: set[str] = field(default_factory=set)  # source files that reference it

    @property
    def folder(self) -> str:
        return f"{self.name}@{self.spec}"


def ipywidgets_major() -> str:
    # templates reference e.g. dist/main{{ipywidget_major_version}}.css
    try:
        from importlib.metadata import version

        return version("ipywidgets").split(".")[0]
    except Exception:
        return "8"


def cache_dir_and_fontawesome() -> tuple[Path, str | None]:
    """Ask solara itself, so env vars and .env are honoured exactly as `solara run` does."""
    try:
        import solara.server.settings as ss

        return Path(ss.assets.proxy_cache_dir), ss.assets.fontawesome_path
    except Exception as e:  # solara broken/absent: fall back to its documented default
        print(f"note: could not import solara.server.settings ({e}); using default cache path", file=sys.stderr)
        env = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
        return Path(env) if env else Path(sys.prefix) / "share" / "solara" / "cdn", None


def scan(fontawesome_path: str | None) -> tuple[dict[str, Package], list[str], list[str]]:
    pkgs: dict[str, Package] = {}
    unresolved: list[str] = []
    direct: list[str] = []
    major = ipywidgets_major()

    def add(name: str, spec: str, rest: str | None, where: str) -> None:
        p = pkgs.setdefault(f"{name}@{spec}", Package(name, spec))
        p.where.add(where)
        if rest and rest != "/":
            rest = rest.replace("{{ipywidget_major_version}}", major)
            if "{{" not in rest and "${" not in rest:  # only check paths we can spell out
                p.files.add(rest.lstrip("/"))

    for modname in SCAN_PACKAGES:
        spec_ = importlib.util.find_spec(modname)
        if spec_ is None or not spec_.submodule_search_locations:
            continue
        root = Path(list(spec_.submodule_search_locations)[0])
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root)
            if f.suffix not in SCAN_SUFFIXES or SKIP_PARTS.intersection(rel.parts) or not f.is_file():
                continue
            text = f.read_text(encoding="utf-8", errors="replace")
            where = f"{modname}/{rel}"
            for m in _REF.finditer(text):
                spec = m["spec"]
                if spec.startswith("${"):
                    var = spec[2:-1].strip()
                    c = re.search(_CONST.format(var=re.escape(var)), text)
                    if not c:
                        unresolved.append(f"{where}: {m.group(0)}")
                        continue
                    spec = c.group(1)
                add(m["name"], spec, m["rest"], where)
            for m in _DIRECT.finditer(text):
                if not m.group(0).endswith("/npm/"):  # the CDN base setting itself
                    direct.append(f"{where}: {m.group(0)}")

    if fontawesome_path:  # settings.assets.fontawesome_path, e.g. /font-awesome@4.5.0/css/font-awesome.min.css
        m = re.match(r"/?(?P<name>(?:@[\w.-]+/)?[\w.-]+)@(?P<spec>[\w.+~^-]+)(?P<rest>/.*)?$", fontawesome_path)
        if m:
            add(m["name"], m["spec"], m["rest"], "solara settings.assets.fontawesome_path")
        else:
            unresolved.append(f"settings.assets.fontawesome_path: {fontawesome_path}")
    return pkgs, unresolved, direct


def npm_pack(npm: str, pkg: Package, dest: Path) -> tuple[Path, str]:
    """`npm pack` one package into dest; return (tarball, resolved version)."""
    cmd = [npm, "pack", f"{pkg.name}@{pkg.spec}", "--json", "--ignore-scripts", "--pack-destination", str(dest)]
    # cwd=dest: keep any package.json/.npmrc of the current folder out of the way
    r = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if r.returncode != 0:
        # npm's first lines carry the code and reason; the tail is only a pointer to its log
        err = [ln.strip() for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
        raise Fail(f"`npm pack {pkg.name}@{pkg.spec}` failed (exit {r.returncode}): " + " | ".join(err[:4]))
    try:
        info = json.loads(r.stdout)[0]
        return dest / info["filename"], info["version"]
    except Exception:  # unexpected output format: find the tarball ourselves
        tgz = sorted(dest.glob("*.tgz"))
        if len(tgz) != 1:
            raise Fail(f"npm pack {pkg.folder}: could not find the tarball in {dest}: {r.stdout[:300]!r}")
        return tgz[0], "?"


def unpack(tgz: Path, into: Path) -> Path:
    """Extract and return the tarball's single top folder (normally `package/`)."""
    with tarfile.open(tgz) as tf:
        # 'data' filter: refuse absolute paths, .. and device files from the tarball
        tf.extractall(into, filter="data")
    tops = [p for p in into.iterdir()]
    if len(tops) != 1 or not tops[0].is_dir():
        raise Fail(f"{tgz.name}: expected one top folder in the tarball, found {[p.name for p in tops]}")
    return tops[0]


def add_minified_aliases(top: Path, files: set[str]) -> None:
    """jsDelivr minifies any .js/.css on the fly (X.min.js for X.js), and solara relies on it
    (markdown.py asks for requirejs@2.3.6/require.min.js, which the npm package lacks).
    A copy of the unminified file behaves the same, so put one under the .min name."""
    for f in files:
        for ext in (".js", ".css"):
            if f.endswith(".min" + ext) and not (top / f).exists():
                src = top / (f[: -len(".min" + ext)] + ext)
                if src.is_file():
                    shutil.copyfile(src, top / f)


def install_one(npm: str, pkg: Package, cache: Path) -> str:
    target = cache / pkg.folder
    if (target / "package.json").is_file():
        return f"present   {pkg.folder}"
    target.parent.mkdir(parents=True, exist_ok=True)
    # temp folder beside the target: same filesystem, so the final rename is atomic
    with tempfile.TemporaryDirectory(prefix=".install-", dir=target.parent) as tmp:
        tmp = Path(tmp)
        (tmp / "tgz").mkdir()
        (tmp / "x").mkdir()
        tgz, version = npm_pack(npm, pkg, tmp / "tgz")
        try:
            top = unpack(tgz, tmp / "x")
        except (tarfile.TarError, OSError) as e:
            raise Fail(f"unpacking {tgz.name} failed: {e}")
        add_minified_aliases(top, pkg.files)
        missing = sorted(f for f in pkg.files if not (top / f).is_file())
        if missing:  # the CDN would 404 too, but say so
            print(f"warning: {pkg.folder} lacks referenced files: {missing}", file=sys.stderr)
        if target.exists():  # partial cache written file by file by solara's proxy
            old = tmp / "old"
            os.rename(target, old)
        os.rename(top, target)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    return f"installed {pkg.folder}  (npm {pkg.name}@{version}, {size / 1e6:.1f} MB)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, help="default: solara's proxy_cache_dir")
    ap.add_argument("--list", action="store_true", help="only print what would be installed")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    cache, fa = cache_dir_and_fontawesome()
    cache = (args.cache_dir or cache).resolve()
    pkgs, unresolved, direct = scan(fa)
    for u in unresolved:
        print(f"warning: could not resolve CDN reference {u}", file=sys.stderr)
    for d in direct:
        print(f"note: direct CDN url (not proxied, not cached): {d}", file=sys.stderr)
    if not pkgs:
        print("error: found no CDN references in the installed solara; is solara installed in this python?", file=sys.stderr)
        return 2

    print(f"solara CDN cache: {cache}")
    if args.list:
        for key in sorted(pkgs):
            p = pkgs[key]
            print(f"{p.folder:50s} <- {', '.join(sorted(p.where))}")
        return 0

    npm = shutil.which("npm")
    if npm is None:
        print("error: npm not found on PATH; install Node.js/npm (e.g. `apt-get install -y npm`) and re-run", file=sys.stderr)
        return 2
    cache.mkdir(parents=True, exist_ok=True)

    failures = []
    # npm pack is mostly waiting on the registry: a few in parallel
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        futs = {ex.submit(install_one, npm, pkgs[k], cache): k for k in sorted(pkgs)}
        for fut in concurrent.futures.as_completed(futs):
            try:
                print(fut.result(), flush=True)
            except Fail as e:
                failures.append(str(e))
            except Exception as e:  # e.g. permission denied on the cache folder
                failures.append(f"{futs[fut]}: {type(e).__name__}: {e}")
    if failures:
        for f in failures:
            print(f"error: {f}", file=sys.stderr)
        return 2
    print(f"done: {len(pkgs)} packages in {cache} ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
