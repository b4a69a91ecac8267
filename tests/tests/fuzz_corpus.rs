//! The checked-in fuzz seed corpus (`fuzz/corpus/<target>/seed-*`) is what the golden captures
//! give today, and stays small. Regenerate with `cargo run -p xptp-tests --bin fuzz-corpus`.

use xptp_tests::fuzz_corpus::{fuzz_dir, seeds};

#[test]
fn checked_in_seeds_match_the_golden_captures() {
    let seeds = seeds().expect("build seeds from the captures");
    let mut total = 0usize;
    for (target, name, data) in &seeds {
        let p = fuzz_dir().join("corpus").join(target).join(name);
        let on_disk = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo run -p xptp-tests --bin fuzz-corpus`",
                p.display()
            )
        });
        assert!(
            on_disk == *data,
            "{} is stale; run `cargo run -p xptp-tests --bin fuzz-corpus`",
            p.display()
        );
        total += data.len();
    }
    for target in [
        "wire_frame",
        "wire_view",
        "fastpath_delay_resp",
        "fastpath_pdelay",
        "fastpath_tc",
        "config_parse",
        "ptp_instance",
    ] {
        assert!(
            seeds.iter().any(|(t, _, _)| *t == target),
            "no seeds for fuzz target {target}"
        );
    }
    assert!(
        total < 1 << 20,
        "seed corpus is {total} bytes, keep it under 1 MB"
    );
}
