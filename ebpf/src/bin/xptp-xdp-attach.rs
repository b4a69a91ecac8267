//! `xptp-xdp-attach IFNAME [auto|native|skb] [--hw-ts]`: attaches the XDP steering program,
//! prints one `ATTACHED ...` status line on stdout, then prints the counters every second until
//! killed. The program stays attached exactly as long as this process lives (bpf_link), which is
//! what the SIGKILL test checks; it is also a handy manual tool for watching steering decisions.

use std::{io::Write, process::ExitCode, time::Duration};

use xptp_ebpf::{AttachMode, XdpSteering};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(ifname) = args.first() else {
        eprintln!("usage: xptp-xdp-attach IFNAME [auto|native|skb] [--hw-ts]");
        return ExitCode::from(2);
    };
    let mode = match args.get(1).map(String::as_str) {
        None | Some("auto") | Some("--hw-ts") => AttachMode::Auto,
        Some("native") => AttachMode::Native,
        Some("skb") => AttachMode::Skb,
        Some(other) => {
            eprintln!("unknown mode {other:?}: use auto, native or skb");
            return ExitCode::from(2);
        }
    };
    let hw = args.iter().any(|a| a == "--hw-ts");
    let steering = match XdpSteering::attach(ifname, mode, hw) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let s = steering.status();
    println!(
        "ATTACHED ifname={} ifindex={} prog_id={} build={:?} mode={:?} hw_ts_fallback={:?}",
        s.ifname, s.ifindex, s.prog_id, s.build, s.mode, s.hw_ts_fallback
    );
    let _ = std::io::stdout().flush();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        match steering.counters() {
            Ok(c) => println!("COUNTERS {:?}", c.raw),
            Err(e) => eprintln!("reading counters: {e}"),
        }
        let _ = std::io::stdout().flush();
    }
}
