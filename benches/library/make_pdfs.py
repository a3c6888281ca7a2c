#!/usr/bin/env python3
"""Writes the library benchmark's PDFs from the SQuAD articles, with real
producers, so CI needs none of them:

  pdfLaTeX one column   <title>.1col.pdf   (article class, lmodern, T1)
  pdfLaTeX two columns  <title>.2col.pdf   (article class, twocolumn)

and, for the extractor comparison only (benches/library/compare/), the same
first article through LibreOffice (soffice --convert-to pdf), Chromium's
print-to-PDF and reportlab. Run from this folder:

  python3 make_pdfs.py ../../../shared/fixtures/squad/squad-v2-dev-2articles.json
"""
import json, os, shutil, subprocess, sys, tempfile, html

LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
    "#": r"\#", "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}",
    "£": r"\pounds{}", "°": r"\textdegree{}", "ð": r"\dh{}", "Î": r"\^{I}",
}

def tex_escape(s):
    return "".join(LATEX_SPECIAL.get(c, c) for c in s)

def latex(title, paras, twocol, out):
    cls = "[twocolumn]{article}" if twocol else "{article}"
    body = "\n\n".join(tex_escape(p) for p in paras)
    src = f"""\\documentclass{cls}
\\usepackage[utf8]{{inputenc}}
\\usepackage[T1]{{fontenc}}
\\usepackage{{lmodern}}
\\usepackage{{textcomp}}
\\usepackage[pdftitle={{{tex_escape(title)}}},pdfauthor={{SQuAD 2.0 (Wikipedia)}}]{{hyperref}}
\\title{{{tex_escape(title)}}}
\\author{{Wikipedia contributors}}
\\date{{}}
\\begin{{document}}
\\maketitle
{body}
\\end{{document}}
"""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "doc.tex"), "w") as f:
            f.write(src)
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], cwd=d,
                       check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "doc.pdf"), out)

def html_page(title, paras):
    ps = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    return f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>\n{ps}\n</body></html>"

def main():
    data = json.load(open(sys.argv[1]))["data"]
    os.makedirs("corpus", exist_ok=True)
    os.makedirs("compare", exist_ok=True)
    for a in data:
        title = a["title"].replace("_", " ")
        paras = [p["context"] for p in a["paragraphs"]]
        slug = a["title"]
        latex(title, paras, False, f"corpus/{slug}.1col.pdf")
        latex(title, paras, True, f"corpus/{slug}.2col.pdf")
    a = data[0]
    title = a["title"].replace("_", " ")
    paras = [p["context"] for p in a["paragraphs"]]
    shutil.copy(f"corpus/{a['title']}.1col.pdf", "compare/pdflatex-1col.pdf")
    shutil.copy(f"corpus/{a['title']}.2col.pdf", "compare/pdflatex-2col.pdf")
    with tempfile.TemporaryDirectory() as d:
        page = os.path.join(d, "libreoffice.html")
        with open(page, "w") as f:
            f.write(html_page(title, paras))
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf:writer_web_pdf_Export",
                        "--outdir", d, page], check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "libreoffice.pdf"), "compare/libreoffice.pdf")
        page = os.path.join(d, "chromium.html")
        with open(page, "w") as f:
            f.write(html_page(title, paras))
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-pdf-header-footer", f"--print-to-pdf={d}/chromium.pdf",
                        "file://" + page], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "chromium.pdf"), "compare/chromium.pdf")
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import SimpleDocTemplate, Paragraph
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate("compare/reportlab.pdf", title=title, author="SQuAD 2.0")
    doc.build([Paragraph(html.escape(title), styles["Title"])] +
              [Paragraph(html.escape(p), styles["BodyText"]) for p in paras])

if __name__ == "__main__":
    main()
