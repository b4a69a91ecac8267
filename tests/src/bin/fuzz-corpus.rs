//! Rewrites the seed corpus of the cargo-fuzz targets (`fuzz/corpus/<target>/seed-*`) from the
//! golden captures. Run: `cargo run -p xptp-tests --bin fuzz-corpus`.

use std::process::ExitCode;

use xptp_tests::fuzz_corpus::{fuzz_dir, write_seeds};

fn main() -> ExitCode {
    match write_seeds(&fuzz_dir()) {
        Ok(n) => {
            println!(
                "wrote {n} seeds under {}",
                fuzz_dir().join("corpus").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz-corpus: {e}");
            ExitCode::FAILURE
        }
    }
}
