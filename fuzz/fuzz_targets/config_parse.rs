//! The ptp4l.conf parser on arbitrary text (and arbitrary overrides): never panics; errors are
//! values that display.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xptp_control::config::Config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Config::load_str::<&str, &str>(None, &text, &[]) {
        Ok(_) => {}
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // The first line also as a `--key value` override.
    if let Some((k, v)) = text.lines().next().and_then(|l| l.split_once(' ')) {
        let _ = Config::load_str(Some("default"), "", &[(k, v)]);
    }
});
