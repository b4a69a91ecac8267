//! Compiles `src/kernel_bound.bpf.c` (the kernel-bound XDP_TX responder) with clang
//! (`-target bpf`), as `ebpf/build.rs` does for the steering program. The object lands in
//! `OUT_DIR` and is embedded by `src/kernel_bound.rs`.

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
    let src = manifest.join("src/kernel_bound.bpf.c");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let multiarch = match env::var("CARGO_CFG_TARGET_ARCH")
        .unwrap_or_default()
        .as_str()
    {
        "x86_64" => "x86_64-linux-gnu".to_string(),
        "aarch64" => "aarch64-linux-gnu".to_string(),
        other => other.to_string(),
    };
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        .arg(format!("-I/usr/include/{multiarch}"))
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(out.join("kernel_bound.bpf.o"))
        .status()
        .map_err(|e| {
            format!(
                "cannot run `{clang}` ({e}): install clang, llvm, libbpf-dev and gcc-multilib \
                 (scripts/setup), or point CLANG at a clang binary"
            )
        })?;
    if !status.success() {
        return Err(format!(
            "`{clang}` failed to compile {}: see the compiler output above",
            src.display()
        ));
    }
    Ok(())
}
