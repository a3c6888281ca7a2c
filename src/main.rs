#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    sleuth::app_main::main()
}
