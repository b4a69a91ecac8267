//! Compiles `src/xptp.bpf.c` twice with clang (`-target bpf`): the portable build and the
//! hardware-RX-timestamp build (`-DXPTP_HW_TS=1`, calls the `bpf_xdp_metadata_rx_timestamp`
//! kfunc). The objects land in `OUT_DIR` and are embedded by `src/loader.rs`.

use std::{env, path::PathBuf, process::Command};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let src = manifest.join("src/xptp.bpf.c");
    let include = manifest.join("include");
    for p in [
        "src/xptp.bpf.c",
        "include/xptp_meta.h",
        "include/xptp_counters.h",
    ] {
        println!("cargo:rerun-if-changed={}", manifest.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    // `-target bpf` has no `asm/` headers of its own: use the host's multiarch directory.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => other,
    };
    for (name, hw) in [("xptp.bpf.o", "0"), ("xptp_hwts.bpf.o", "1")] {
        let obj = out.join(name);
        let status = Command::new(&clang)
            .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
            .arg(format!("-DXPTP_HW_TS={hw}"))
            .arg(format!("-I{}", include.display()))
            .arg(format!("-I/usr/include/{multiarch}"))
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .status()
            .map_err(|e| {
                format!(
                    "cannot run `{clang}` ({e}): install clang, llvm, libbpf-dev and \
                     gcc-multilib (scripts/setup), or point CLANG at a clang binary"
                )
            })?;
        if !status.success() {
            return Err(format!(
                "`{clang}` failed to compile {} (XPTP_HW_TS={hw}): see the compiler output above",
                src.display()
            ));
        }
    }
    Ok(())
}
