#!/usr/bin/env bash
# Prepare the Chinese font the PDF reports embed, and the tools their tests use.
#
# Writes assets/fonts/wqy-microhei.ttf: face 0 ("WenQuanYi Micro Hei") of
# Debian's fonts-wqy-microhei collection (Apache-2.0), as a single-face
# TrueType file (genpdf cannot read .ttc collections), with the CJK
# compatibility block U+F900–FAFF removed from its cmap: those code points
# share glyphs with common characters (年 不 了 女 更 老 量 …), and a PDF maps
# a shared glyph back to the higher code point, so "2024年度" would copy out
# with U+F98E instead of 年 and a search would not find it.
# Also copies the font's licence to assets/fonts/LICENSE-wqy-microhei.txt and
# makes sure pdftotext and pdftoppm (poppler-utils), headless Chromium and
# LibreOffice Writer (which opens the Word reports in their tests) are there
# for the report tests, and GNU time (the tests of bounded memory).
#
# Idempotent: every step checks before it acts; run it again at any time.
# For official documents (GB/T 9704-2012) it also copies two faces of
# Arphic's GB fonts (Arphic Public License), from Debian's packages:
# assets/fonts/arphic-sungti.ttf ("AR PL SungtiL GB", a 宋体: the title, the
# authority's mark, the page numbers, and the body, as Debian packages no
# FangSong with simplified characters) and assets/fonts/arphic-kaiti.ttf
# ("AR PL KaitiM GB", a 楷体: second-level headings), with their licence in
# assets/fonts/LICENSE-arphic.txt. An office holding a licence for a 仿宋 or
# a 小标宋 names the file in SUNWARD_FONT_FANGSONG or SUNWARD_FONT_TITLE.
# The .ttf files are produced here, not committed (assets/fonts/.gitignore).
# Set SUNWARD_FONT=/path/to/font.ttf to make the renderer use another file.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT_DIR=assets/fonts
OUT_TTF="$OUT_DIR/wqy-microhei.ttf"
OUT_LICENSE="$OUT_DIR/LICENSE-wqy-microhei.txt"
TTC=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
apt_updated=0
apt_install() {
  local missing=() flags=()
  if [ "${1:-}" = --no-install-recommends ]; then flags=(--no-install-recommends); shift; fi
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "prepare-fonts: please install: ${missing[*]}" >&2
      exit 1
    fi
    echo "prepare-fonts: installing ${missing[*]}"
    if [ "$apt_updated" -eq 0 ]; then
      "${as_root[@]}" apt-get update -qq
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${flags[@]}" "${missing[@]}"
  fi
}

# Debian's python3-fonttools runs with Debian's own python (not a pyenv or venv one).
# chromium: the report tests open the HTML in headless Chromium and read its DOM.
# libreoffice-writer-nogui: the Word report tests print the .docx to PDF with soffice.
apt_install fonts-wqy-microhei fonts-arphic-gbsn00lp fonts-arphic-gkai00mp poppler-utils python3-fonttools chromium time
apt_install --no-install-recommends libreoffice-writer-nogui
PYTHON=/usr/bin/python3
if ! "$PYTHON" -c 'import fontTools' 2>/dev/null; then
  echo "prepare-fonts: $PYTHON cannot import fontTools (package python3-fonttools)" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
if [ -s "$OUT_TTF" ] && [ "$OUT_TTF" -nt "$TTC" ] && [ "$OUT_TTF" -nt "$0" ]; then
  echo "prepare-fonts: $OUT_TTF is up to date"
else
  echo "prepare-fonts: extracting face 0 of $TTC"
  "$PYTHON" - "$TTC" "$OUT_TTF" <<'PY'
import os, sys
from fontTools.ttLib import TTCollection

src, dst = sys.argv[1], sys.argv[2]
font = TTCollection(src).fonts[0]
for table in font["cmap"].tables:
    for cp in [cp for cp in table.cmap if 0xF900 <= cp <= 0xFAFF]:
        del table.cmap[cp]
tmp = dst + ".tmp"
font.save(tmp)
os.replace(tmp, dst)
print("prepare-fonts: wrote %s (%d bytes, %s)" % (dst, os.path.getsize(dst), font["name"].getDebugName(4)))
PY
fi

{
  echo "The file wqy-microhei.ttf in this folder is face 0 of WenQuanYi Micro Hei"
  echo "(文泉驿微米黑), taken from Debian's fonts-wqy-microhei package by"
  echo "scripts/prepare-fonts.sh, with the code points U+F900-FAFF removed from its"
  echo "cmap. It is used under the Apache License 2.0 (full text below)."
  echo
  echo "==== Debian copyright file of fonts-wqy-microhei ===="
  cat /usr/share/doc/fonts-wqy-microhei/copyright
  echo
  echo "==== Apache License 2.0 ===="
  cat /usr/share/common-licenses/Apache-2.0
} > "$OUT_LICENSE.tmp"
mv "$OUT_LICENSE.tmp" "$OUT_LICENSE"
# The official document faces: single-face TrueType files already, copied as they are.
for pair in "arphic-gbsn00lp/gbsn00lp.ttf:arphic-sungti.ttf" "arphic-gkai00mp/gkai00mp.ttf:arphic-kaiti.ttf"; do
  src="/usr/share/fonts/truetype/${pair%%:*}"
  dst="$OUT_DIR/${pair##*:}"
  if [ -s "$dst" ] && cmp -s "$src" "$dst"; then
    echo "prepare-fonts: $dst is up to date"
  else
    cp "$src" "$dst.tmp"
    mv "$dst.tmp" "$dst"
    echo "prepare-fonts: wrote $dst"
  fi
done
{
  echo "The files arphic-sungti.ttf (AR PL SungtiL GB) and arphic-kaiti.ttf"
  echo "(AR PL KaitiM GB) in this folder are Debian's fonts-arphic-gbsn00lp and"
  echo "fonts-arphic-gkai00mp fonts, copied unchanged by scripts/prepare-fonts.sh."
  echo "They are used under the Arphic Public License (full text below)."
  echo
  echo "==== Debian copyright file of fonts-arphic-gbsn00lp ===="
  cat /usr/share/doc/fonts-arphic-gbsn00lp/copyright
  echo
  echo "==== Debian copyright file of fonts-arphic-gkai00mp ===="
  cat /usr/share/doc/fonts-arphic-gkai00mp/copyright
} > "$OUT_DIR/LICENSE-arphic.txt.tmp"
mv "$OUT_DIR/LICENSE-arphic.txt.tmp" "$OUT_DIR/LICENSE-arphic.txt"

echo "prepare-fonts: done ($OUT_TTF, $OUT_LICENSE, the official faces)"
