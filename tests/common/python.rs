//! The official MCP Python SDK, pinned (`tests/mcp/requirements.txt`), in a
//! virtual environment under the build directory: `.ci/run` makes it
//! before the tests; a test run from a fresh clone makes it on first use
//! (PyPI is a package registry, reachable where cargo's is).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn venv() -> PathBuf {
    match std::env::var_os("SLEUTH_MCP_VENV") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/mcp-venv"),
    }
}

fn requirements() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/requirements.txt")
}

/// The venv's python, with the pinned SDK importable. Panics with what to
/// do when it cannot be made (a test that needs the peer cannot pass
/// without it).
pub fn python() -> PathBuf {
    static PY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PY.get_or_init(make) {
        Ok(p) => p.clone(),
        Err(e) => panic!("the MCP Python SDK is not available: {e}"),
    }
}

fn make() -> Result<PathBuf, String> {
    let dir = venv();
    let py = dir.join("bin/python");
    // A marker holding the requirements it was made from: a changed pin
    // remakes it.
    let wanted = std::fs::read_to_string(requirements()).map_err(|e| e.to_string())?;
    let marker = dir.join("sleuth-requirements.txt");
    if py.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(py);
    }
    let run = |c: &mut Command, what: &str| -> Result<(), String> {
        let out = c.output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&system)
            .args(["-m", "venv", "--clear"])
            .arg(&dir),
        "python3 -m venv",
    )?;
    run(
        Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements()),
        "pip install -r tests/mcp/requirements.txt",
    )?;
    std::fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    Ok(py)
}
