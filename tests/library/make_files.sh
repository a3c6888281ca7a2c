#!/usr/bin/env bash
# Makes tests/library/files/ from src/ with the real producers (Debian's
# texlive-latex-base + lmodern, libreoffice-writer-nogui, pandoc, qpdf).
# The outputs are committed; CI does not run this.
set -euo pipefail
cd "$(dirname "$0")"
out=files
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp src/* "$work/"
(
    cd "$work"
    pdflatex -interaction=nonstopmode paper.tex >/dev/null
    pdflatex -interaction=nonstopmode blank.tex >/dev/null
    HOME="$work/home" libreoffice --headless --convert-to 'docx:MS Word 2007 XML' report.html >/dev/null
    mkdir pdf && cp report.docx pdf/
    (cd pdf && HOME="$work/home" libreoffice --headless --convert-to pdf report.docx >/dev/null)
    pandoc book.md -o book.epub
    qpdf --encrypt secret secret 256 -- paper.pdf encrypted.pdf
    qpdf --encrypt "" owner 256 -- paper.pdf owner-only.pdf
    head -c 40000 paper.pdf > truncated.pdf
)
mkdir -p "$out"
cp "$work/paper.pdf" "$out/paper.pdflatex.pdf"
cp "$work/pdf/report.pdf" "$out/report.libreoffice.pdf"
cp "$work/report.docx" "$work/book.epub" "$work/encrypted.pdf" "$work/owner-only.pdf" \
    "$work/truncated.pdf" "$out/"
cp "$work/blank.pdf" "$out/no-text.pdf"
# The hand-written notes (notes.md, journal.org, plain.txt, saved.html)
# live only in files/.
