#!/usr/bin/env python3
"""Put a Chinese web font where the page serves it: src/migrants/viz/public/fonts/.

Why: the page must read in Chinese on a machine with no CJK font installed
(a classroom PC, a locked-down intranet desktop, this build machine).  The page
serves Noto Sans SC itself (``@fontsource/noto-sans-sc`` from the npm registry,
SIL Open Font License 1.1), subset to the characters the page can show.

How: ``npm pack @fontsource/noto-sans-sc@VERSION`` (npm's cache keeps it for
offline re-runs), then, of the package's unicode-range slices (weights 400 and
700), keep those holding a character the page uses, each cut down with
fontTools to those characters; ``noto-sans-sc.css`` declares them with their
unicode-range, so a browser loads only the slices a page needs.  The
characters are every CJK character (and CJK punctuation / full-width form) in
src/migrants/viz/, configs/ (CSV and YAML) and the map data.

Output (git-ignored; made by scripts/setup.sh):
    src/migrants/viz/public/fonts/noto-sans-sc.css
    src/migrants/viz/public/fonts/noto-sans-sc-<slice>-<weight>.woff
    src/migrants/viz/public/fonts/LICENSE-OFL.txt
The page (app.py) adds viz/public/ to Solara's asset folders: /static/assets/fonts/... .

Usage:  .venv/bin/python scripts/install_cjk_font.py [--out DIR]
Exit:   0 ok, 2 npm missing or the package could not be unpacked.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "@fontsource/noto-sans-sc"
VERSION = "5.3.0"
WEIGHTS = (400, 700)
FAMILY = "Noto Sans SC"
SOURCES = [ROOT / "src" / "migrants" / "viz", ROOT / "configs", ROOT / "src" / "migrants" / "geodata"]
SUFFIXES = {".py", ".vue", ".yaml", ".yml", ".csv", ".geojson", ".json", ".md"}


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF or 0x3000 <= o <= 0x303F
            or 0x20000 <= o <= 0x2FA1F)


def used_characters() -> set[str]:
    chars: set[str] = set()
    for base in SOURCES:
        for p in base.rglob("*"):
            if p.is_file() and p.suffix in SUFFIXES and "public" not in p.parts:
                chars |= {ch for ch in p.read_text(encoding="utf-8", errors="ignore") if is_cjk(ch)}
    # the 中文 toggle and digits / signs inside Chinese labels come from the same font
    chars |= set("中文")
    return chars


def parse_ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        part = part.strip().removeprefix("U+").removeprefix("u+")
        if "-" in part:
            a, b = part.split("-")
            out.append((int(a, 16), int(b, 16)))
        elif part:
            out.append((int(part, 16), int(part, 16)))
    return out


def unicode_range(codes: list[int]) -> str:
    codes = sorted(codes)
    parts, start, prev = [], codes[0], codes[0]
    for c in codes[1:] + [None]:
        if c is not None and c == prev + 1:
            prev = c
            continue
        parts.append(f"U+{start:x}" if start == prev else f"U+{start:x}-{prev:x}")
        if c is not None:
            start = prev = c
    return ",".join(parts)


def npm_pack(workdir: Path) -> Path:
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit("install_cjk_font: npm not found (apt-get install npm)")
    r = subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--prefer-offline"], cwd=workdir, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"install_cjk_font: npm pack {PACKAGE}@{VERSION} failed:\n{r.stderr.strip()}", file=sys.stderr)
        raise SystemExit(2)
    return workdir / r.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "migrants" / "viz" / "public" / "fonts")
    args = ap.parse_args()
    from fontTools import subset
    from fontTools.ttLib import TTFont

    chars = used_characters()
    codes = {ord(c) for c in chars}
    with tempfile.TemporaryDirectory() as tmp:
        tgz = npm_pack(Path(tmp))
        with tarfile.open(tgz) as tar:
            members = {m.name: m for m in tar.getmembers()}

            def read(name: str) -> bytes:
                return tar.extractfile(members[f"package/{name}"]).read()

            staged = Path(tempfile.mkdtemp(prefix=".fonts-", dir=args.out.parent if args.out.parent.exists() else None))
            css = [f"/* {PACKAGE}@{VERSION} (SIL Open Font License 1.1), subset by scripts/install_cjk_font.py "
                   f"to the {len(chars)} CJK characters of the page */"]
            total = 0
            for weight in WEIGHTS:
                text = read(f"{weight}.css").decode()
                for m in re.finditer(r"src:\s*url\(\./files/([\w-]+)\.woff2\).*?unicode-range:\s*([^;]+);", text, re.S):
                    stem, ranges = m.group(1), parse_ranges(m.group(2))
                    need = sorted(c for c in codes if any(a <= c <= b for a, b in ranges))
                    if not need:
                        continue
                    font = TTFont(io.BytesIO(read(f"files/{stem}.woff")))
                    opts = subset.Options()
                    opts.flavor = "woff"  # zlib: no brotli module needed
                    opts.layout_features = ["*"]
                    opts.name_IDs = ["*"]
                    sub = subset.Subsetter(opts)
                    sub.populate(unicodes=need)
                    sub.subset(font)
                    name = f"{stem}.woff"
                    font.flavor = "woff"
                    font.save(staged / name)
                    total += (staged / name).stat().st_size
                    css.append(
                        "@font-face {\n"
                        f"  font-family: '{FAMILY}';\n  font-style: normal;\n  font-display: block;\n"
                        f"  font-weight: {weight};\n  src: url(./{name}) format('woff');\n"
                        f"  unicode-range: {unicode_range(need)};\n}}")
            (staged / "noto-sans-sc.css").write_text("\n".join(css) + "\n", encoding="utf-8")
            (staged / "LICENSE-OFL.txt").write_bytes(read("LICENSE"))
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(args.out)
    print(f"install_cjk_font: {len(chars)} characters, {len(list(args.out.glob('*.woff')))} font files, "
          f"{total / 1e3:.0f} kB in {args.out}")


if __name__ == "__main__":
    main()
