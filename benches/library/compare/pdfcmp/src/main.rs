use std::time::Instant;
fn main() {
    let which = std::env::args().nth(1).unwrap();
    for path in std::env::args().skip(2) {
        let t = Instant::now();
        let res: Result<Vec<String>, String> = match which.as_str() {
            "extract" => pdf_extract::extract_text_by_pages(&path).map_err(|e| e.to_string()),
            "oxide" => (|| {
                let doc = pdf_oxide::PdfDocument::open(&path).map_err(|e| e.to_string())?;
                let n = doc.page_count().map_err(|e| e.to_string())?;
                let mut v = Vec::new();
                for i in 0..n { v.push(doc.extract_text(i).map_err(|e| e.to_string())?); }
                Ok(v)
            })(),
            _ => panic!(),
        };
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        match res {
            Ok(pages) => {
                let out = format!("{path}.{which}.txt");
                std::fs::write(&out, pages.join("\n\u{c}\n")).unwrap();
                println!("{path}\t{which}\tpages={}\tms={ms:.1}\tchars={}", pages.len(), pages.iter().map(|p| p.len()).sum::<usize>());
            }
            Err(e) => println!("{path}\t{which}\tERROR {e}\tms={ms:.1}"),
        }
    }
}
