//! Building blocks for scenarios that run the real protocol core ([`PtpNode`](super::ptp_node)):
//! the instance configurations a test network is made of (grandmaster-capable clock,
//! slave-only clock, boundary clock), port configurations per delay mechanism, and the
//! hardware presets (hardware-like and software-like timestamping).
//!
//! Nothing here asserts; the tests in `tests/tests/sim_*.rs` and the servo table use these so
//! that every scenario states only what differs.

use xptp_control::datasets::{ClockConfig, DelayMechanism, PortConfig};
use xptp_control::ptp::InstanceConfig;
use xptp_control::servo::{ServoConfig, ServoKind, TimeStamping};
use xptp_datapath::wire::ClockQuality;

use super::node::NodeConfig;
use super::oscillator::OscillatorConfig;
use super::rng::Noise;

/// defaultDS.clockQuality of a grandmaster locked to GNSS (clockClass 6, accuracy within
/// 100 ns (0x21), offsetScaledLogVariance 0x4E5D as linuxptp examples use).
pub const GNSS_QUALITY: ClockQuality = ClockQuality {
    clock_class: 6,
    clock_accuracy: 0x21,
    offset_scaled_log_variance: 0x4E5D,
};

/// A port with linuxptp's defaults and `mechanism`.
pub fn port(mechanism: DelayMechanism) -> PortConfig {
    PortConfig {
        delay_mechanism: mechanism,
        ..PortConfig::default()
    }
}

/// An instance with `clock` and the servo `servo`.
pub fn instance(clock: ClockConfig, servo: ServoConfig) -> InstanceConfig {
    let mut c = InstanceConfig::new(clock);
    c.servo = servo;
    c
}

/// A grandmaster-capable clock with the given priority1 and quality (everything else
/// linuxptp's defaults).
pub fn gm_clock(priority1: u8, quality: ClockQuality) -> ClockConfig {
    ClockConfig {
        priority1,
        clock_quality: quality,
        ..ClockConfig::default()
    }
}

/// A slave-only ordinary clock (linuxptp `slaveOnly 1`).
pub fn slave_clock() -> ClockConfig {
    ClockConfig {
        slave_only: true,
        ..ClockConfig::default()
    }
}

/// The servo configuration for `kind` with linuxptp's defaults for the timestamping kind.
pub fn servo(kind: ServoKind, stamping: TimeStamping) -> ServoConfig {
    ServoConfig {
        clock_servo: kind,
        time_stamping: stamping,
        ..ServoConfig::default()
    }
}

/// A node with hardware-like timestamping (8 ns Gaussian), `osc` as oscillator and 1 µs of
/// fixed transmit latency.
pub fn hw_node(name: impl Into<String>, osc: OscillatorConfig) -> NodeConfig {
    NodeConfig::new(name, 1)
        .oscillator(osc)
        .timestamp_noise(Noise::hardware())
        .tx_latency(1_000, Noise::None)
}
