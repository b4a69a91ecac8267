//! ptp4l's command line as configuration overrides: the short flags of ptp4l 3.1.1
//! (`-2 -4 -6` transport, `-E -P -A` delay mechanism, `-H -S -L` timestamping, `-s` slaveOnly,
//! `-m` verbose, `-q` no syslog, `-l N` logging level) and its long options `--KEY VALUE` /
//! `--KEY=VALUE` for every configuration key. The result feeds [`super::Config::load`], whose
//! overrides come after the file, as in ptp4l (where a command-line value locks the global
//! value against the file).

use std::path::PathBuf;

use super::error::{ConfigError, Diagnostic, Origin, Problem};

/// The override a value-less short flag stands for.
fn short(c: char) -> Option<(&'static str, &'static str)> {
    Some(match c {
        'A' => ("delay_mechanism", "Auto"),
        'E' => ("delay_mechanism", "E2E"),
        'P' => ("delay_mechanism", "P2P"),
        '2' => ("network_transport", "L2"),
        '4' => ("network_transport", "UDPv4"),
        '6' => ("network_transport", "UDPv6"),
        'H' => ("time_stamping", "hardware"),
        'S' => ("time_stamping", "software"),
        'L' => ("time_stamping", "legacy"),
        's' => ("slaveOnly", "1"),
        'm' => ("verbose", "1"),
        'q' => ("use_syslog", "0"),
        _ => return None,
    })
}

fn bad(flag: &str) -> ConfigError {
    ConfigError::Invalid(vec![Diagnostic {
        origin: Origin::CommandLine,
        problem: Problem::UnknownFlag(flag.to_owned()),
    }])
}

/// ptp4l's command line split into what the daemon needs.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Ptp4lArgs {
    /// `-f FILE`.
    pub config_file: Option<PathBuf>,
    /// `-i IFNAME`, in order.
    pub interfaces: Vec<String>,
    /// Everything else, as `(key, value)` in command-line order.
    pub overrides: Vec<(String, String)>,
}

/// Maps ptp4l flags to `(key, value)` overrides. Accepts grouped short flags (`-2S`), `-l N`
/// / `-lN`, `--KEY VALUE` and `--KEY=VALUE`. Flags that are not overrides (`-f`, `-i`, `-p`,
/// `-v`, `-h`) and anything unknown are errors; use [`parse_ptp4l_args`] for a full command
/// line.
pub fn flag_overrides<S: AsRef<str>>(args: &[S]) -> Result<Vec<(String, String)>, ConfigError> {
    let a = parse_ptp4l_args(args)?;
    if let Some(f) = a
        .config_file
        .as_ref()
        .map(|_| "-f")
        .or_else(|| (!a.interfaces.is_empty()).then_some("-i"))
    {
        return Err(bad(f));
    }
    Ok(a.overrides)
}

/// Parses a ptp4l command line (without the program name).
pub fn parse_ptp4l_args<S: AsRef<str>>(args: &[S]) -> Result<Ptp4lArgs, ConfigError> {
    let mut out = Ptp4lArgs::default();
    let mut it = args.iter().map(AsRef::as_ref);
    while let Some(arg) = it.next() {
        if let Some(long) = arg.strip_prefix("--") {
            let (key, value) = match long.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => {
                    let v = it.next().ok_or_else(|| bad(arg))?;
                    (long.to_owned(), v.to_owned())
                }
            };
            if key.is_empty() {
                return Err(bad(arg));
            }
            out.overrides.push((key, value));
            continue;
        }
        let Some(group) = arg.strip_prefix('-').filter(|g| !g.is_empty()) else {
            return Err(bad(arg));
        };
        for (i, c) in group.char_indices() {
            if let Some((k, v)) = short(c) {
                out.overrides.push((k.to_owned(), v.to_owned()));
                continue;
            }
            // Options with an argument take the rest of the group or the next word.
            let rest = &group[i + c.len_utf8()..];
            let mut operand = || -> Result<String, ConfigError> {
                if rest.is_empty() {
                    it.next().map(str::to_owned).ok_or_else(|| bad(arg))
                } else {
                    Ok(rest.to_owned())
                }
            };
            match c {
                'l' => out.overrides.push(("logging_level".into(), operand()?)),
                'f' => out.config_file = Some(PathBuf::from(operand()?)),
                'i' => out.interfaces.push(operand()?),
                _ => return Err(bad(&format!("-{c}"))),
            }
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn short_flags_map_to_keys() {
        let o = flag_overrides(&["-2", "-4", "-6", "-E", "-P", "-S", "-H", "-s"]).unwrap();
        assert_eq!(
            o,
            pairs(&[
                ("network_transport", "L2"),
                ("network_transport", "UDPv4"),
                ("network_transport", "UDPv6"),
                ("delay_mechanism", "E2E"),
                ("delay_mechanism", "P2P"),
                ("time_stamping", "software"),
                ("time_stamping", "hardware"),
                ("slaveOnly", "1"),
            ])
        );
        let o = flag_overrides(&["-2Sm", "-l", "7", "-q", "-l5"]).unwrap();
        assert_eq!(
            o,
            pairs(&[
                ("network_transport", "L2"),
                ("time_stamping", "software"),
                ("verbose", "1"),
                ("logging_level", "7"),
                ("use_syslog", "0"),
                ("logging_level", "5"),
            ])
        );
    }

    #[test]
    fn long_options_and_full_command_line() {
        let a = parse_ptp4l_args(&[
            "-f",
            "/etc/ptp4l.conf",
            "-i",
            "eth0",
            "-ieth1",
            "--priority1",
            "100",
            "--domainNumber=24",
            "-2",
        ])
        .unwrap();
        assert_eq!(a.config_file, Some(PathBuf::from("/etc/ptp4l.conf")));
        assert_eq!(a.interfaces, vec!["eth0", "eth1"]);
        assert_eq!(
            a.overrides,
            pairs(&[
                ("priority1", "100"),
                ("domainNumber", "24"),
                ("network_transport", "L2")
            ])
        );
    }

    #[test]
    fn bad_flags_are_named() {
        for (args, msg) in [
            (vec!["-x"], "command line: unknown ptp4l option '-x'"),
            (vec!["-2x"], "command line: unknown ptp4l option '-x'"),
            (vec!["-l"], "command line: unknown ptp4l option '-l'"),
            (
                vec!["--priority1"],
                "command line: unknown ptp4l option '--priority1'",
            ),
            (vec!["eth0"], "command line: unknown ptp4l option 'eth0'"),
            (
                vec!["-i", "eth0"],
                "command line: unknown ptp4l option '-i'",
            ),
        ] {
            assert_eq!(flag_overrides(&args).unwrap_err().to_string(), msg);
        }
    }
}
