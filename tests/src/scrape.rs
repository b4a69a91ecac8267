//! Scraping `xptp run --metrics` inside a lab namespace (the endpoint listens on the
//! namespace's loopback) and reading the parsed OpenMetrics exposition: a family, one
//! sample's value by labels, histogram sanity. Parsing is done by a strict OpenMetrics parser,
//! never by grepping the text. Panics on failure: for tests only.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use openmetrics_parser::{MetricFamily, OpenMetricsType, OpenMetricsValue};

use crate::netns::Netns;

/// A parsed exposition.
pub type Exposition = openmetrics_parser::MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// GET /metrics from inside `ns` (a thread that joins the namespace), checked for a 200 with
/// the OpenMetrics content type, and parsed.
pub fn scrape(ns: &Netns, addr: &str) -> Exposition {
    let path = format!("/var/run/netns/{}", ns.name());
    let addr = addr.to_owned();
    let (head, body) = std::thread::spawn(move || {
        let f = std::fs::File::open(&path).expect("open netns");
        // SAFETY: setns on this thread only (it ends below), with a valid namespace fd.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        let mut s = std::net::TcpStream::connect(&addr).expect("connect to the metrics endpoint");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (h, b) = out.split_once("\r\n\r\n").expect("an HTTP response");
        (h.to_owned(), b.to_owned())
    })
    .join()
    .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    assert!(
        head.contains("application/openmetrics-text"),
        "content type: {head}"
    );
    openmetrics_parser::openmetrics::parse_openmetrics(&body)
        .unwrap_or_else(|e| panic!("the exposition does not parse: {e:?}\n{body}"))
}

/// The family `name` (without `_total` etc.).
pub fn family<'a>(
    e: &'a Exposition,
    name: &str,
) -> &'a MetricFamily<OpenMetricsType, OpenMetricsValue> {
    e.families
        .get(name)
        .unwrap_or_else(|| panic!("no family {name}; have {:?}", e.families.keys()))
}

/// The value of the first sample of `name` whose labels include all of `labels`, if any.
pub fn try_value(e: &Exposition, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let s = family(e, name).iter_samples().find(|s| {
        let l = s.get_labelset().unwrap();
        labels.iter().all(|(k, v)| l.get_label_value(k) == Some(*v))
    })?;
    Some(match &s.value {
        OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
        OpenMetricsValue::Counter(c) => c.value.as_f64(),
        o => panic!("{name}: not a number: {o:?}"),
    })
}

/// [`try_value`], which must exist.
pub fn value(e: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    try_value(e, name, labels).unwrap_or_else(|| panic!("no {name} sample with {labels:?}"))
}

/// Checks every histogram of `name`: buckets ascending by bound, cumulative counts
/// non-decreasing, +Inf equal to the count. Returns the total count.
pub fn histogram_total(e: &Exposition, name: &str) -> u64 {
    let f = family(e, name);
    let mut total = 0;
    for s in f.iter_samples() {
        let OpenMetricsValue::Histogram(h) = &s.value else {
            panic!("{name} is not a histogram");
        };
        let mut prev = (f64::NEG_INFINITY, 0.0);
        for b in &h.buckets {
            let c = b.count.as_f64();
            assert!(b.upper_bound > prev.0, "{name}: bounds not ascending {h:?}");
            assert!(c >= prev.1, "{name}: buckets not monotonic {h:?}");
            prev = (b.upper_bound, c);
        }
        assert_eq!(prev.0, f64::INFINITY, "{name}: no +Inf bucket");
        assert_eq!(Some(prev.1 as u64), h.count, "{name}: +Inf != count");
        total += h.count.unwrap_or(0);
    }
    total
}
