#!/usr/bin/env python3
"""Scores PDF text extractors' output (FILE.pdf.WHICH.txt) against the
article's own text: the share of its 8-word windows found in the output
(reading order across columns and pages), ligature characters left in,
and words split by a line-end hyphen. Usage: score.py squad.json *.txt"""
import json, re, sys
art = json.load(open(sys.argv[1]))["data"][0]
def norm(s):
    return re.sub(r"\s+", " ", s).strip()
words = norm(" ".join(p["context"] for p in art["paragraphs"])).split(" ")
wins = [" ".join(words[i:i+8]) for i in range(0, len(words) - 8, 8)]
for f in sys.argv[2:]:
    raw = open(f, encoding="utf-8", errors="replace").read()
    lig = sum(raw.count(c) for c in "\ufb00\ufb01\ufb02\ufb03\ufb04")
    hyph = len(re.findall(r"[a-z]-\n[a-z]", raw))
    text = re.sub(r"([a-z])-\n([a-z])", r"\1\2", raw)
    text = norm(text.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\ufb00", "ff").replace("\ufb03", "ffi").replace("\ufb04", "ffl"))
    found = sum(1 for w in wins if w in text)
    print(f"{f}\twindows {found}/{len(wins)} ({100*found/len(wins):.1f} %)\tligatures {lig}\tline-end hyphens {hyph}")
