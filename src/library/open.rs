//! Opening a cited file at its page (`o` in the source view): the
//! `[library] open` template, e.g. `zathura --page={page} {path}` or
//! `okular -p {page} {path}`, split like a shell would split it (quotes
//! kept, nothing run through a shell), with `{path}` and `{page}` filled
//! in each word; an empty template uses the desktop's opener.

/// The program and arguments for `template` (a page of None opens p. 1).
pub fn command_for(template: &str, path: &str, page: Option<u32>) -> Result<Vec<String>, String> {
    let page = page.unwrap_or(1).to_string();
    if template.trim().is_empty() {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        return Ok(vec![opener.to_string(), path.to_string()]);
    }
    let words =
        shell_words::split(template).map_err(|e| format!("[library] open {template:?}: {e}"))?;
    if words.is_empty() {
        return Err("[library] open is empty".into());
    }
    let mut argv: Vec<String> = words
        .iter()
        .map(|w| w.replace("{path}", path).replace("{page}", &page))
        .collect();
    if !words.iter().any(|w| w.contains("{path}")) {
        argv.push(path.to_string());
    }
    Ok(argv)
}

/// Starts the viewer without waiting for it (its output is not ours: the
/// terminal belongs to the app).
/// `failed` hears why, when the viewer exits with a failure.
pub fn open(
    template: &str,
    path: &str,
    page: Option<u32>,
    failed: impl FnOnce(String) + Send + 'static,
) -> Result<(), String> {
    if !std::path::Path::new(path).exists() {
        return Err(format!(
            "{} is no longer there",
            crate::text::sanitize::one_line(path)
        ));
    }
    let argv = command_for(template, path, page)?;
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    spawn_reaped(cmd, &argv[0], failed)
}

/// Starts an opener (a viewer, `xdg-open`) without waiting for it: a
/// thread reaps it (no zombie is left behind) and, when it fails, hands
/// `failed` the reason — an opener that exits 3 opened nothing.
pub fn spawn_reaped(
    mut cmd: std::process::Command,
    name: &str,
    failed: impl FnOnce(String) + Send + 'static,
) -> Result<(), String> {
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    let name = crate::text::sanitize::one_line(name);
    let shown = name.clone();
    std::thread::Builder::new()
        .name("opener".into())
        .spawn(move || match child.wait() {
            Ok(s) if s.success() => {}
            Ok(s) => failed(format!("{name} failed ({s}): nothing was opened")),
            Err(e) => failed(format!("{name}: {e}")),
        })
        .map(|_| ())
        .map_err(|e| format!("cannot watch {shown}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opener_is_reaped_and_its_failure_reported() {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        spawn_reaped(std::process::Command::new("false"), "false", move |w| {
            let _ = tx.send(w);
        })
        .unwrap();
        let why = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert!(
            why.contains("false failed") && why.contains("nothing was opened"),
            "{why}"
        );
        spawn_reaped(std::process::Command::new("true"), "true", move |w| {
            let _ = tx2.send(w);
        })
        .unwrap();
        // Success says nothing; the reaper ends (the sender is dropped).
        assert!(rx.recv_timeout(std::time::Duration::from_secs(10)).is_err());
        assert!(spawn_reaped(std::process::Command::new("/no/such/opener"), "x", |_| {}).is_err());
    }

    #[test]
    fn templates_fill_path_and_page_per_word_without_a_shell() {
        assert_eq!(
            command_for("zathura --page={page} {path}", "/p/a b.pdf", Some(12)).unwrap(),
            ["zathura", "--page=12", "/p/a b.pdf"]
        );
        // A path that looks like shell syntax stays one inert argument.
        assert_eq!(
            command_for("okular -p {page} {path}", "/p/$(rm -rf ~);.pdf", None).unwrap(),
            ["okular", "-p", "1", "/p/$(rm -rf ~);.pdf"]
        );
        assert_eq!(
            command_for("'/Applications/My Viewer' --page {page}", "/x.pdf", Some(2)).unwrap(),
            ["/Applications/My Viewer", "--page", "2", "/x.pdf"]
        );
        assert_eq!(command_for("", "/x.md", Some(3)).unwrap().len(), 2);
        assert!(command_for("zathura 'unclosed", "/x", None).is_err());
    }
}
